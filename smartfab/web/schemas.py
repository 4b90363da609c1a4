"""Response models and conversions shared by the route modules. Time series travel as columns
(one JSON array per column), which is both compact and what the charts of the web app draw from."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import Query
from pydantic import BaseModel, Field

Start = Annotated[
    datetime | None, Query(description="Start (ISO 8601; default: end minus 1 h or 1 day)")
]
End = Annotated[datetime | None, Query(description="End, exclusive (ISO 8601; default: now)")]


class Columns(BaseModel):
    """A table as columns: ``{"columns": {"ts": [...], "value": [...]}, "rows": n}``. Times are
    ISO 8601 UTC strings; missing numbers are null. ``truncated`` says that the limit cut the
    answer (events then are the newest ones)."""

    rows: int
    columns: dict[str, list[Any]]
    truncated: bool = False


class HistoryOut(Columns):
    signal: str
    unit: str
    bucket_s: float | None = Field(description="Bucket width; null for raw points")


def columns(table: pa.Table) -> dict[str, list[Any]]:
    """Arrow columns to JSON-safe lists (NaN and inf become null, times ISO strings)."""
    out: dict[str, list[Any]] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(col.type):
            out[name] = [None if v is None else v.isoformat() for v in col.to_pylist()]
        elif pa.types.is_floating(col.type):
            out[name] = [finite(v) for v in col.to_pylist()]
        else:
            out[name] = col.to_pylist()
    return out


def table_out(table: pa.Table, truncated: bool = False) -> Columns:
    return Columns(rows=table.num_rows, columns=columns(table), truncated=truncated)


def finite(v: float | None) -> float | None:
    """JSON has no NaN: a KPI that is not defined travels as null."""
    return None if v is None or not math.isfinite(v) else v


def epoch_us(col: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """Epoch microseconds of a timestamp (or integer) column, as the apps' NumPy code takes them."""
    if pa.types.is_timestamp(col.type):
        col = pc.cast(col, pa.timestamp("us", tz=col.type.tz)).cast(pa.int64())
    return np.asarray(col.to_numpy(), np.int64)
