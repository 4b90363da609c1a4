"""Export of stored points to Parquet or CSV, for the API (streamed) and the command line.

An export is planned first (the signals exist, the range is valid, the number of points is
within the limit: a count, no data read), then written in chunks of at most ``CHUNK_ROWS``
points straight from the store's Arrow tables through pyarrow's Parquet and CSV writers, so that
memory stays bounded however long the range is and nothing is converted point by point.
Columns: path, ts (UTC, microseconds), value, quality (0 good, 1 uncertain, 2 bad).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from smartfab.platform.points import POINT_SCHEMA
from smartfab.platform.queries import PlantData, QueryError, TimeLike, TimeRange
from smartfab.platform.store.base import SignalInfo

Format = Literal["parquet", "csv"]
FORMATS: tuple[Format, ...] = ("parquet", "csv")
MEDIA_TYPES: dict[Format, str] = {
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv; charset=utf-8",
}
MAX_ROWS = 10_000_000  # about 200 MB of Parquet, 400 MB of CSV: ask for a shorter range beyond
CHUNK_ROWS = 500_000

EXPORT_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        POINT_SCHEMA.field("ts"),
        POINT_SCHEMA.field("value"),
        POINT_SCHEMA.field("quality"),
    ]
)


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

    def chunks(self) -> Iterator[pa.Table]:
        """The points in EXPORT_SCHEMA, signal by signal in time order, CHUNK_ROWS at most each."""
        store, end = self.data.store, self.range.end_us
        for s in self.signals:
            start = self.range.start_us
            while start < end:
                t = store.raw([s.id], start, end, CHUNK_ROWS)
                if t.num_rows == 0:
                    break
                yield pa.table(
                    [pa.repeat(s.path, t.num_rows), t["ts"], t["value"], t["quality"]],
                    schema=EXPORT_SCHEMA,
                )
                if t.num_rows < CHUNK_ROWS:
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
        schema = EXPORT_SCHEMA.with_metadata({"smartfab.signals": json.dumps(
            [{"path": s.path, "unit": s.unit, "role": s.role, "source": s.source}
             for s in self.signals]
        )})  # fmt: skip
        writer: pq.ParquetWriter | pacsv.CSVWriter
        if self.format == "parquet":
            writer = pq.ParquetWriter(sink, schema, compression="zstd")
        else:
            writer = pacsv.CSVWriter(sink, schema)
        try:
            for chunk in self.chunks():
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
    fmt: Format = "parquet" if format == "parquet" else "csv"
    return Export(data, signals, r, fmt, rows)


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


__all__ = ["EXPORT_SCHEMA", "FORMATS", "MAX_ROWS", "Export", "ExportTooLarge", "plan_export"]
