"""Run rules that flag non-random patterns on a control chart: the four Western Electric rules
(Western Electric, *Statistical Quality Control Handbook*, 1956) and the eight Nelson rules
(L. S. Nelson, "The Shewhart Control Chart - Tests for Special Causes", Journal of Quality
Technology 16(4), 1984).

Zones are measured in standard deviations of the plotted statistic from the centre line, per point,
so charts with varying limits (p and u charts of varying sample size) work too. Each rule returns
the indices of the points that *complete* a violating pattern, as Minitab marks them: in a run of
ten points on one side, rule "nine in a row" flags the ninth and tenth. For the "k of m" rules the
flagged point is itself one of the k, so a point inside the zone never carries the flag of its
neighbours. A point exactly on the centre line belongs to neither side, and equal consecutive
values neither rise nor fall, so both break runs. Near the start of a series a "k of m" window
holds the points there are: two of the first two points beyond two sigma already are two of three.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from smartfab.platform.points import Float64Array

BoolArray = npt.NDArray[np.bool_]
IntpArray = npt.NDArray[np.intp]


def zscores(values: npt.ArrayLike, center: npt.ArrayLike, sigma: npt.ArrayLike) -> Float64Array:
    """Distance of each point from the centre line in standard deviations of the statistic."""
    x = np.asarray(values, np.float64)
    s = np.broadcast_to(np.asarray(sigma, np.float64), x.shape)
    if x.ndim != 1:
        raise ValueError("run rules: the values must be a 1-D series")
    if not np.all(s > 0):
        raise ValueError("run rules: sigma must be positive at every point")
    return (x - np.broadcast_to(np.asarray(center, np.float64), x.shape)) / s


def _in_window(mask: BoolArray, length: int) -> npt.NDArray[np.int64]:
    """How many of the last ``length`` points (fewer at the start) up to each point are set."""
    total = np.concatenate(([0], np.cumsum(mask, dtype=np.int64)))
    ends = np.arange(1, mask.size + 1)
    return total[ends] - total[np.maximum(ends - length, 0)]


def _run(mask: BoolArray, length: int) -> BoolArray:
    """Whether each point ends a run of at least ``length`` consecutive set points."""
    return np.equal(_in_window(mask, length), length)


def _k_of_m(z: Float64Array, limit: float, k: int, m: int) -> BoolArray:
    above, below = z > limit, z < -limit
    return (above & (_in_window(above, m) >= k)) | (below & (_in_window(below, m) >= k))


def _same_side(z: Float64Array, length: int) -> BoolArray:
    return _run(z > 0, length) | _run(z < 0, length)


def _trend(x: Float64Array, points: int) -> BoolArray:
    """Points ending ``points`` values in a row that steadily rise or fall."""
    d = np.diff(x)
    rising, falling = _run(d > 0, points - 1), _run(d < 0, points - 1)
    return np.concatenate(([False], rising | falling))[: x.size]


def _alternating(x: Float64Array, points: int) -> BoolArray:
    """Points ending ``points`` values in a row that alternate up and down."""
    d = np.diff(x)
    flips = d[1:] * d[:-1] < 0  # flips[j]: the move into point j + 1 reverses the one before
    return np.concatenate(([False, False], _run(flips, points - 2)))[: x.size]


def nelson(values: npt.ArrayLike, center: npt.ArrayLike, sigma: npt.ArrayLike) -> dict[
    int, IntpArray
]:  # fmt: skip
    """Indices violating each Nelson rule (keys 1 to 8):

    1. a point beyond 3 sigma;
    2. nine points in a row on the same side of the centre line;
    3. six points in a row steadily increasing or decreasing;
    4. fourteen points in a row alternating up and down;
    5. two of three points in a row beyond 2 sigma on the same side;
    6. four of five points in a row beyond 1 sigma on the same side;
    7. fifteen points in a row within 1 sigma on either side;
    8. eight points in a row beyond 1 sigma on either side.
    """
    x = np.asarray(values, np.float64)
    z = zscores(x, center, sigma)
    flags = {
        1: np.abs(z) > 3,
        2: _same_side(z, 9),
        3: _trend(x, 6),
        4: _alternating(x, 14),
        5: _k_of_m(z, 2, 2, 3),
        6: _k_of_m(z, 1, 4, 5),
        7: _run(np.abs(z) < 1, 15),
        8: _run(np.abs(z) > 1, 8),
    }
    return {rule: np.flatnonzero(f) for rule, f in flags.items()}


def western_electric(values: npt.ArrayLike, center: npt.ArrayLike, sigma: npt.ArrayLike) -> dict[
    int, IntpArray
]:  # fmt: skip
    """Indices violating each Western Electric rule (keys 1 to 4):

    1. a point beyond 3 sigma;
    2. two of three points in a row beyond 2 sigma on the same side;
    3. four of five points in a row beyond 1 sigma on the same side;
    4. eight points in a row on the same side of the centre line.
    """
    z = zscores(values, center, sigma)
    flags = {
        1: np.abs(z) > 3,
        2: _k_of_m(z, 2, 2, 3),
        3: _k_of_m(z, 1, 4, 5),
        4: _same_side(z, 8),
    }
    return {rule: np.flatnonzero(f) for rule, f in flags.items()}
