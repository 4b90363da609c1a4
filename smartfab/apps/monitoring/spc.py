"""Shewhart control charts: X-bar/R, X-bar/S and I-MR for variables, p, np, c and u for attributes.

Limits are the usual three-sigma trial limits estimated from the data (phase I), as in Montgomery,
*Introduction to Statistical Quality Control* (Wiley), chapters 6 and 7. Every chart carries,
per point, its centre line, limits and the standard deviation of the plotted statistic, which is
what the run rules of :mod:`~smartfab.apps.monitoring.runrules` measure zones in.

The factors (Montgomery, Appendix VI) for subgroup size n = 2..25 derive from three constants:

* c4(n) = E[s] / sigma for n normal values = sqrt(2 / (n - 1)) * Gamma(n / 2) / Gamma((n - 1) / 2),
  computed here from that definition;
* d2(n) = E[R] / sigma and d3(n) = sd(R) / sigma, the mean and standard deviation of the range of n
  standard normal values. Neither has a closed form, so they are tabulated: the literature's table
  is ASTM Manual on Presentation of Data and Control Chart Analysis (STP 15D), reproduced in
  Montgomery, Appendix VI, to three decimals. Three decimals are too few to derive the other factors
  from (D4(2) would come out 3.269 instead of the published 3.267), so the table below holds the
  defining integrals, d2 = int 1 - Phi(x)^n - (1 - Phi(x))^n dx and
  E[R^2] = 2 int int_{x<y} 1 - Phi(y)^n - (1 - Phi(x))^n + (Phi(y) - Phi(x))^n dx dy, evaluated
  numerically (scipy.integrate) to six decimals; rounded to three they are the ASTM table exactly.

and A2 = 3 / (d2 sqrt n), D3 = max(0, 1 - 3 d3 / d2), D4 = 1 + 3 d3 / d2, A3 = 3 / (c4 sqrt n),
B3 = max(0, 1 - 3 sqrt(1 - c4^2) / c4), B4 = 1 + 3 sqrt(1 - c4^2) / c4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln

from smartfab.platform.points import Float64Array

IntpArray = npt.NDArray[np.intp]

N_MIN, N_MAX = 2, 25

# d2(n) and d3(n) for n = 2..25 (see the module docstring for their source).
_D2 = np.array([
    1.128379, 1.692569, 2.058751, 2.325929, 2.534413, 2.704357, 2.847201, 2.970026,
    3.077505, 3.172873, 3.258455, 3.335980, 3.406763, 3.471827, 3.531983, 3.587884,
    3.640064, 3.688963, 3.734950, 3.778336, 3.819385, 3.858323, 3.895348, 3.930629,
])  # fmt: skip
_D3 = np.array([
    0.852502, 0.888368, 0.879808, 0.864082, 0.848040, 0.833205, 0.819831, 0.807834,
    0.797051, 0.787315, 0.778478, 0.770416, 0.763023, 0.756211, 0.749908, 0.744052,
    0.738591, 0.733481, 0.728686, 0.724173, 0.719915, 0.715887, 0.712068, 0.708441,
])  # fmt: skip


@dataclass(frozen=True, slots=True)
class Factors:
    """Control chart factors for one subgroup size (names as in the literature)."""

    n: int
    d2: float
    d3: float
    c4: float
    A2: float
    A3: float
    B3: float
    B4: float
    D3: float
    D4: float


def factors(n: int) -> Factors:
    """The factors for subgroup size ``n`` (2..25)."""
    if not N_MIN <= n <= N_MAX:
        raise ValueError(f"subgroup size {n}: control chart factors exist for {N_MIN} to {N_MAX}")
    d2, d3 = float(_D2[n - N_MIN]), float(_D3[n - N_MIN])
    c4 = float(np.sqrt(2.0 / (n - 1)) * np.exp(gammaln(n / 2) - gammaln((n - 1) / 2)))
    spread_s = 3.0 * np.sqrt(1.0 - c4 * c4) / c4
    return Factors(
        n=n,
        d2=d2,
        d3=d3,
        c4=c4,
        A2=3.0 / (d2 * np.sqrt(n)),
        A3=3.0 / (c4 * np.sqrt(n)),
        B3=max(0.0, 1.0 - spread_s),
        B4=1.0 + spread_s,
        D3=max(0.0, 1.0 - 3.0 * d3 / d2),
        D4=1.0 + 3.0 * d3 / d2,
    )


@dataclass(frozen=True, slots=True)
class ControlChart:
    """A plotted statistic with, per point, centre line, standard deviation and limits."""

    statistic: str  # "xbar", "R", "S", "I", "MR", "p", "np", "c" or "u"
    value: Float64Array
    center: Float64Array
    sigma: Float64Array  # standard deviation of the statistic: zone width for the run rules
    ucl: Float64Array
    lcl: Float64Array

    def beyond_limits(self) -> IntpArray:
        """Indices of the points outside the control limits."""
        return np.flatnonzero((self.value > self.ucl) | (self.value < self.lcl))


def _chart(
    statistic: str,
    value: Float64Array,
    center: float | Float64Array,
    sigma: float | Float64Array,
    ucl: float | Float64Array,
    lcl: float | Float64Array,
) -> ControlChart:
    def per_point(x: float | Float64Array) -> Float64Array:
        return np.broadcast_to(np.asarray(x, np.float64), value.shape).copy()

    return ControlChart(
        statistic, value, per_point(center), per_point(sigma), per_point(ucl), per_point(lcl)
    )


def _subgroups(samples: npt.ArrayLike) -> Float64Array:
    x = np.asarray(samples, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(
            f"subgroups: need a 2-D array of at least 2 subgroups x n values, got shape {x.shape}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("subgroups hold NaN or infinite values")
    return x


def xbar_r(samples: npt.ArrayLike) -> tuple[ControlChart, ControlChart]:
    """X-bar and R charts of ``samples`` (one row per subgroup of n = 2..25 values)."""
    x = _subgroups(samples)
    f = factors(x.shape[1])
    xbar, r = x.mean(axis=1), np.ptp(x, axis=1)
    grand, rbar = float(xbar.mean()), float(r.mean())
    means = _chart("xbar", xbar, grand, f.A2 * rbar / 3, grand + f.A2 * rbar, grand - f.A2 * rbar)
    ranges = _chart("R", r, rbar, f.d3 * rbar / f.d2, f.D4 * rbar, f.D3 * rbar)
    return means, ranges


def xbar_s(samples: npt.ArrayLike) -> tuple[ControlChart, ControlChart]:
    """X-bar and S charts of ``samples`` (one row per subgroup of n = 2..25 values)."""
    x = _subgroups(samples)
    f = factors(x.shape[1])
    xbar, s = x.mean(axis=1), x.std(axis=1, ddof=1)
    grand, sbar = float(xbar.mean()), float(s.mean())
    means = _chart("xbar", xbar, grand, f.A3 * sbar / 3, grand + f.A3 * sbar, grand - f.A3 * sbar)
    sds = _chart("S", s, sbar, (f.B4 - 1) * sbar / 3, f.B4 * sbar, f.B3 * sbar)
    return means, sds


def individuals_mr(values: npt.ArrayLike) -> tuple[ControlChart, ControlChart]:
    """Individuals and moving range (of two) charts. The MR chart has one point fewer: its point
    ``i`` is |x[i + 1] - x[i]|."""
    x = np.asarray(values, np.float64)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError("individuals: need a 1-D series of at least 2 finite values")
    f = factors(2)
    mr = np.abs(np.diff(x))
    mean, mrbar = float(x.mean()), float(mr.mean())
    sigma = mrbar / f.d2
    individuals = _chart("I", x, mean, sigma, mean + 3 * sigma, mean - 3 * sigma)
    ranges = _chart("MR", mr, mrbar, f.d3 * sigma, f.D4 * mrbar, f.D3 * mrbar)
    return individuals, ranges


def _attribute(name: str, counts: npt.ArrayLike, sizes: npt.ArrayLike) -> tuple[
    Float64Array, Float64Array
]:  # fmt: skip
    c = np.atleast_1d(np.asarray(counts, np.float64))
    n = np.broadcast_to(np.asarray(sizes, np.float64), c.shape)
    if c.ndim != 1 or c.size < 2:
        raise ValueError(f"{name} chart: need at least 2 samples")
    if not (np.all(np.isfinite(c)) and np.all(c >= 0) and np.all(np.isfinite(n))):
        raise ValueError(f"{name} chart: counts must be finite and not negative")
    if np.any(n <= 0):
        raise ValueError(f"{name} chart: sample sizes must be positive")
    return c, n


def _lower(center: float, spread: float | Float64Array) -> Float64Array:
    # Counts and fractions cannot go below 0: a negative three-sigma limit is no limit.
    return np.maximum(center - spread, 0.0)


def p_chart(defectives: npt.ArrayLike, sizes: npt.ArrayLike) -> ControlChart:
    """Fraction nonconforming; ``sizes`` may differ per sample (limits then vary per point)."""
    d, n = _attribute("p", defectives, sizes)
    if np.any(d > n):
        raise ValueError("p chart: more defectives than inspected units in a sample")
    pbar = float(d.sum() / n.sum())
    sigma = np.sqrt(pbar * (1 - pbar) / n)
    return _chart("p", d / n, pbar, sigma, pbar + 3 * sigma, _lower(pbar, 3 * sigma))


def np_chart(defectives: npt.ArrayLike, size: int) -> ControlChart:
    """Number nonconforming in samples of one constant ``size``."""
    d, n = _attribute("np", defectives, size)
    if np.any(d > n):
        raise ValueError("np chart: more defectives than inspected units in a sample")
    center = float(d.mean())
    sigma = float(np.sqrt(center * (1 - center / size)))
    return _chart("np", d, center, sigma, center + 3 * sigma, _lower(center, 3 * sigma))


def c_chart(nonconformities: npt.ArrayLike) -> ControlChart:
    """Nonconformities per inspection unit of constant size (Poisson: sigma = sqrt(c-bar))."""
    c, _ = _attribute("c", nonconformities, 1.0)
    cbar = float(c.mean())
    sigma = float(np.sqrt(cbar))
    return _chart("c", c, cbar, sigma, cbar + 3 * sigma, _lower(cbar, 3 * sigma))


def u_chart(nonconformities: npt.ArrayLike, units: npt.ArrayLike) -> ControlChart:
    """Nonconformities per unit, with ``units`` inspected in each sample (may differ)."""
    c, n = _attribute("u", nonconformities, units)
    ubar = float(c.sum() / n.sum())
    sigma = np.sqrt(ubar / n)
    return _chart("u", c / n, ubar, sigma, ubar + 3 * sigma, _lower(ubar, 3 * sigma))


# --- rational subgroups from a series of observations ------------------------------------------

MIN_SUBGROUPS = 10  # fewer make trial limits meaningless
TARGET_SUBGROUPS = 20  # Montgomery's rule of thumb for trial limits: 20 to 25 subgroups
AUTO_MAX_SUBGROUPS = 100  # what a chart shows unless asked for more: enough, and readable
DEFAULT_SIZE = 5


@dataclass(frozen=True, slots=True)
class SubgroupPlan:
    """How ``available`` observations become subgroups: ``count`` subgroups of ``size`` (0 when
    they are too few: fewer than ``needed``)."""

    available: int
    size: int
    count: int
    needed: int  # observations for MIN_SUBGROUPS subgroups of ``size``

    @property
    def enough(self) -> bool:
        return self.count >= MIN_SUBGROUPS

    def indices(self) -> IntpArray:
        """Indices (count x size) of rational subgroups: runs of ``size`` consecutive
        observations, so that a subgroup holds only short-term variation, spread evenly over the
        series so that the chart shows the variation between them."""
        first = np.linspace(0, self.available - self.size, self.count).astype(np.intp)
        return first[:, None] + np.arange(self.size, dtype=np.intp)[None, :]


def plan_subgroups(available: int, size: int | None, count: int | None) -> SubgroupPlan:
    """Subgroups for ``available`` observations. ``size`` 1 means individuals; None chooses the
    largest size up to :data:`DEFAULT_SIZE` (at least 2) that still gives
    :data:`TARGET_SUBGROUPS` subgroups, so that a short series still makes a chart. ``count``
    None takes as many subgroups as the observations fill, up to :data:`AUTO_MAX_SUBGROUPS`;
    a count given is an upper bound too, since observations are not invented."""
    if size is None:
        size = int(np.clip(available // TARGET_SUBGROUPS, N_MIN, DEFAULT_SIZE))
    if not 1 <= size <= N_MAX:
        raise ValueError(f"subgroup size {size}: choose 1 (individuals) to {N_MAX}")
    fits = min(AUTO_MAX_SUBGROUPS if count is None else count, available // size)
    return SubgroupPlan(available, size, fits if fits >= MIN_SUBGROUPS else 0, MIN_SUBGROUPS * size)
