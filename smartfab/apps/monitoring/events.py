"""NumPy columns of one kind of event from the Arrow table that :meth:`Store.events` returns.

Monitoring computes per equipment, while ``Store.events`` selects a path *and everything below it*;
asking for a line by mistake would mix the states of its machines into one meaningless history, so
reading a table that holds several equipment is an error rather than a silent merge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from smartfab.platform.points import Float64Array, Int64Array

ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True, slots=True)
class EventColumns:
    """The events of one kind, in table order (the store orders them by ts, then arrival)."""

    ts: Int64Array  # epoch microseconds
    code: ObjectArray
    value: Float64Array


def event_columns(events: pa.Table, kind: str) -> EventColumns:
    """The ``kind`` events of ``events`` (columns ts, equipment, kind, code, value, ...)."""
    rows = events.filter(pc.equal(events.column("kind"), kind))
    equipment = pc.unique(rows.column("equipment")).to_pylist()
    if len(equipment) > 1:
        raise ValueError(
            f"{kind} events of {len(equipment)} equipment ({', '.join(map(str, equipment[:3]))}"
            f"{', ...' if len(equipment) > 3 else ''}): monitoring needs the events of one "
            "equipment; select it by its full path"
        )
    ts = rows.column("ts")
    if pa.types.is_timestamp(ts.type):
        ts = pc.cast(ts, pa.timestamp("us", tz=ts.type.tz)).cast(pa.int64())
    return EventColumns(
        np.asarray(ts.to_numpy(), np.int64),
        np.asarray(rows.column("code").to_numpy(zero_copy_only=False), object),
        np.asarray(rows.column("value").to_numpy(zero_copy_only=False), np.float64),
    )
