"""Journals kept as events: records of an application (alarm transitions, work-order changes)
stored in the events table without extending the store schema. A record is an event of the
application's own kind whose ``detail`` is a compact JSON object; replaying the events of that
kind in order rebuilds the application's state after a restart."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from smartfab.platform.points import EventBatch

# Far enough to hold any timestamp a device could send (the writer rejects later ones).
END_OF_TIME = 2**62


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One stored record: the event's columns, ``detail`` decoded."""

    ts: int
    equipment: str
    code: str
    value: float  # NaN when the event has none
    detail: dict[str, Any]


def to_events(
    kind: str,
    ts: Sequence[int],
    equipment: Sequence[str],
    code: Sequence[str],
    value: Sequence[float],
    detail: Sequence[Mapping[str, Any]],
) -> EventBatch:
    """Records of ``kind`` as one event batch, the details as compact JSON (non-ASCII kept:
    comments are written in the plant's languages)."""
    text = [json.dumps(d, separators=(",", ":"), ensure_ascii=False) for d in detail]
    return EventBatch.of(
        np.array(ts, np.int64),
        np.array(equipment, object),
        kind,
        np.array(code, object),
        np.array(value, np.float64),
        np.array(text, object),
    )


def entries(table: pa.Table, kind: str) -> Iterator[JournalEntry]:
    """The records of ``kind`` in a :meth:`Store.events` table, in table order."""
    ts = table.column("ts").cast(pa.int64()).to_pylist()
    cols = [table.column(c).to_pylist() for c in ("equipment", "kind", "code", "value", "detail")]
    for t, eq, k, code, value, detail in zip(ts, *cols, strict=True):
        if k == kind:
            v = math.nan if value is None else float(value)
            yield JournalEntry(t, eq, code, v, json.loads(detail))
