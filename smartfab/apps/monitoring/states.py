"""The state history of one equipment: which state was in force when, and its timeline.

A state event says the equipment *entered* a state at its timestamp; the state lasts until the next
event. What happened before the first event of a query is not in the query, so the caller supplies
the state in force then (:func:`state_in_force` reads it from the store), or None when it is not
known; time in an unknown state is left out of every figure rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from smartfab.apps.monitoring.events import event_columns
from smartfab.platform.points import EventKind, Int64Array
from smartfab.platform.store.base import Store

ObjectArray = npt.NDArray[np.object_]
IntpArray = npt.NDArray[np.intp]

UNKNOWN = -1  # code of "no state known"


@dataclass(frozen=True, slots=True)
class Timeline:
    """Consecutive state segments [start, end) as columns."""

    start: Int64Array
    end: Int64Array
    state: ObjectArray


@dataclass(frozen=True, slots=True)
class StateSeries:
    """State changes: at ``ts[i]`` the equipment entered ``names[code[i]]``; before ``ts[0]`` it
    was in ``names[initial]`` (``UNKNOWN``: nobody knows). Build it with :meth:`of`, which keeps
    only real changes, so that every entry of ``ts`` is a transition."""

    ts: Int64Array
    code: IntpArray
    names: tuple[str, ...]
    initial: int

    @classmethod
    def of(cls, ts: npt.ArrayLike, states: npt.ArrayLike, initial: str | None) -> StateSeries:
        """From state events ordered by time (as the store returns them) and the state in force
        before the first of them. Of several events at one timestamp the last wins, as it does in
        the store's own state durations; an event repeating the state in force changes nothing."""
        t = np.atleast_1d(np.asarray(ts, np.int64))
        s = np.atleast_1d(np.asarray(states, str))
        if t.shape != s.shape:
            raise ValueError(f"state events: {t.size} timestamps but {s.size} states")
        if np.any(t[1:] < t[:-1]):
            raise ValueError("state events must be ordered by time")
        known = s if initial is None else np.append(s, initial)
        uniq, inverse = np.unique(known, return_inverse=True)
        codes = inverse.reshape(-1).astype(np.intp)
        first = UNKNOWN if initial is None else int(codes[-1])
        codes = codes[: t.size]
        last_at_ts = np.append(t[1:] != t[:-1], True)[: t.size]
        t, codes = t[last_at_ts], codes[last_at_ts]
        change = codes != np.append(first, codes)[:-1]
        return cls(t[change], codes[change], tuple(uniq.tolist()), first)

    @classmethod
    def from_events(cls, events: pa.Table, initial: str | None) -> StateSeries:
        """From a :meth:`Store.events` table of one equipment (other kinds are ignored)."""
        cols = event_columns(events, EventKind.STATE)
        return cls.of(cols.ts, cols.code, initial)

    def in_force(self, t: Int64Array) -> IntpArray:
        """Code of the state in force at each time (an event at exactly ``t`` is in force)."""
        index = np.searchsorted(self.ts, t, side="right")
        return np.append(np.intp(self.initial), self.code)[index]

    def timeline(self, start: int, end: int) -> Timeline:
        """The segments of known state within [start, end), clipped to it; consecutive segments
        always differ in state."""
        if end <= start:
            raise ValueError(f"timeline: end ({end}) must be after start ({start})")
        inner = self.ts[(self.ts > start) & (self.ts < end)]
        bounds = np.concatenate((np.array([start], np.int64), inner, np.array([end], np.int64)))
        codes = self.in_force(bounds[:-1])
        known = codes != UNKNOWN
        names = np.array(self.names, dtype=object)
        return Timeline(bounds[:-1][known], bounds[1:][known], names[codes[known]])


def state_in_force(store: Store, equipment: str, t: int) -> str | None:
    """The state ``equipment`` was in just before ``t`` (set by its last state event with
    ts < t), None if it never reported one. Pass it as the initial state of the events from ``t``.
    """
    # The store counts the state in force at a window's start from that start, so the only state
    # with time in the one-microsecond window [t - 1, t) is exactly the one wanted; this avoids
    # reading an unbounded history of events just to find the last one.
    rows = store.state_durations(equipment, t - 1, t)
    if rows.num_rows > 1:
        raise ValueError(f"{equipment!r} holds several equipment: give an equipment's full path")
    return str(rows.column("state")[0].as_py()) if rows.num_rows else None
