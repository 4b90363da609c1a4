"""Customer demand of the virtual warehouse: how many order lines a day, spread over the day by an
hourly profile, orders of a few lines, quantities by the SKU's pack size, and due dates from an
express service of a couple of hours to next-day delivery, each rounded up to an outbound truck's
departure (the docks dispatch on a fixed timetable).

The whole horizon's orders are drawn at once from one random stream, so that two warehouses run
on the same seed (the optimised one and the baseline) face exactly the same customers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from smartfab.model.plant import OrderDemand

DAY_S = 86_400.0
# Relative order intake per hour of the day (00-23): a distribution centre's day, busiest in the
# morning when the customers' overnight orders and the first calls arrive, quiet at night.
HOURLY = (
    0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 1.0, 1.6, 2.0, 2.0, 1.8, 1.6,
    1.4, 1.5, 1.6, 1.5, 1.3, 1.0, 0.7, 0.5, 0.4, 0.3, 0.2, 0.2,
)  # fmt: skip
# (hours from the order to its due time, share of the orders): express, same shift, same day,
# next day
SERVICE = ((2.0, 0.2), (4.0, 0.35), (8.0, 0.3), (24.0, 0.15))
CLASS_WEIGHT = {"A": 0.7, "B": 0.25, "C": 0.05}  # share of order lines per demand class


@dataclass(frozen=True)
class Demand:
    """What the customers order: ``lines_per_day`` on average, spread by ``hourly`` (24 weights),
    orders of 1 to ``max_lines`` lines (``lines_per_order`` on average), each due after one of
    ``service``'s lead times (hours, share), rounded up to the next of the outbound trucks that
    leave every ``departure_h`` hours."""

    lines_per_day: float = 1000.0
    lines_per_order: float = 3.0
    max_lines: int = 8
    hourly: tuple[float, ...] = HOURLY
    service: tuple[tuple[float, float], ...] = SERVICE
    departure_h: float = 1.0

    @classmethod
    def of(cls, model: OrderDemand | None) -> Demand:
        """The demand a plant file's storage zone states (none: the defaults)."""
        if model is None:
            return cls()
        return cls(
            lines_per_day=model.lines_per_day,
            lines_per_order=model.lines_per_order,
            max_lines=model.max_lines,
            hourly=tuple(model.hourly) if model.hourly is not None else HOURLY,
            service=tuple(model.service) if model.service is not None else SERVICE,
            departure_h=model.departure_h,
        )

    def __post_init__(self) -> None:
        if len(self.hourly) != 24 or min(self.hourly) < 0 or sum(self.hourly) <= 0:
            raise ValueError("hourly needs 24 non-negative weights, not all zero")
        if not 1 <= self.lines_per_order <= self.max_lines:
            raise ValueError("lines_per_order must lie between 1 and max_lines")
        if self.lines_per_day <= 0 or self.departure_h <= 0 or not self.service:
            raise ValueError("lines_per_day, departure_h and service must be positive")

    def mean_lines(self, skus: int | None = None) -> float:
        """The mean of the truncated geometric law ``_lines`` draws from (close to
        ``lines_per_order``); an order has at most one line of each of ``skus``."""
        p = self._p()
        ks = np.arange(1, min(self.max_lines, skus or self.max_lines) + 1)
        w = (1 - p) ** (ks - 1)
        return float((ks * w).sum() / w.sum())

    def _p(self) -> float:
        return 1.0 / self.lines_per_order

    def share_between(self, times_s: tuple[float, ...]) -> list[float]:
        """The share of a day's orders that arrives between each of ``times_s`` (seconds of
        the day, ascending) and the next, the last till the first of the next day."""
        cum = np.concatenate([[0.0], np.cumsum(self.hourly)]) / sum(self.hourly)

        def upto(t: float) -> float:  # the share arrived by ``t`` seconds into the day
            h = t / 3600.0
            i = min(int(h), 23)
            return float(cum[i] + (h - i) * (cum[i + 1] - cum[i]))

        marks = [upto(t) for t in times_s]
        return [(b - a) % 1.0 or 1.0 for a, b in zip(marks, [*marks[1:], marks[0]], strict=True)]

    def departure_after(self, t: float) -> float:
        """The first outbound departure at or after ``t`` seconds."""
        step = self.departure_h * 3600.0
        return math.ceil(t / step - 1e-9) * step


@dataclass(frozen=True, slots=True)
class OrderDraw:
    t: float  # seconds from the start
    due: float
    lines: tuple[tuple[str, int], ...]  # (sku, quantity)


def draw_orders(
    demand: Demand,
    skus: Mapping[str, tuple[str, int]],
    days: float,
    rng: np.random.Generator,
) -> list[OrderDraw]:
    """Every order of ``days``, in time order. ``skus`` maps a code to (demand class, units a
    load holds): a line orders one load of a single-unit SKU, else 1 to min(20, a load)."""
    codes = list(skus)
    weights = np.array([CLASS_WEIGHT[skus[c][0]] for c in codes])
    weights = weights / weights.sum()
    hourly = np.asarray(demand.hourly, np.float64)
    cap = min(demand.max_lines, len(codes))
    per_hour = demand.lines_per_day / demand.mean_lines(cap) * hourly / hourly.sum()
    hours, shares = zip(*demand.service, strict=True)
    service_p = np.asarray(shares, np.float64) / sum(shares)
    end = days * DAY_S
    out: list[OrderDraw] = []
    for hour in range(math.ceil(days * 24)):
        n = int(rng.poisson(per_hour[hour % 24]))
        for t in np.sort(rng.uniform(hour * 3600.0, (hour + 1) * 3600.0, n)):
            if t >= end:
                break
            count = _lines(demand, cap, rng)
            chosen = rng.choice(len(codes), size=count, replace=False, p=weights)
            lines = []
            for i in chosen:
                code = codes[int(i)]
                per_load = skus[code][1]
                qty = 1 if per_load == 1 else int(rng.integers(1, min(per_load, 20) + 1))
                lines.append((code, qty))
            lead = float(hours[int(rng.choice(len(hours), p=service_p))]) * 3600.0
            out.append(OrderDraw(float(t), demand.departure_after(t + lead), tuple(lines)))
    return out


def _lines(demand: Demand, cap: int, rng: np.random.Generator) -> int:
    while True:  # a geometric law cut at ``cap`` (redrawn above it)
        k = int(rng.geometric(demand._p()))
        if k <= cap:
            return k


def expected_lines(demand: Demand, skus: Mapping[str, tuple[str, int]]) -> dict[str, float]:
    """Order lines a day each SKU gets on average (orders draw their SKUs by class weight,
    without repeating one in an order; for the stock targets, the plain shares suffice)."""
    total = sum(CLASS_WEIGHT[c] for c, _ in skus.values())
    return {k: demand.lines_per_day * CLASS_WEIGHT[c] / total for k, (c, _) in skus.items()}
