"""Export of stored points to Parquet or CSV, for the API (streamed) and the command line.

An export is planned first (the signals exist, the range is valid, the number of points is
within the limit: a count, no data read), then written in chunks of at most ``CHUNK_ROWS``
points straight from the store's Arrow tables through pyarrow's Parquet and CSV writers, so that
memory stays bounded however long the range is and nothing is converted point by point.

Columns, one row per point (the long format): path, ts (UTC, microseconds), value, quality (0
good, 1 uncertain, 2 bad). An export that holds string or array signals has a column more for
each of those kinds, after ``value``: ``text`` (the text of a string signal's point) and
``array`` (an array signal's elements: a list of float64 in Parquet, a JSON list such as
``[0.5, 1.25]`` in CSV); in each row only the column of its signal's kind has a value, the others
are empty (null). An enum is a number: its names are in the plant file. The schema metadata
``smartfab.signals`` describes each signal (path, unit, role, source, data type, length).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from smartfab.model.plant import ValueKind, value_kind
from smartfab.platform.points import ARRAY_POINT_SCHEMA, POINT_SCHEMA, TEXT_POINT_SCHEMA
from smartfab.platform.queries import PlantData, QueryError, TimeLike, TimeRange
from smartfab.platform.store.base import SignalInfo

Format = Literal["parquet", "csv"]
FORMATS: tuple[Format, ...] = ("parquet", "csv")
MEDIA_TYPES: dict[Format, str] = {
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv; charset=utf-8",
}
MAX_ROWS = 10_000_000  # about 200 MB of Parquet, 400 MB of CSV: ask for a shorter range beyond
MAX_ELEMENTS = 100_000_000  # of array points (800 MB of float64): ask for a shorter range beyond
CHUNK_ROWS = 500_000
CHUNK_ELEMENTS = 5_000_000  # a chunk of array points holds at most this many elements (40 MB)

EXPORT_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        POINT_SCHEMA.field("ts"),
        POINT_SCHEMA.field("value"),
        POINT_SCHEMA.field("quality"),
    ]
)


# The column each kind of value adds (numbers: "value" of EXPORT_SCHEMA).
_COLUMNS: dict[ValueKind, pa.Field] = {
    "text": pa.field("text", TEXT_POINT_SCHEMA.field("value").type),
    "array": pa.field("array", ARRAY_POINT_SCHEMA.field("value").type),
}


def export_schema(kinds: set[ValueKind]) -> pa.Schema:
    """The columns of an export of signals of these kinds (see the module's description)."""
    schema = EXPORT_SCHEMA
    for kind, column in _COLUMNS.items():
        if kind in kinds:
            schema = schema.insert(schema.get_field_index("quality"), column)
    return schema


class ExportTooLarge(QueryError):
    """The export would hold more points than allowed."""


@dataclass(frozen=True)
class Export:
    """A checked export: what to write and how many points that is."""

    data: PlantData
    signals: list[SignalInfo]
    range: TimeRange
    format: Format
    rows: int

    @property
    def filename(self) -> str:
        name = self.signals[0].path.replace("/", "_") if len(self.signals) == 1 else "signals"
        return f"{name}.{self.format}"

    @property
    def schema(self) -> pa.Schema:
        return export_schema({value_kind(s.data_type) for s in self.signals})

    def chunks(self) -> Iterator[pa.Table]:
        """The points in :attr:`schema`, signal by signal in time order, CHUNK_ROWS (of arrays:
        CHUNK_ELEMENTS elements) at most each."""
        store, end, schema = self.data.store, self.range.end_us, self.schema
        for s in self.signals:
            kind = value_kind(s.data_type)
            rows = max(1, min(CHUNK_ROWS, CHUNK_ELEMENTS // (s.length or 1)))
            start = self.range.start_us
            while start < end:
                t = store.raw([s.id], start, end, rows, kind)
                if t.num_rows == 0:
                    break
                columns = {"path": pa.repeat(s.path, t.num_rows), "ts": t["ts"],
                           "quality": t["quality"]}  # fmt: skip
                columns["value" if kind == "number" else _COLUMNS[kind].name] = t["value"]
                yield pa.table(
                    [columns.get(f.name, pa.nulls(t.num_rows, f.type)) for f in schema],
                    schema=schema,
                )
                if t.num_rows < rows:
                    break
                # (signal, ts) is unique: the next chunk starts after this one's last point.
                start = t["ts"][-1].cast(pa.int64()).as_py() + 1

    def write(self, sink: IO[bytes], progress: Callable[[int], None] | None = None) -> int:
        """Write the whole export to ``sink``; ``progress`` gets the points of each chunk.
        Returns the number of points written."""
        written = 0
        for rows in self._write(sink):
            written += rows
            if progress is not None:
                progress(rows)
        return written

    def stream(self) -> Iterator[bytes]:
        """The file's bytes, a chunk of points at a time (for an HTTP response)."""
        pipe = _Pipe()
        for _ in self._write(pipe):
            yield pipe.drain()
        yield pipe.drain()

    def _write(self, sink: IO[bytes] | io.RawIOBase) -> Iterator[int]:
        """Write chunk after chunk, yielding the number of points of each."""
        schema = self.schema.with_metadata({"smartfab.signals": json.dumps(
            [{"path": s.path, "unit": s.unit, "role": s.role, "source": s.source,
              "data_type": s.data_type, "length": s.length} for s in self.signals],
            ensure_ascii=False,
        )})  # fmt: skip
        writer: pq.ParquetWriter | pacsv.CSVWriter
        if self.format == "parquet":
            writer = pq.ParquetWriter(sink, schema, compression="zstd")
        else:
            # CSV has no lists: an array is written as a JSON list, in a text column.
            schema = _csv_schema(schema)
            writer = pacsv.CSVWriter(sink, schema)
        try:
            for chunk in self.chunks():
                if self.format == "csv" and "array" in chunk.column_names:
                    chunk = chunk.set_column(
                        chunk.schema.get_field_index("array"), "array", _json_lists(chunk["array"])
                    )
                writer.write_table(chunk.replace_schema_metadata(schema.metadata))
                yield chunk.num_rows
        finally:
            writer.close()


def plan_export(
    data: PlantData,
    paths: Sequence[str],
    start: TimeLike | None,
    end: TimeLike | None,
    format: str,
    max_rows: int = MAX_ROWS,
) -> Export:
    """Check an export before anything is written: QueryError for an unknown signal or format
    or an empty range, ExportTooLarge beyond ``max_rows`` points (default range: the last day)."""
    if format not in FORMATS:
        raise QueryError(f"format {format!r}: use one of {', '.join(FORMATS)}")
    if not paths:
        raise QueryError("name at least one signal to export")
    signals = [data.signal(p) for p in dict.fromkeys(paths)]
    r = TimeRange.of(start, end, default=timedelta(days=1))
    rows = data.store.count_points([s.id for s in signals], r.start_us, r.end_us)
    if rows > max_rows:
        raise ExportTooLarge(
            f"the export would hold {rows} points, more than the {max_rows} allowed: "
            "ask for a shorter range or fewer signals"
        )
    arrays = [s for s in signals if value_kind(s.data_type) == "array"]
    elements = sum(
        data.store.count_points([s.id], r.start_us, r.end_us) * (s.length or 1) for s in arrays
    )
    if elements > MAX_ELEMENTS:
        raise ExportTooLarge(
            f"the export would hold {elements} array elements, more than the {MAX_ELEMENTS} "
            "allowed: ask for a shorter range or fewer array signals"
        )
    fmt: Format = "parquet" if format == "parquet" else "csv"
    return Export(data, signals, r, fmt, rows)


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    if "array" not in schema.names:
        return schema
    return schema.set(schema.get_field_index("array"), pa.field("array", pa.string()))


def _json_lists(column: pa.ChunkedArray) -> pa.Array:
    """Lists of float64 as JSON text ("[0.5, 1.25]"; a non-finite element, which only a BAD
    point may hold, as null); no list (a row of another kind): null. By Arrow's kernels, element
    by element in C: numbers as their shortest exact text."""
    flat = column.combine_chunks()
    assert isinstance(flat, pa.ListArray)
    values = flat.values
    text = pc.if_else(pc.is_finite(values), pc.cast(values, pa.string()), "null")
    joined = pc.binary_join(pa.ListArray.from_arrays(flat.offsets, text, mask=flat.is_null()), ", ")
    return pc.binary_join_element_wise("[", joined, "]", "")


class _Pipe(io.RawIOBase):
    """A write-only file whose bytes are taken out as they come (pyarrow writes into it)."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        data = bytes(b)
        self._parts.append(data)
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def drain(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


__all__ = [
    "EXPORT_SCHEMA",
    "FORMATS",
    "MAX_ELEMENTS",
    "MAX_ROWS",
    "Export",
    "ExportTooLarge",
    "export_schema",
    "plan_export",
]
