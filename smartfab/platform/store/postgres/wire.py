"""PostgreSQL's binary COPY format, both ways, laid out and parsed by NumPy: points as per-minute
chunks, plain point rows, text and array points, partial rollups and events going in; fixed-width
rows and rows of arrays coming out. Never a Python object per point."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import pyarrow as pa
from psycopg import sql

from smartfab.platform.points import (
    ARRAY_POINT_SCHEMA,
    POINT_SCHEMA,
    TEXT_POINT_SCHEMA,
    ArrayBatch,
    EventBatch,
    PointBatch,
    Quality,
    TextBatch,
)
from smartfab.platform.store.base import StoreError

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000
PG_EPOCH_US = 946_684_800_000_000  # PostgreSQL counts timestamps from 2000-01-01 UTC
BAD = int(Quality.BAD)

# --- binary COPY -------------------------------------------------------------------------------

_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


def _row_dtype(fields: Sequence[tuple[str, str]]) -> np.dtype[np.void]:
    """The wire layout of one binary COPY row of fixed-width, non-null fields: a field count, then
    per field its byte length and its big-endian value."""
    layout: list[tuple[str, str]] = [("_n", ">i2")]
    for name, kind in fields:
        layout += [(f"_{name}_len", ">i4"), (name, kind)]
    return np.dtype(layout)


def pgcopy(columns: Mapping[str, tuple[npt.NDArray[Any], str]]) -> bytes:
    """A binary COPY stream of whole NumPy columns: ``{name: (array, ">i8" / ">i4" / ...)}``,
    in the table's column order. Timestamps must already count from PostgreSQL's epoch."""
    fields = [(name, kind) for name, (_, kind) in columns.items()]
    n = len(next(iter(columns.values()))[0]) if columns else 0
    rows = np.empty(n, _row_dtype(fields))
    rows["_n"] = len(fields)
    for name, (values, kind) in columns.items():
        rows[f"_{name}_len"] = np.dtype(kind).itemsize
        rows[name] = values
    return _COPY_HEADER + rows.tobytes() + _COPY_TRAILER


def runs(signal_id: npt.NDArray[np.int32], key: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
    """The starts of the runs of equal (signal_id, key) in arrays sorted by both."""
    change = (signal_id[1:] != signal_id[:-1]) | (key[1:] != key[:-1])
    return np.flatnonzero(np.concatenate([[len(key) > 0], change]))


# One chunk row on the wire: the field count, then signal_id, bucket and n, each its length and
# value; then per array its length and header (dimensions, has-nulls flag, element type, size,
# lower bound) and its elements, each its length and value.
_CHUNK_ROW = np.dtype([("fields", ">i2"), ("sid_len", ">i4"), ("sid", ">i4"), ("bucket_len", ">i4"),
                       ("bucket", ">i8"), ("n_len", ">i4"), ("n", ">i4")])  # fmt: skip
_ARRAY_HEAD = np.dtype([("len", ">i4"), ("ndim", ">i4"), ("nulls", ">i4"), ("oid", ">i4"),
                        ("size", ">i4"), ("lower", ">i4")])  # fmt: skip
_CHUNK_ARRAYS = (("ts", ">i8", 1184), ("value", ">f8", 701), ("quality", ">i2", 21))  # type OIDs


def chunks_copy(batch: PointBatch) -> bytes:
    """A (signal, ts)-sorted batch as a binary COPY stream for ``point_chunks``: one row per signal
    and minute, its points as arrays. Rows may come in any order, so the chunks of each size are
    laid out together as one 2-D byte array, without a Python step per chunk or per point."""
    minute = batch.ts // MINUTE_US
    first = runs(batch.signal_id, minute)
    size = np.diff(np.append(first, len(batch)))
    columns = [
        (getattr(batch, name) - (PG_EPOCH_US if name == "ts" else 0), np.dtype(kind), oid)
        for name, kind, oid in _CHUNK_ARRAYS
    ]
    parts = [_COPY_HEADER]
    for n in np.unique(size).tolist():
        starts = first[size == n]
        row = np.empty(len(starts), _CHUNK_ROW)
        row["fields"], row["sid_len"], row["bucket_len"], row["n_len"], row["n"] = 6, 4, 8, 4, n
        row["sid"] = batch.signal_id[starts]
        row["bucket"] = minute[starts] * MINUTE_US - PG_EPOCH_US
        blocks = [row.view(np.uint8).reshape(len(starts), -1)]
        at = starts[:, None] + np.arange(n)
        for values, kind, oid in columns:
            head = np.empty(len(starts), _ARRAY_HEAD)
            head["len"] = 20 + (4 + kind.itemsize) * n
            head["ndim"], head["nulls"], head["oid"], head["size"], head["lower"] = 1, 0, oid, n, 1
            blocks.append(head.view(np.uint8).reshape(len(starts), -1))
            elements = np.empty((len(starts), n), [("len", ">i4"), ("v", kind)])
            elements["len"] = kind.itemsize
            elements["v"] = values[at]
            blocks.append(elements.view(np.uint8).reshape(len(starts), -1))
        parts.append(np.concatenate(blocks, axis=1).tobytes())
    parts.append(_COPY_TRAILER)
    return b"".join(parts)


def _rows_copy(
    heads: npt.NDArray[np.void], payload: npt.NDArray[np.uint8], at: npt.NDArray[np.int64]
) -> bytes:
    """A binary COPY stream of rows whose last field varies in size: row i is ``heads[i]`` (its
    fixed-width fields, ending with the last field's byte length) followed by
    ``payload[at[i]:at[i + 1]]``. No step per row: the heads are put where each row starts,
    and the payload, in order, into every other byte (a mask, not an index per byte: arrays
    are megabytes). ``np.insert`` does the same but sorts its positions, twenty times slower
    for many short texts (measured)."""
    n, h = len(heads), heads.dtype.itemsize
    out = np.empty(len(payload) + n * h, np.uint8)
    head_at = ((at[:-1] + np.arange(n) * h)[:, None] + np.arange(h)).reshape(-1)
    out[head_at] = heads.view(np.uint8)
    is_payload = np.ones(len(out), np.bool_)
    is_payload[head_at] = False
    out[is_payload] = payload
    return _COPY_HEADER + out.tobytes() + _COPY_TRAILER


# The fixed fields of a text or array point row: ts, signal_id, quality, then the value's length;
# an array's value then starts with its header (one dimension, no NULLs, float8 elements, its
# size, lower bound 1), every array the same 20 bytes: an empty one is a dimension of size 0.
_POINT_HEAD = [("fields", ">i2"), ("ts_len", ">i4"), ("ts", ">i8"), ("sid_len", ">i4"),
               ("sid", ">i4"), ("q_len", ">i4"), ("q", ">i2"), ("value_len", ">i4")]  # fmt: skip
_TEXT_HEAD = np.dtype(_POINT_HEAD)
_ARRAY_HEAD_ROW = np.dtype([*_POINT_HEAD, ("ndim", ">i4"), ("nulls", ">i4"), ("oid", ">i4"),
                            ("size", ">i4"), ("lower", ">i4")])  # fmt: skip
_ELEMENT = np.dtype([("len", ">i4"), ("v", ">f8")])
FLOAT8_OID = 701


def _point_heads(batch: TextBatch | ArrayBatch, dtype: np.dtype[np.void]) -> npt.NDArray[np.void]:
    heads = np.zeros(len(batch), dtype)
    heads["fields"], heads["ts_len"], heads["sid_len"], heads["q_len"] = 4, 8, 4, 2
    heads["ts"] = batch.ts - PG_EPOCH_US
    heads["sid"] = batch.signal_id
    heads["q"] = batch.quality
    return heads


def texts_copy(batch: TextBatch, text: pa.StringArray) -> bytes:
    """A binary COPY stream for ``(ts, signal_id, quality, value)`` of text points; ``text`` is
    the batch's text as Arrow (its UTF-8 bytes are the rows' values as they are)."""
    offsets = np.frombuffer(text.buffers()[1], np.int32)[text.offset : text.offset + len(text) + 1]
    data = np.frombuffer(text.buffers()[2] or b"", np.uint8)[offsets[0] : offsets[-1]]
    at = (offsets - offsets[0]).astype(np.int64)
    heads = _point_heads(batch, _TEXT_HEAD)
    heads["value_len"] = np.diff(at)
    return _rows_copy(heads, data, at)


def arrays_copy(batch: ArrayBatch) -> bytes:
    """A binary COPY stream for ``(ts, signal_id, quality, value)`` of array points."""
    heads = _point_heads(batch, _ARRAY_HEAD_ROW)
    lengths = batch.lengths
    heads["value_len"] = 20 + _ELEMENT.itemsize * lengths
    heads["ndim"], heads["oid"], heads["lower"], heads["size"] = 1, FLOAT8_OID, 1, lengths
    first, last = int(batch.offsets[0]), int(batch.offsets[-1])
    elements = np.empty(last - first, _ELEMENT)
    elements["len"], elements["v"] = 8, batch.values[first:last]
    at = (batch.offsets - first) * _ELEMENT.itemsize
    return _rows_copy(heads, elements.view(np.uint8), at)


def points_copy(batch: PointBatch) -> bytes:
    """``batch`` as a binary COPY stream for a (ts, signal_id, quality, value) table."""
    return pgcopy(
        {
            "ts": (batch.ts - PG_EPOCH_US, ">i8"),
            "signal_id": (batch.signal_id, ">i4"),
            "quality": (batch.quality, ">i2"),
            "value": (batch.value, ">f8"),
        }
    )


def _copy_to(
    cur: psycopg.Cursor[Any], query: sql.Composable, params: Mapping[str, object]
) -> tuple[bytes, int]:
    """``query``'s answer as a binary COPY stream, and where its first row starts."""
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(query)
    with cur.copy(statement, params) as copy:
        data = b"".join(copy)
    return data, 19 + int.from_bytes(data[15:19], "big")  # past the header and its extension


def copy_out(
    cur: psycopg.Cursor[Any],
    query: sql.Composable,
    params: Mapping[str, object],
    fields: Sequence[tuple[str, str]],
) -> dict[str, npt.NDArray[Any]]:
    """Run ``query`` as a binary COPY and return its columns as native NumPy arrays. Every field
    must be fixed-width and never NULL (then every row has the same size)."""
    data, at = _copy_to(cur, query, params)
    body = memoryview(data)[at : len(data) - 2]
    dtype = _row_dtype(fields)
    if len(body) % dtype.itemsize:
        raise StoreError(f"query result is not {len(fields)} fixed-width non-null columns")
    rows = np.frombuffer(body, dtype)
    for name, kind in fields:
        if np.any(rows[f"_{name}_len"] != np.dtype(kind).itemsize):
            raise StoreError(f"query result column {name!r} holds NULL or is not {kind}")
    return {name: rows[name].astype(np.dtype(kind).newbyteorder("=")) for name, kind in fields}


BYTES = "bytes"  # a kind of copy_arrays: a bytea field, as its bytes


def copy_arrays(
    cur: psycopg.Cursor[Any],
    query: sql.Composable,
    params: Mapping[str, object],
    kinds: Sequence[str],
) -> list[npt.NDArray[Any]]:
    """Run ``query``, which answers one row of one-dimensional arrays without NULL elements (or
    NULL for none), as a binary COPY; the arrays as native NumPy arrays of ``kinds``; a field of
    kind ``BYTES`` is one bytea (or text), whose bytes come as a uint8 array. Many values come
    out of PostgreSQL far faster as one row of arrays than as a row each: a COPY row is a
    protocol message, and a message costs psycopg a Python call."""
    data, at = _copy_to(cur, query, params)
    at += 2  # the row's field count
    arrays = []
    for kind in kinds:
        size = int.from_bytes(data[at : at + 4], "big", signed=True)
        at += 4
        if kind == BYTES:
            arrays.append(np.frombuffer(data, np.uint8, max(size, 0), at))
            at += max(size, 0)
            continue
        if size <= 12:  # NULL (-1), or an empty array: dimensions 0, no elements
            arrays.append(np.empty(0, np.dtype(kind).newbyteorder("=")))
            at += max(size, 0)
            continue
        elements = np.frombuffer(data, [("len", ">i4"), ("v", kind)], offset=at + 20,
                                 count=(size - 20) // (4 + np.dtype(kind).itemsize))  # fmt: skip
        if np.any(elements["len"] != np.dtype(kind).itemsize):
            raise StoreError(f"query result array holds NULL or is not {kind}")
        arrays.append(elements["v"].astype(np.dtype(kind).newbyteorder("=")))
        at += size
    return arrays


def ts_array(pg_us: npt.NDArray[np.int64]) -> pa.Array:
    return pa.array(pg_us + PG_EPOCH_US, pa.int64()).cast(pa.timestamp("us", tz="UTC"))


POINT_FIELDS = [("ts", ">i8"), ("signal_id", ">i4"), ("value", ">f8"), ("quality", ">i2")]
# Text and array points come out as one row: ts (from the Unix epoch), signal_id, quality and
# each value's size (bytes of a text, elements of an array) as arrays, then every value together
# (the texts' bytes, or the arrays' elements), which Arrow takes as they are.
VALUE_KINDS = [">i8", ">i4", ">i2", ">i4"]


def values_table(kind: str, cols: list[npt.NDArray[Any]]) -> pa.Table:
    """Text (``kind`` "text") or array points from the columns of :data:`VALUE_KINDS` and the
    values."""
    ts, sid, quality, size, values = cols
    offsets = np.zeros(len(ts) + 1, np.int32)
    np.cumsum(size, out=offsets[1:])
    if kind == "text":
        value: pa.Array = pa.StringArray.from_buffers(
            len(ts), pa.py_buffer(offsets), pa.py_buffer(values.tobytes())
        )
        schema = TEXT_POINT_SCHEMA
    else:
        value = pa.ListArray.from_arrays(offsets, pa.array(values, pa.float64()))
        schema = ARRAY_POINT_SCHEMA
    return pa.Table.from_arrays(
        [
            pa.array(ts, pa.int64()).cast(schema.field("ts").type),  # epoch us, not PostgreSQL's
            pa.array(sid, pa.int32()),
            value,
            pa.array(quality.astype(np.uint8)),
        ],
        schema=schema,
    )


def point_table(cols: dict[str, npt.NDArray[Any]]) -> pa.Table:
    return pa.Table.from_arrays(
        [
            ts_array(cols["ts"]),
            pa.array(cols["signal_id"], pa.int32()),
            pa.array(cols["value"], pa.float64()),
            pa.array(cols["quality"].astype(np.uint8), pa.uint8()),
        ],
        schema=POINT_SCHEMA,
    )


# --- SQL ---------------------------------------------------------------------------------------


def rollup_partials(batch: PointBatch, width_us: int) -> dict[str, tuple[npt.NDArray[Any], str]]:
    """Per (signal, bucket of ``width_us``): min, max, sum, count and last of the points of a
    (signal, ts)-sorted batch that are not BAD, as binary COPY columns for ``stage_rollups``."""
    batch = batch.take(batch.quality < BAD)
    ts, sid, value = batch.ts, batch.signal_id, batch.value
    bucket = ts // width_us * width_us
    first = runs(sid, bucket)
    last = np.append(first[1:], len(batch))[: len(first)] - 1

    def per_group(ufunc: np.ufunc) -> npt.NDArray[np.float64]:
        return ufunc.reduceat(value, first) if len(first) else value[:0]  # type: ignore[no-any-return]

    return {
        "width": (np.full(len(first), width_us), ">i8"),
        "signal_id": (sid[first], ">i4"),
        "bucket": (bucket[first] - PG_EPOCH_US, ">i8"),
        "min": (per_group(np.minimum), ">f8"),
        "max": (per_group(np.maximum), ">f8"),
        "sum": (per_group(np.add), ">f8"),
        "count": (last - first + 1, ">i8"),
        "last_ts": (ts[last] - PG_EPOCH_US, ">i8"),
        "last_value": (value[last], ">f8"),
    }


def events_copy(events: EventBatch) -> bytes:
    """``events`` as a binary COPY stream for ``events (ts, equipment, kind, code, value,
    detail)``. Through Arrow first, which rejects what the table could not hold (a missing or
    non-text field) before anything is sent. A batch repeats a few equipment, kinds and codes
    (a count event per part made), so each distinct text is encoded once; the fixed-width fields
    are laid out by NumPy."""
    try:
        table = pa.Table.from_batches([events.to_arrow()])
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise StoreError(f"events batch of {len(events)}: invalid column value: {exc}") from exc
    texts = []
    for name in ("equipment", "kind", "code", "detail"):
        if table.column(name).null_count:
            raise StoreError(
                f"events batch of {len(events)}: {name} missing; none of the batch was stored"
            )
        texts.append(table.column(name).to_pylist())
    fields: dict[str, bytes] = {}

    def field(text: str) -> bytes:
        found = fields.get(text)
        if found is None:
            data = text.encode()
            found = fields[text] = len(data).to_bytes(4, "big") + data
        return found

    head = np.empty(len(events), _EVENT_HEAD)
    head["fields"], head["ts_len"], head["ts"] = 6, 8, events.ts - PG_EPOCH_US
    value = np.empty(len(events), _EVENT_VALUE)
    value["len"], value["value"] = 8, events.value
    heads = memoryview(head.tobytes())
    values = memoryview(value.tobytes())
    h, v = _EVENT_HEAD.itemsize, _EVENT_VALUE.itemsize
    parts: list[bytes | memoryview] = [_COPY_HEADER]
    for i, (equipment, kind, code, detail) in enumerate(zip(*texts, strict=True)):
        parts += (heads[i * h : (i + 1) * h], field(equipment), field(kind), field(code),
                  values[i * v : (i + 1) * v], field(detail))  # fmt: skip
    parts.append(_COPY_TRAILER)
    return b"".join(parts)


_EVENT_HEAD = np.dtype([("fields", ">i2"), ("ts_len", ">i4"), ("ts", ">i8")])
_EVENT_VALUE = np.dtype([("len", ">i4"), ("value", ">f8")])
