"""Queries by name: the plant model plus a store, answering in signal paths and datetimes instead of
ids and microseconds. The REST API and notebooks both use this, so they always agree.

    >>> import smartfab
    >>> data = smartfab.connect("smartfab-data")
    >>> data.history("shenyang/machining/cnc-line-1/cell-1/cnc-01/spindle_power",
    ...              start="2026-11-20", end="2026-11-21", buckets=1000).to_pandas()

Signals hold one of three kinds of value (``PlantData.kind``): a number (float, int, bool and
enum; an enum's names come from the plant file, ``value_names``), a text (string signals) or an
array of numbers (array signals). ``latest`` and ``raw`` answer one kind at a time, its ``value``
column typed by it; a number's history is buckets (``history``), a text's its changes
(``changes``, which serves numbers too), an array's a sample of its points over the range
(``profiles``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from smartfab.errors import SmartfabError
from smartfab.model.plant import Plant, ValueKind, value_kind
from smartfab.platform.points import now_us
from smartfab.platform.store.base import KINDS, SignalInfo, Store

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


_MINUTE_US, _HOUR_US, _DAY_US = 60_000_000, 3_600_000_000, 86_400_000_000
CHANGES_LIMIT = 100_000  # changes of one answer, unless asked otherwise
PROFILES = 500  # array points of one answer, unless asked otherwise
_READ = 100_000  # points read from the store at once while looking for changes or samples
_LOOKBACK_US = 400 * _DAY_US  # how far back the value in force at a range's start is looked for


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
    def kind(self, path: str) -> ValueKind:
        """The kind of value the signal holds: "number", "text" or "array"."""
        return value_kind(self.signal(path).data_type)

    def value_names(self, path: str) -> dict[int, str] | None:
        """An enum signal's name of each value (from the plant file); None for other signals,
        or without a plant file."""
        self.signal(path)  # QueryError for an unknown one
        if self.plant is None:
            return None
        found = next((r.signal for r in self.plant.iter_signals() if r.path == path), None)
        return None if found is None else found.values

    def latest(
        self,
        paths: Iterable[str] | None = None,
        under: str | None = None,
        kind: ValueKind = "number",
    ) -> pa.Table:
        """Newest value of each signal of ``kind`` (signals of another kind have no row): path,
        ts, value, quality, unit; ``value`` a float64, a string or a list of float64."""
        if paths is not None:
            ids: list[int] | None = [self.signal(p).id for p in paths]
        elif under is not None:
            ids = [s.id for s in self.signals(under)]
        else:
            ids = None
        return self._with_paths(self.store.latest(ids, kind=kind))

    def latest_by_kind(
        self, paths: Iterable[str] | None = None, under: str | None = None
    ) -> dict[ValueKind, pa.Table]:
        """:meth:`latest` of every kind the signals hold (all signals when neither ``paths`` nor
        ``under`` is given): a table per kind, only for kinds that some signal holds."""
        infos = [self.signal(p) for p in paths] if paths is not None else self.signals(under)
        out: dict[ValueKind, pa.Table] = {}
        for kind in KINDS:
            ids = [s.id for s in infos if value_kind(s.data_type) == kind]
            if ids:
                everything = paths is None and under is None
                out[kind] = self._with_paths(self.store.latest(None if everything else ids, kind))
        return out

    def raw(
        self,
        paths: Sequence[str],
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        limit: int | None = None,
        kind: ValueKind | None = None,
    ) -> pa.Table:
        """Every stored point: path, ts, value, quality, unit. ``kind``: of the signals, which
        must all hold one (by default theirs)."""
        r = TimeRange.of(start, end)
        infos = [self.signal(p) for p in paths]
        kind = self._one_kind(infos) if kind is None else kind
        ids = [s.id for s in infos]
        return self._with_paths(self.store.raw(ids, r.start_us, r.end_us, limit, kind))

    def changes(
        self,
        path: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        limit: int = CHANGES_LIMIT,
    ) -> pa.Table:
        """The history of a text (or a number) as its changes: the value in force at ``start``
        (the last point before it, at its own time, unless a point lies at ``start``; looked for
        up to 400 days back), then every point of the range whose value or quality differs from
        the point before; at most ``limit`` rows. Columns ts, value, quality; the schema
        metadata says ``truncated`` ("true": there were more)."""
        info = self.signal(path)
        kind = value_kind(info.data_type)
        if kind == "array":
            raise QueryError(f"{path} holds arrays: their history is profiles(), not changes")
        if limit < 1:
            raise QueryError(f"limit = {limit}: need at least 1")
        r = TimeRange.of(start, end)
        chunk = self.store.raw([info.id], r.start_us, r.end_us, _READ, kind).select(_HISTORY)
        if chunk.num_rows and _ts_us(chunk)[0] == r.start_us:
            previous = chunk.slice(0, 0)
        else:
            previous = self._in_force(info.id, kind, r.start_us)
        parts, found = [previous], previous.num_rows
        while chunk.num_rows:
            changed = _changed(pa.concat_tables([previous, chunk]))[previous.num_rows :]
            parts.append(chunk.filter(pa.array(changed)))
            found += parts[-1].num_rows
            if chunk.num_rows < _READ or found > limit:
                break
            previous = chunk.slice(chunk.num_rows - 1)
            at = int(_ts_us(chunk)[-1]) + 1
            chunk = self.store.raw([info.id], at, r.end_us, _READ, kind).select(_HISTORY)
        out = pa.concat_tables(parts)
        return out.slice(0, limit).replace_schema_metadata(
            {"truncated": "true" if out.num_rows > limit else "false"}
        )

    def profiles(
        self,
        path: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        points: int = PROFILES,
    ) -> pa.Table:
        """The history of an array signal (a profile, a spectrum) as at most ``points`` of its
        points, evenly spread over the range: all of them when there are no more, else the
        first point of each of ``points`` equal slices of the range (so a long range costs
        ``points`` short reads, never all its arrays). Columns ts, value (list of float64),
        quality; the schema metadata says how many points the range holds (``in_range``)."""
        info = self.signal(path)
        if value_kind(info.data_type) != "array":
            raise QueryError(f"{path} holds {info.data_type} values: profiles() is for arrays")
        if points < 1:
            raise QueryError(f"points = {points}: need at least 1")
        r = TimeRange.of(start, end)
        n = self.store.count_points([info.id], r.start_us, r.end_us)
        if n <= points:
            parts = [self.store.raw([info.id], r.start_us, r.end_us, None, "array")]
        else:
            edges = np.linspace(r.start_us, r.end_us, points + 1).astype(np.int64)
            parts = [
                self.store.raw([info.id], a, b, 1, "array")
                for a, b in pairwise(edges.tolist())
                if a < b
            ]
        out = pa.concat_tables([t.select(_HISTORY) for t in parts])
        return out.replace_schema_metadata({"in_range": str(n)})

    def _in_force(self, signal_id: int, kind: ValueKind, at: int) -> pa.Table:
        """The last point before ``at`` (no row if there is none within _LOOKBACK_US), looked
        for in windows reaching back from ``at``, a minute first, each 16 times the one before:
        a signal sampled often is found at once, one that changes rarely in a few reads."""
        hi, width = at, _MINUTE_US
        while True:
            lo = max(0, hi - width)
            last = self._last(signal_id, kind, lo, hi)
            if last.num_rows or lo == 0 or at - lo >= _LOOKBACK_US:
                return last
            hi, width = lo, width * 16

    def _last(self, signal_id: int, kind: ValueKind, lo: int, hi: int) -> pa.Table:
        """The last point in [lo, hi) (no row if there is none)."""
        last = None
        while True:
            t = self.store.raw([signal_id], lo, hi, _READ, kind).select(_HISTORY)
            if t.num_rows or last is None:
                last = t.slice(max(0, t.num_rows - 1))
            if t.num_rows < _READ:
                return last
            lo = _ts_us(t)[-1] + 1

    def _one_kind(self, infos: Sequence[SignalInfo]) -> ValueKind:
        kinds = {value_kind(s.data_type) for s in infos}
        if len(kinds) > 1:
            raise QueryError(
                f"signals of {len(kinds)} kinds ({', '.join(sorted(kinds))}) in one query: a "
                "query answers one kind of value; ask for each kind apart"
            )
        return kinds.pop() if kinds else "number"

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


_HISTORY = ["ts", "value", "quality"]


def _ts_us(t: pa.Table) -> npt.NDArray[np.int64]:
    return np.asarray(t.column("ts").cast(pa.int64()).to_numpy(), np.int64)


def _changed(t: pa.Table) -> npt.NDArray[np.bool_]:
    """Which rows differ in value or quality from the row before (the first row always)."""
    keep = np.ones(t.num_rows, np.bool_)
    if t.num_rows < 2:
        return keep
    value, quality = t.column("value").combine_chunks(), t.column("quality").to_numpy()
    if pa.types.is_floating(value.type):  # a BAD number is NaN: two in a row are no change
        v = value.to_numpy(zero_copy_only=False)
        same = (v[1:] == v[:-1]) | (np.isnan(v[1:]) & np.isnan(v[:-1]))
    else:
        same = pc.equal(value.slice(1), value.slice(0, len(value) - 1)).to_numpy(
            zero_copy_only=False
        )
    keep[1:] = ~(same & (quality[1:] == quality[:-1]))
    return keep


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


__all__ = [
    "CHANGES_LIMIT",
    "PROFILES",
    "PlantData",
    "QueryError",
    "TimeRange",
    "connect",
    "nice_bucket_us",
    "to_us",
]
