"""Points, signals and times that the store tests share."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from smartfab.platform.points import PointBatch, Quality
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
