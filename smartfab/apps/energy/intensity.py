"""Energy per good part (the energy performance indicator of discrete manufacturing) by asset,
by line, by shift and by product."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from smartfab.apps.energy.series import Intervals
from smartfab.apps.monitoring.periods import Periods


@dataclass(frozen=True)
class Intensity:
    key: str  # the asset, line, shift or product
    kwh: float
    good: float

    @property
    def kwh_per_good(self) -> float | None:
        return self.kwh / self.good if self.good else None


def _group(keys: list[str], kwh: list[float], good: list[float]) -> list[Intensity]:
    total: dict[str, list[float]] = {}
    for k, e, g in zip(keys, kwh, good, strict=True):
        t = total.setdefault(k, [0.0, 0.0])
        t[0] += e
        t[1] += g
    return [Intensity(k, e, g) for k, (e, g) in sorted(total.items())]


def by_asset(series: Sequence[Intervals]) -> list[Intensity]:
    return [Intensity(s.equipment, float(s.kwh.sum()), float(s.good.sum())) for s in series]


def by_line(series: Sequence[Intervals]) -> list[Intensity]:
    """Equipment paths grouped by line (site/area/line)."""
    lines = ["/".join(s.equipment.split("/")[:3]) for s in series]
    return _group(
        lines, [float(s.kwh.sum()) for s in series], [float(s.good.sum()) for s in series]
    )


def by_product(series: Sequence[Intervals]) -> list[Intensity]:
    keys, kwh, good = [], [], []
    for s in series:
        keys += [p or "unknown" for p in s.product]
        kwh += s.kwh.tolist()
        good += s.good.tolist()
    return _group(keys, kwh, good)


def by_period(series: Sequence[Intervals], periods: Periods) -> list[Intensity]:
    """Per shift (or day): the intervals starting within each period; the shift's name is the
    label's last word, so all early shifts go together."""
    keys, kwh, good = [], [], []
    for s in series:
        i = np.searchsorted(periods.start, s.start, "right") - 1
        inside = (i >= 0) & (s.start < periods.end[np.maximum(i, 0)])
        labels = [str(periods.label[j]).split(" ")[-1] for j in i[inside]]
        keys += labels
        kwh += s.kwh[inside].tolist()
        good += s.good[inside].tolist()
    return _group(keys, kwh, good)
