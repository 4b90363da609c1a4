"""Response models and conversions shared by the route modules. Time series travel as columns
(one JSON array per column), which is both compact and what the charts of the web app draw from."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Self

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import HTTPException, Query, Request
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    TypeAdapter,
    ValidationError,
    computed_field,
    model_validator,
)

from smartfab.model.plant import ValueKind
from smartfab.model.units import display_unit

# Times a request may name: beyond them no plant has data, and far enough out the stores'
# microsecond integers and Python's dates overflow (a 500 instead of an answer).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# The longest window a request may ask for: the work of OEE per shift or day, timelines, alarm
# load and the like grows with the window, not with the data (a window of centuries took
# seconds and hundreds of MB). A year and a bit, the web app's longest range.
MAX_SPAN = timedelta(days=400)


def _plausible(t: datetime) -> datetime:
    aware = t if t.tzinfo is not None else t.replace(tzinfo=UTC)  # naive times are UTC
    if not EARLIEST <= aware < LATEST:
        raise ValueError(f"a time from {EARLIEST:%Y} to {LATEST:%Y}")
    return t


Instant = Annotated[datetime, AfterValidator(_plausible)]
"""A time in a request (query or body): ISO 8601, from 1970 to 2200."""

Start = Annotated[
    Instant | None, Query(description="Start (ISO 8601; default: end minus 1 h or 1 day)")
]
End = Annotated[Instant | None, Query(description="End, exclusive (ISO 8601; default: now)")]

_instant: TypeAdapter[datetime] = TypeAdapter(Instant)


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _window_problem(start: datetime | None, end: datetime | None) -> str | None:
    if start is None:
        return None
    stop = _utc(end) if end is not None else datetime.now(UTC)
    if _utc(start) >= stop:
        return "start must lie before end (end defaults to now)"
    if stop - _utc(start) > MAX_SPAN:
        return f"a time window spans at most {MAX_SPAN.days} days"
    return None


def check_window(start: datetime | None, end: datetime | None) -> None:
    """422 unless ``start`` lies before ``end`` (default now) by at most :data:`MAX_SPAN`."""
    problem = _window_problem(start, end)
    if problem is not None:
        raise HTTPException(422, problem)


class Window(BaseModel):
    """A request body's time window, bounded as a query's is (:func:`check_window`): the work of
    an assessment or a calibration grows with it."""

    start: Instant | None = None
    end: Instant | None = Field(default=None, description="Default: now")

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        problem = _window_problem(self.start, self.end)
        if problem is not None:
            raise ValueError(problem)
        return self


def window_guard(request: Request) -> None:
    """Router-level dependency of /api: every request's ``start``/``end`` query window is
    checked once here, before the route does any work. Values that are not times are left to
    the route's own parameter validation, which names them."""
    q = request.query_params
    try:
        start = _instant.validate_strings(q["start"]) if "start" in q else None
        end = _instant.validate_strings(q["end"]) if "end" in q else None
    except ValidationError:
        return
    check_window(start, end)


class Columns(BaseModel):
    """A table as columns: ``{"columns": {"ts": [...], "value": [...]}, "rows": n}``. Times are
    ISO 8601 UTC strings; missing numbers are null. ``truncated`` says that the limit cut the
    answer (events then are the newest ones)."""

    rows: int
    columns: dict[str, list[Any]]
    truncated: bool = False


class WithUnit(BaseModel):
    """A value's unit as plant files write it (``degC``) and as people read it (``°C``)."""

    unit: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unit_display(self) -> str:
        return display_unit(self.unit)


HistoryForm = Literal["buckets", "raw", "changes", "profiles"]


class HistoryOut(Columns, WithUnit):
    """One signal's history; ``form`` says what a row is:

    - ``buckets`` (numbers, with ``buckets``): a time bucket: bucket, min, max, avg, last, count;
    - ``raw`` (numbers): a point: ts, value, quality;
    - ``changes`` (text signals; numbers with ``changes=true``): a point whose value or quality
      differs from the one before, the range's first point included: ts, value, quality (a value
      lasts until the next row's ts);
    - ``profiles`` (array signals): a point, the range's points evenly spread to at most
      ``limit`` (or ``buckets``): ts, value (a list of ``length`` numbers), quality.

    Rows of an enum signal also have ``value_name``, the name of each value (null for a code the
    plant file does not name)."""

    signal: str
    form: HistoryForm
    kind: ValueKind = Field(description="How the signal's values are stored: number, text, array")
    data_type: str = Field(description="float, int, bool, enum, string or array")
    values: dict[int, str] | None = Field(description="Enum: the name of each code")
    length: int | None = Field(description="Array: its elements; string: its most characters")
    bucket_s: float | None = Field(description="Bucket width; null unless form is buckets")
    in_range: int | None = Field(
        default=None,
        description="Profiles: the points the range holds (rows: all of them, or the first of "
        "each of rows equal slices of the range)",
    )


def columns(table: pa.Table) -> dict[str, list[Any]]:
    """Arrow columns to JSON-safe lists (NaN and inf become null, times ISO strings)."""
    out: dict[str, list[Any]] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(col.type):
            out[name] = [None if v is None else v.isoformat() for v in col.to_pylist()]
        elif pa.types.is_floating(col.type):
            out[name] = [finite(v) for v in col.to_pylist()]
        elif pa.types.is_list(col.type) and pa.types.is_floating(col.type.value_type):
            out[name] = [None if a is None else [finite(v) for v in a] for a in col.to_pylist()]
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
