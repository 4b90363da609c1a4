"""Events derived from the points of role signals: a state register changing, a fault register
becoming non-zero (or switching to another fault code), a part counter counting up.

The deriver remembers the last value and timestamp of each role signal across batches (and, via
:meth:`EventDeriver.prime`, across restarts, so that a restart neither repeats a state event nor
mistakes the first counter reading for parts produced). Within a batch the points are ordered by
time; a point not newer than the last one seen (late, re-sent) derives nothing, so out-of-order
arrival cannot invent a state change. Points of BAD quality derive nothing either: their value is
not trustworthy. Everything is vectorised over the role points of a batch; only the events, which
are rare, are touched one by one where a lookup in the plant model needs it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from smartfab.errors import SmartfabError
from smartfab.model.plant import Plant
from smartfab.platform.order import sort_by_signal_ts, superseded
from smartfab.platform.points import (
    EventBatch,
    EventKind,
    Float64Array,
    Int32Array,
    Int64Array,
    PointBatch,
    Quality,
)

_NONE, _STATE, _FAULT, _GOOD, _SCRAP = range(5)
_ROLES = {"state": _STATE, "fault": _FAULT, "good_count": _GOOD, "scrap_count": _SCRAP}
_NEVER = np.iinfo(np.int64).min

ObjectArray = npt.NDArray[np.object_]


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


class EventDeriver:
    """Turns points of state, fault and counter signals into STATE, FAULT and COUNT events."""

    def __init__(
        self,
        roles: Mapping[int, str],
        equipment: Mapping[int, str],
        paths: Mapping[int, str],
        states: Mapping[int, Mapping[int, str]],
        faults: Mapping[int, Mapping[int, str]],
    ) -> None:
        """Per signal id: its role (signals without one of the derived roles are ignored), its
        equipment path, its own path, and the state names / fault texts of its equipment."""
        ids = [i for i, r in roles.items() if r in _ROLES]
        size = max(ids, default=-1) + 1
        self._role = np.full(size, _NONE, np.int8)
        self._role[ids] = [_ROLES[roles[i]] for i in ids]
        self._equipment: ObjectArray = np.array([equipment.get(i, "") for i in range(size)], object)
        self._paths = dict(paths)
        self._states = {i: dict(states.get(i, {})) for i in ids}
        self._faults = {i: dict(faults.get(i, {})) for i in ids}
        self._last_ts: Int64Array = np.full(size, _NEVER, np.int64)
        self._last_value: Float64Array = np.full(size, np.nan)

    @classmethod
    def from_plant(cls, plant: Plant, signal_ids: Mapping[str, int]) -> EventDeriver:
        """A deriver for the role signals of ``plant``; ``signal_ids`` maps path -> store id."""
        refs = [r for r in plant.iter_signals() if r.signal.role in _ROLES]
        missing = [r.path for r in refs if r.path not in signal_ids]
        if missing:
            raise SmartfabError(
                f"no store id for {len(missing)} state/fault/counter signals, e.g. {missing[0]!r}: "
                "register the plant's signals before deriving events"
            )
        ids = {r.path: signal_ids[r.path] for r in refs}
        return cls(
            roles={ids[r.path]: r.signal.role for r in refs},
            equipment={ids[r.path]: r.owner.path for r in refs},
            paths={ids[r.path]: r.path for r in refs},
            states={ids[r.path]: r.owner.equipment.states for r in refs},
            faults={ids[r.path]: r.owner.equipment.faults for r in refs},
        )

    @property
    def signal_ids(self) -> list[int]:
        """The ids of the signals events are derived from."""
        return [int(i) for i in np.flatnonzero(self._role != _NONE)]

    def _role_points(self, batch: PointBatch) -> PointBatch:
        """The batch's GOOD/UNCERTAIN points of role signals, ordered by (signal, ts)."""
        sid = batch.signal_id
        ours = (sid >= 0) & (sid < len(self._role))
        ours[ours] = self._role[sid[ours]] != _NONE
        ours &= batch.quality != Quality.BAD
        if not ours.any():
            return PointBatch.empty()
        pts = sort_by_signal_ts(batch.take(ours))
        return pts.take(~superseded(pts))

    def prime(self, latest: PointBatch) -> None:
        """Start from the last stored values (``Store.latest``) instead of from nothing."""
        pts = self._role_points(latest)
        newer = pts.ts > self._last_ts[pts.signal_id]
        self._last_ts[pts.signal_id[newer]] = pts.ts[newer]
        self._last_value[pts.signal_id[newer]] = pts.value[newer]

    def carry(self, old: EventDeriver) -> None:
        """Continue from the last values ``old`` (the deriver of the plant before an edit) saw
        of the signals both derive from, where they are newer than this one's."""
        n = min(len(self._role), len(old._role))
        newer = (self._role[:n] != _NONE) & (old._role[:n] != _NONE)
        newer &= old._last_ts[:n] > self._last_ts[:n]
        self._last_ts[:n][newer] = old._last_ts[:n][newer]
        self._last_value[:n][newer] = old._last_value[:n][newer]

    def derive(self, batch: PointBatch) -> EventBatch:
        """The events ``batch`` implies (validated points: finite values, known signals)."""
        pts = self._role_points(batch)
        pts = pts.take(pts.ts > self._last_ts[pts.signal_id])
        if len(pts) == 0:
            return EventBatch.empty()
        s, t, v = pts.signal_id, pts.ts, pts.value
        first = np.ones(len(pts), np.bool_)
        first[1:] = s[1:] != s[:-1]
        prev = np.empty_like(v)
        prev[1:] = v[:-1]
        prev[first] = self._last_value[s[first]]  # NaN for a signal never seen
        last = np.ones(len(pts), np.bool_)
        last[:-1] = first[1:]
        self._last_ts[s[last]] = t[last]
        self._last_value[s[last]] = v[last]

        role = self._role[s]
        changed = v != prev  # also true on first sight (prev NaN)
        counter = (role == _GOOD) | (role == _SCRAP)
        delta = np.where(v >= prev, v - prev, v)  # a counter going backwards was reset
        count = np.flatnonzero(counter & ~np.isnan(prev) & (delta > 0))
        out = [
            self._state_events(np.flatnonzero((role == _STATE) & changed), s, t, v),
            self._fault_events(np.flatnonzero((role == _FAULT) & changed & (v != 0)), s, t, v),
            EventBatch.of(
                t[count],
                self._equipment[s[count]],
                EventKind.COUNT,
                np.where(role[count] == _GOOD, "good", "scrap").astype(object),
                delta[count],
            ),
        ]
        events = EventBatch.concat([e for e in out if len(e)])
        return events.take(np.argsort(events.ts, kind="stable"))

    def _state_events(
        self, rows: npt.NDArray[np.intp], s: Int32Array, t: Int64Array, v: Float64Array
    ) -> EventBatch:
        codes: list[str] = []
        unknown: list[int] = []
        for k, i in enumerate(rows):
            name = self._states[int(s[i])].get(int(v[i])) if float(v[i]).is_integer() else None
            if name is None:
                unknown.append(k)
            codes.append(name or f"unknown:{_number(v[i])}")
        eq = self._equipment[s[rows]]
        states = EventBatch.of(t[rows], eq, EventKind.STATE, np.array(codes, object))
        if not unknown:
            return states
        u = rows[unknown]
        detail = [
            f"{self._paths[int(s[i])]} reported state code {_number(v[i])}, "
            "which the plant model does not define"
            for i in u
        ]
        quality = EventBatch.of(
            t[u], self._equipment[s[u]], EventKind.QUALITY, "unknown_state", v[u],
            np.array(detail, object),
        )  # fmt: skip
        return EventBatch.concat([states, quality])

    def _fault_events(
        self, rows: npt.NDArray[np.intp], s: Int32Array, t: Int64Array, v: Float64Array
    ) -> EventBatch:
        codes = [_number(v[i]) for i in rows]
        texts = [
            self._faults[int(s[i])].get(int(v[i]), "") if float(v[i]).is_integer() else ""
            for i in rows
        ]
        detail = [
            text or f"fault {code} (no text in the plant model)"
            for code, text in zip(codes, texts, strict=True)
        ]
        return EventBatch.of(
            t[rows], self._equipment[s[rows]], EventKind.FAULT, np.array(codes, object),
            np.nan, np.array(detail, object),
        )  # fmt: skip
