"""Queries by name: the plant model plus a store, answering in signal paths and datetimes instead of
ids and microseconds. The REST API and notebooks both use this, so they always agree.

    >>> import smartfab
    >>> data = smartfab.connect("smartfab-data")
    >>> data.history("shenyang/machining/cnc-line-1/cell-1/cnc-01/spindle_power",
    ...              start="2026-11-20", end="2026-11-21", buckets=1000).to_pandas()
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from smartfab.errors import SmartfabError
from smartfab.model.plant import Plant
from smartfab.platform.points import now_us
from smartfab.platform.store.base import SignalInfo, Store

TimeLike = datetime | str | int | float


class QueryError(SmartfabError):
    """A query named something that does not exist or asked for something impossible."""


def to_us(t: TimeLike) -> int:
    """Epoch microseconds from a datetime (naive = UTC), an ISO 8601 string or epoch seconds."""
    if isinstance(t, int | float):
        return int(t * 1_000_000)
    if isinstance(t, str):
        try:
            t = datetime.fromisoformat(t)
        except ValueError as exc:
            raise QueryError(f"time {t!r} is not ISO 8601 (e.g. 2026-11-20T08:00:00Z)") from exc
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1_000_000)


_MINUTE_US, _HOUR_US = 60_000_000, 3_600_000_000


def nice_bucket_us(span_us: int, buckets: int) -> int:
    """The smallest bucket that splits ``span_us`` into at most ``buckets``: whole seconds, or
    whole minutes (hours) from 10 minutes (10 hours) up, which the stores serve from their
    rollups (rounding up costs at most a tenth of the buckets)."""
    if buckets < 1:
        raise QueryError(f"buckets = {buckets}: need at least 1")
    per_bucket = -(-span_us // buckets)  # ceiling division
    unit = (
        _HOUR_US if per_bucket >= 10 * _HOUR_US
        else _MINUTE_US if per_bucket >= 10 * _MINUTE_US
        else 1_000_000
    )  # fmt: skip
    return max(1, -(-per_bucket // unit)) * unit


@dataclass(frozen=True)
class TimeRange:
    start_us: int
    end_us: int

    @classmethod
    def of(
        cls, start: TimeLike | None, end: TimeLike | None, default: timedelta = timedelta(hours=1)
    ) -> TimeRange:
        e = to_us(end) if end is not None else to_us(datetime.now(UTC))
        s = to_us(start) if start is not None else e - int(default.total_seconds() * 1e6)
        if s >= e:
            raise QueryError(f"start ({s} us) must be before end ({e} us)")
        return cls(s, e)


class PlantData:
    """Named queries over a store. Results are Arrow tables (``.to_pandas()`` in a notebook)."""

    def __init__(self, store: Store, plant: Plant | None = None) -> None:
        self.store = store
        self.plant = plant
        self._by_path: dict[str, SignalInfo] = {}
        self._by_id: dict[int, SignalInfo] = {}
        self.refresh()

    def close(self) -> None:
        """Let go of the store, so that another process may open it for writing."""
        self.store.close()

    def __enter__(self) -> PlantData:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def refresh(self) -> None:
        """Reload the signal catalogue (after signals were registered)."""
        infos = self.store.signals()
        self._by_path = {s.path: s for s in infos}
        self._by_id = {s.id: s for s in infos}

    # --- catalogue ---------------------------------------------------------------------------
    def signals(self, under: str | None = None) -> list[SignalInfo]:
        """Signals whose path is ``under`` or below it (all when None), sorted by path."""
        return sorted(
            (s for s in self._by_path.values() if _below(s.path, under)), key=lambda s: s.path
        )

    def signal(self, path: str) -> SignalInfo:
        try:
            return self._by_path[path]
        except KeyError:
            raise QueryError(f"unknown signal {path!r}{_suggest(path, self._by_path)}") from None

    # --- time series -------------------------------------------------------------------------
    def latest(self, paths: Iterable[str] | None = None, under: str | None = None) -> pa.Table:
        """Newest value of each signal: path, ts, value, quality, unit."""
        if paths is not None:
            ids: list[int] | None = [self.signal(p).id for p in paths]
        elif under is not None:
            ids = [s.id for s in self.signals(under)]
        else:
            ids = None
        return self._with_paths(self.store.latest(ids))

    def raw(
        self,
        paths: Sequence[str],
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        """Every stored point: path, ts, value, quality."""
        r = TimeRange.of(start, end)
        ids = [self.signal(p).id for p in paths]
        return self._with_paths(self.store.raw(ids, r.start_us, r.end_us, limit))

    def history(
        self,
        path: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        buckets: int = 1000,
    ) -> pa.Table:
        """About ``buckets`` time buckets of one signal: bucket, min, max, avg, last, count. The
        bucket width in microseconds is in the schema metadata under ``bucket_us``."""
        r = TimeRange.of(start, end)
        bucket = nice_bucket_us(r.end_us - r.start_us, buckets)
        # Minute and hour buckets start on a whole minute (hour), like the rollups they come from;
        # the first bucket then reaches a little before ``start``.
        unit = _HOUR_US if bucket % _HOUR_US == 0 else _MINUTE_US if bucket % _MINUTE_US == 0 else 1
        table = self.store.downsample(
            self.signal(path).id, r.start_us // unit * unit, r.end_us, bucket
        )
        return table.replace_schema_metadata({"bucket_us": str(bucket)})

    # --- events and states -------------------------------------------------------------------
    def events(
        self,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        equipment: str | None = None,
        kinds: Sequence[str] | None = None,
        limit: int | None = 1000,
    ) -> pa.Table:
        r = TimeRange.of(start, end, default=timedelta(days=1))
        return self.store.events(r.start_us, r.end_us, equipment, kinds, limit)

    def state_durations(
        self, equipment: str, start: TimeLike | None = None, end: TimeLike | None = None
    ) -> pa.Table:
        r = TimeRange.of(start, end, default=timedelta(days=1))
        # The state in force now lasts until now, not until the end of a range in the future.
        return self.store.state_durations(
            equipment, r.start_us, max(r.start_us + 1, min(r.end_us, now_us()))
        )

    def _with_paths(self, table: pa.Table) -> pa.Table:
        """Add path and unit columns, vectorised: the catalogue is small, the table may not be."""
        ids = table.column("signal_id").to_numpy().astype(np.int64)
        known, pos = self._positions(ids)
        if not np.array_equal(known[pos], ids):  # signals registered since: look once more
            self.refresh()
            known, pos = self._positions(ids)
            if not np.array_equal(known[pos], ids):
                missing = sorted(set(ids.tolist()) - set(known.tolist()))
                raise QueryError(f"signal ids {missing[:10]} are not in the catalogue")
        infos = [self._by_id[int(i)] for i in known]
        index = pa.array(pos.astype(np.int32))
        paths = pa.array([s.path for s in infos], pa.string()).take(index)
        units = pa.array([s.unit for s in infos], pa.string()).take(index)
        return table.append_column("path", paths).append_column("unit", units)

    def _positions(
        self, ids: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
        known = np.array(sorted(self._by_id), dtype=np.int64)
        if len(known) == 0:
            return np.zeros(1, np.int64) - 1, np.zeros(len(ids), np.intp)
        return known, np.searchsorted(known, ids).clip(0, len(known) - 1)


def _below(path: str, under: str | None) -> bool:
    return under is None or path == under or path.startswith(under.rstrip("/") + "/")


def _suggest(name: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def connect(data: str | Path, plant: str | Path | None = None) -> PlantData:
    """Open a data folder, a .duckdb file or a ``postgresql://`` URL for queries, e.g. from a
    notebook. While a running smartfab (serve, demo) holds a DuckDB store, the queries go
    through that process; while this one holds it, others' go through this one (close() ends
    that)."""
    from smartfab.model.loader import load_plant
    from smartfab.platform.store import is_postgres_url, open_store

    location: str | Path = data
    if not is_postgres_url(data):
        p = Path(str(data).removeprefix("duckdb://"))
        location = p if p.suffix == ".duckdb" else p / "smartfab.duckdb"
        if not location.exists():
            raise QueryError(
                f"{location}: no store there; run `smartfab simulate` or `smartfab demo` first"
            )
    return PlantData(open_store(location), load_plant(Path(plant)) if plant else None)


__all__ = ["PlantData", "QueryError", "TimeRange", "connect", "nice_bucket_us", "to_us"]
