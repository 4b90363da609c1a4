"""Points, signals and times that the store tests share."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from smartfab.platform.points import ArrayBatch, PointBatch, Quality, TextBatch
from smartfab.platform.store.base import SignalInfo

T0 = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z
S = 1_000_000  # one second in microseconds
EQ = "site/area/line1/cell/press"


def info(
    name: str,
    equipment: str = EQ,
    unit: str = "degC",
    low: float | None = None,
    high: float | None = None,
) -> SignalInfo:
    return SignalInfo(f"{equipment}/{name}", equipment, name, unit, "float", low=low, high=high)


def text_info(name: str, length: int | None = None) -> SignalInfo:
    return SignalInfo(f"{EQ}/{name}", EQ, name, "", "string", length=length)


def array_info(name: str, length: int) -> SignalInfo:
    return SignalInfo(f"{EQ}/{name}", EQ, name, "mm", "array", length=length)


def pts(
    secs: npt.ArrayLike,
    signal: npt.ArrayLike,
    value: npt.ArrayLike = 1.0,
    quality: int = Quality.GOOD,
) -> PointBatch:
    """Points at T0 + secs seconds; signal and value broadcast to the length of secs."""
    t = T0 + np.atleast_1d(np.asarray(secs, np.int64)) * S
    return PointBatch.of(
        t, np.broadcast_to(signal, t.shape), np.broadcast_to(value, t.shape), quality
    )


def ts_us(table: pa.Table, column: str = "ts") -> list[int]:
    return table.column(column).cast(pa.int64()).to_pylist()  # type: ignore[no-any-return]


def texts(
    secs: npt.ArrayLike,
    signal: npt.ArrayLike,
    text: str | Sequence[str],
    quality: npt.ArrayLike = Quality.GOOD,
) -> TextBatch:
    """Text points at T0 + secs seconds; signal, text and quality broadcast."""
    t = T0 + np.atleast_1d(np.asarray(secs, np.int64)) * S
    values = [text] * len(t) if isinstance(text, str) else list(text)
    return TextBatch.of(t, np.broadcast_to(signal, t.shape), values, quality)


def arrays(
    secs: npt.ArrayLike,
    signal: npt.ArrayLike,
    rows: Sequence[Sequence[float]],
    quality: npt.ArrayLike = Quality.GOOD,
) -> ArrayBatch:
    """Array points at T0 + secs seconds, one row each (rows may differ in length)."""
    t = T0 + np.atleast_1d(np.asarray(secs, np.int64)) * S
    lengths = [len(r) for r in rows]
    return ArrayBatch(
        t,
        np.broadcast_to(np.asarray(signal, np.int32), t.shape).copy(),
        np.array([x for r in rows for x in r], np.float64),
        np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        np.broadcast_to(np.asarray(quality, np.uint8), t.shape).copy(),
    )
