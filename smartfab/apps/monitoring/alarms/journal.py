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

from collections.abc import Callable, Iterable, Sequence

import pyarrow as pa

from smartfab.apps.monitoring.alarms.lifecycle import Action, AlarmStatus, Record, State, fold
from smartfab.apps.monitoring.alarms.rules import Alarm
from smartfab.platform import journal
from smartfab.platform.journal import END_OF_TIME
from smartfab.platform.points import EventBatch, EventKind, PointBatch
from smartfab.platform.store.base import Store


def to_events(records: Sequence[Record]) -> EventBatch:
    """The records as ALARM events."""
    return journal.to_events(
        EventKind.ALARM,
        [r.ts for r in records],
        [r.equipment for r in records],
        [r.alarm_id for r in records],
        [r.value for r in records],
        [
            {"a": r.action.value, "s": r.state.value, "on": r.active, "p": r.priority,
             "u": r.user, "c": r.comment, "until": r.until}
            for r in records
        ],
    )  # fmt: skip


def from_events(table: pa.Table) -> list[Record]:
    """The records of the ALARM events of a :meth:`Store.events` table, in table order."""
    return [
        Record(
            e.ts, e.code, e.equipment, Action(e.detail["a"]), State(e.detail["s"]),
            bool(e.detail["on"]), e.detail["p"], e.value, e.detail.get("u", ""),
            e.detail.get("c", ""), e.detail.get("until"),
        )
        for e in journal.entries(table, EventKind.ALARM)
    ]  # fmt: skip


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
        end: int = END_OF_TIME,
        *,
        under: str | None = None,
        limit: int | None = None,
    ) -> list[Record]:
        """Records with start <= ts < end, oldest first; ``under`` keeps the alarms of that
        equipment path and below; ``limit`` keeps the newest ``limit``."""
        table = self.store.events(start, end, under, [EventKind.ALARM], limit)
        return from_events(table)

    def replay(
        self, alarms: Iterable[Alarm], adopt: Callable[[Record], Alarm | None] = lambda _: None
    ) -> dict[str, AlarmStatus]:
        """The status of each alarm after every record of the journal. Records of alarms the
        plant file no longer defines are skipped, unless ``adopt`` gives their alarm (alarms
        raised by an app, such as predicted failures)."""
        status = {a.id: AlarmStatus.of(a) for a in alarms}
        for record in self.records():
            current = status.get(record.alarm_id)
            if current is None and (alarm := adopt(record)) is not None:
                current = status[alarm.id] = AlarmStatus.of(alarm)
            if current is not None:
                status[record.alarm_id] = fold(current, record)
        return status
