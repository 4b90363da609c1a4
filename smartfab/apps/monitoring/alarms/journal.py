"""The alarm journal: every transition of every alarm, kept in the store's events table.

The store schema is not extended for alarms: a transition is an event of kind
:attr:`EventKind.ALARM` whose ``equipment`` is the alarm's equipment, ``code`` the alarm id,
``value`` the signal's value and ``detail`` a compact JSON object with the rest of the
:class:`~smartfab.apps.monitoring.alarms.lifecycle.Record`::

    {"a": "acknowledge", "s": "acknowledged", "on": true, "p": "high", "u": "li.wei",
     "c": "checked the coolant", "until": null}

Replaying the journal in order rebuilds every alarm's status after a restart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa

from smartfab.apps.monitoring.alarms.lifecycle import Action, AlarmStatus, Record, State, fold
from smartfab.apps.monitoring.alarms.rules import Alarm
from smartfab.platform.points import EventBatch, EventKind, PointBatch
from smartfab.platform.store.base import Store

# Far enough to hold any timestamp a device could send (the writer rejects later ones).
_END_OF_TIME = 2**62


def to_events(records: Sequence[Record]) -> EventBatch:
    """The records as ALARM events."""
    detail = [
        json.dumps(
            {
                "a": r.action.value,
                "s": r.state.value,
                "on": r.active,
                "p": r.priority,
                "u": r.user,
                "c": r.comment,
                "until": r.until,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )
        for r in records
    ]
    return EventBatch.of(
        np.array([r.ts for r in records], np.int64),
        np.array([r.equipment for r in records], object),
        EventKind.ALARM,
        np.array([r.alarm_id for r in records], object),
        np.array([r.value for r in records], np.float64),
        np.array(detail, object),
    )


def from_events(table: pa.Table) -> list[Record]:
    """The records of the ALARM events of a :meth:`Store.events` table, in table order."""
    ts = table.column("ts").cast(pa.int64()).to_pylist()
    out: list[Record] = []
    cols = [table.column(c).to_pylist() for c in ("equipment", "kind", "code", "value", "detail")]
    for t, eq, kind, code, value, detail in zip(ts, *cols, strict=True):
        if kind != EventKind.ALARM:
            continue
        d = json.loads(detail)
        out.append(
            Record(
                t,
                code,
                eq,
                Action(d["a"]),
                State(d["s"]),
                bool(d["on"]),
                d["p"],
                math.nan if value is None else float(value),
                d.get("u", ""),
                d.get("c", ""),
                d.get("until"),
            )
        )
    return out


class AlarmJournal:
    """Appends records to ``store`` and reads them back (blocking: call from a worker thread)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def append(self, records: Sequence[Record]) -> None:
        """Store the records in one transaction (all or none); raises StoreError/OSError."""
        if records:
            self.store.append(PointBatch.empty(), to_events(records))

    def records(
        self,
        start: int = 0,
        end: int = _END_OF_TIME,
        *,
        under: str | None = None,
        limit: int | None = None,
    ) -> list[Record]:
        """Records with start <= ts < end, oldest first; ``under`` keeps the alarms of that
        equipment path and below; ``limit`` keeps the newest ``limit``."""
        table = self.store.events(start, end, under, [EventKind.ALARM], limit)
        return from_events(table)

    def replay(self, alarms: Iterable[Alarm]) -> dict[str, AlarmStatus]:
        """The status of each alarm after every record of the journal. Records of alarms the
        plant file no longer defines are skipped."""
        status = {a.id: AlarmStatus.of(a) for a in alarms}
        for record in self.records():
            current = status.get(record.alarm_id)
            if current is not None:
                status[record.alarm_id] = fold(current, record)
        return status
