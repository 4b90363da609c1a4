"""Process capability and performance indices: Cp, Cpk (within-subgroup sigma) and Pp, Ppk
(overall sigma), after Montgomery, *Introduction to Statistical Quality Control*, chapter 8.

Cp and Cpk judge what the process could do if only its short-term, common-cause variation were
left, so their sigma comes from within subgroups: R-bar / d2 or S-bar / c4 of the subgroups, or for
individual values MR-bar / d2(2) (= MR-bar / 1.128). Pp and Ppk judge what it did, with the sample
standard deviation of all values. With one specification limit only the one-sided index exists:
Cpk = Cpu or Cpl, and Cp and Pp (which need both limits) are NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from smartfab.apps.monitoring.spc import factors

WithinSigma = Literal["range", "stdev", "moving_range"]


@dataclass(frozen=True, slots=True)
class Capability:
    mean: float
    sigma_within: float
    sigma_overall: float
    cp: float  # NaN unless both limits are given
    cpk: float
    pp: float  # NaN unless both limits are given
    ppk: float


def within_sigma(data: npt.ArrayLike, method: WithinSigma) -> float:
    """Short-term sigma: "range" (R-bar / d2) or "stdev" (S-bar / c4) of 2-D subgroups (one per
    row), or "moving_range" (MR-bar / d2(2)) of a 1-D series of individual values."""
    x = np.asarray(data, np.float64)
    if method == "moving_range":
        if x.ndim != 1 or x.size < 2:
            raise ValueError("moving range sigma needs a 1-D series of at least 2 values")
        return float(np.abs(np.diff(x)).mean() / factors(2).d2)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"{method} sigma needs 2-D subgroups (one per row), got shape {x.shape}")
    f = factors(x.shape[1])
    if method == "range":
        return float(np.ptp(x, axis=1).mean() / f.d2)
    return float(x.std(axis=1, ddof=1).mean() / f.c4)


def _indices(mean: float, sigma: float, lsl: float | None, usl: float | None) -> tuple[
    float, float
]:  # fmt: skip
    """(Cp-like, Cpk-like) for one sigma."""
    spread = (usl - lsl) / (6 * sigma) if lsl is not None and usl is not None else math.nan
    sides = [(usl - mean) / (3 * sigma)] if usl is not None else []
    sides += [(mean - lsl) / (3 * sigma)] if lsl is not None else []
    return spread, min(sides)


def capability(
    data: npt.ArrayLike,
    lsl: float | None,
    usl: float | None,
    within: WithinSigma | None = None,
) -> Capability:
    """Capability of ``data``: 2-D subgroups (within sigma from "range" unless told "stdev") or a
    1-D series of individual values (within sigma from the moving range)."""
    x = np.asarray(data, np.float64)
    if lsl is None and usl is None:
        raise ValueError("capability needs at least one specification limit")
    if lsl is not None and usl is not None and not lsl < usl:
        raise ValueError(f"specification limits: LSL {lsl} must be below USL {usl}")
    if not np.all(np.isfinite(x)):
        raise ValueError("capability: the data hold NaN or infinite values")
    method: WithinSigma = within or ("moving_range" if x.ndim == 1 else "range")
    s_within = within_sigma(x, method)
    s_overall = float(x.std(ddof=1))
    if not (s_within > 0 and s_overall > 0):
        raise ValueError("capability: the data do not vary, so sigma is 0")
    mean = float(x.mean())
    cp, cpk = _indices(mean, s_within, lsl, usl)
    pp, ppk = _indices(mean, s_overall, lsl, usl)
    return Capability(mean, s_within, s_overall, cp, cpk, pp, ppk)
