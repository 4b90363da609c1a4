"""Gains the platform has measured, as the expected benefit of a transformation project: an
indicator of an asset in a period before a change and in a period after it, read from the store
as the other applications read it, the difference per year, and that in money at the plant
file's prices.

=========  =====================================  ====================  =========================
gain       indicator (before, after)              per year              priced by
=========  =====================================  ====================  =========================
oee        OEE, ISO 22400-2 (apps.monitoring)     more good parts       economics.good_part_margin
energy     kWh per good part (apps.energy)        kWh saved             energy.tariff (its mean
                                                                        price over the after
                                                                        period)
scrap      scrap share of the parts produced      scrapped parts fewer  economics.scrap_cost
downtime   unplanned down time per planned busy   downtime hours fewer  economics.downtime_cost_
           time (breakdowns: what maintenance                           per_hour
           avoids)
=========  =====================================  ====================  =========================

A positive change is a gain. The year follows the after period's rhythm: its quantities per
second of the equipment's known time (time in a known state, planned or not), times a year, so a
period reaching past the store's data is not read as a loss. Each result says what it was
measured on and when; a price the plant file lacks leaves the gain in parts, kWh or hours, with
the field that would price it."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from smartfab.apps.energy.report import energy_report
from smartfab.apps.energy.series import EnergyDataError
from smartfab.apps.monitoring.production import AssetError, AssetFigures, asset_oee
from smartfab.apps.transformation.data import TransformationError
from smartfab.model.plant import Plant
from smartfab.platform.points import now_us
from smartfab.platform.store.base import Store

GainKind = Literal["oee", "energy", "scrap", "downtime"]
GAINS: tuple[GainKind, ...] = ("oee", "energy", "scrap", "downtime")
YEAR_S = 365 * 86_400.0
MAX_SPAN = timedelta(days=400)  # as a request's window: the work grows with it
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
DEFAULT_DAYS = 28.0  # each default period, at most: four weeks before, four weeks after
_US = 1_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _utc(t: datetime) -> datetime:
    return t.astimezone(UTC) if t.tzinfo is not None else t.replace(tzinfo=UTC)


class Period(_Strict):
    """[start, end), ISO 8601 (a time without a zone is UTC)."""

    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _plausible(cls, t: datetime) -> datetime:
        t = _utc(t)
        if not EARLIEST <= t < LATEST:
            raise ValueError(f"a time from {EARLIEST:%Y} to {LATEST:%Y}")
        return t

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError(f"the period must end after it starts ({self.text()})")
        if self.end - self.start > MAX_SPAN:
            raise ValueError(f"a period spans at most {MAX_SPAN.days} days ({self.text()})")
        return self

    @classmethod
    def of_us(cls, start: int, end: int) -> Period:
        return cls(start=datetime.fromtimestamp(start / _US, UTC),
                   end=datetime.fromtimestamp(end / _US, UTC))  # fmt: skip

    @property
    def us(self) -> tuple[int, int]:
        return (round(self.start.timestamp() * _US), round(self.end.timestamp() * _US))

    def text(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M} UTC"


class GainRef(_Strict):
    """What to measure: a gain of the asset at ``path`` (site, area, line, cell or equipment)
    from the ``before`` period to the ``after`` one."""

    gain: GainKind
    path: str = Field(min_length=1, max_length=500)
    before: Period
    after: Period

    @model_validator(mode="after")
    def _before_first(self) -> Self:
        if self.after.start < self.before.end:
            raise ValueError(
                f"the before period ({self.before.text()}) must end by the start of the after "
                f"period ({self.after.text()})"
            )
        return self

    def key(self) -> tuple[str, str, int, int, int, int]:
        return (self.gain, self.path.strip("/"), *self.before.us, *self.after.us)


class GainResult(_Strict):
    """What was measured. ``before``/``after``: the indicator (a share for OEE, scrap and
    downtime, kWh per good part for energy); ``change``: the gain in the indicator (positive is
    better); ``quantity``: the gain per year in ``unit``; ``annual``: it in money, None without
    a price."""

    before: float
    after: float
    change: float
    quantity: float
    unit: Literal["parts", "kWh", "h"]
    price: float | None
    price_from: str  # the plant-file field the price comes from
    currency: str | None
    annual: float | None
    known_days: float  # the after period's known time, in days: what the year scales
    measured_at: datetime
    source: str  # what was read, in English


class Measured(GainRef):
    """A project benefit's measured gain: the reference, and what the server measured (the
    server fills ``result``; a result sent in a request is ignored)."""

    result: GainResult | None = None

    def ref(self) -> GainRef:
        return GainRef(gain=self.gain, path=self.path, before=self.before, after=self.after)


def default_periods(plant: Plant, store: Store, path: str) -> tuple[Period, Period]:
    """Two adjacent periods ending at the asset's newest data, each half of its data's span, at
    most :data:`DEFAULT_DAYS`: what a page proposes before a person sets the dates of the
    change."""
    prefix = path.strip("/")
    mine = {s.path for s in plant.iter_signals()
            if s.path.startswith(prefix + "/") or s.path.rsplit("/", 1)[0] == prefix}  # fmt: skip
    ids = [s.id for s in store.signals() if s.path in mine]
    if not ids:
        raise TransformationError(f"no signal of {path!r} is in the store")
    first = store.earliest(ids).column("ts")
    last = store.latest(ids).column("ts")
    if not len(first) or not len(last):
        raise TransformationError(f"the store holds no data of {path!r}")
    oldest = int(np.min(first.cast("int64").to_numpy()))
    newest = int(np.max(last.cast("int64").to_numpy()))
    minute = 60 * _US
    half = min(int(DEFAULT_DAYS * 86_400 * _US), (newest - oldest) // 2) // minute * minute
    if half <= 0:
        raise TransformationError(f"the store holds less than two minutes of {path!r}")
    # The newest whole minute: a period reaching into the minute still being written would
    # measure something else each time it is measured.
    end = newest // minute * minute
    return Period.of_us(end - 2 * half, end - half), Period.of_us(end - half, end)


def _oee(plant: Plant, store: Store, path: str, period: Period, now: int) -> AssetFigures:
    try:
        return asset_oee(store, plant, path, *period.us, "range", now)
    except AssetError as exc:
        raise TransformationError(f"{path}, {period.text()}: {exc}") from None


def _known_s(f: AssetFigures) -> float:
    """The mean known time of the equipment that has any, seconds."""
    known = [float(e.planned_busy_s[0] + e.planned_down_s[0]) for e in f.equipment.values()]
    known = [k for k in known if k > 0]
    return sum(known) / len(known) if known else 0.0


def _shares(
    ref: GainRef, before: tuple[float, float], after: tuple[float, float], what: str, why: str
) -> tuple[float, float]:
    """numerator / denominator of each period, refused where the denominator is nothing."""
    out = []
    for (num, den), period, which in ((before, ref.before, "before"), (after, ref.after, "after")):
        if not den > 0:
            raise TransformationError(f"no {what} in the {which} period ({period.text()}): {why}")
        out.append(num / den)
    return out[0], out[1]


def measure(plant: Plant, store: Store, ref: GainRef, now: int | None = None) -> GainResult:
    """The gain of ``ref`` as the store holds it."""
    now = now_us() if now is None else now
    b = _oee(plant, store, ref.path, ref.before, now)
    a = _oee(plant, store, ref.path, ref.after, now)
    known = _known_s(a)
    if known <= 0:
        raise TransformationError(
            f"{ref.path}: no equipment state is known in the after period ({ref.after.text()})"
        )
    year = YEAR_S / known  # the after period's quantities times this: a year of them
    fb, fa = b.figures, a.figures
    busy_b, busy_a = float(fb.planned_busy_s[0]), float(fa.planned_busy_s[0])
    economics = plant.economics
    currency = economics.currency if economics is not None else None
    price: float | None
    unit: Literal["parts", "kWh", "h"]
    source = f"store: OEE figures (ISO 22400-2) of {ref.path}"
    if ref.gain == "oee":
        before, after = _shares(
            ref, (float(fb.ideal_good_s[0]), busy_b), (float(fa.ideal_good_s[0]), busy_a), "OEE",
            "no planned busy time or no part counted",
        )  # fmt: skip
        # More good parts in the same planned time: the gain in fully productive seconds, as
        # parts at the cycle the parts were made at.
        ideal_s = float(fb.ideal_good_s[0] + fa.ideal_good_s[0])
        per_ideal_s = float(fb.good[0] + fa.good[0]) / ideal_s if ideal_s > 0 else 0.0
        change = after - before
        quantity, unit = change * busy_a * year * per_ideal_s, "parts"
        price_from = "economics.good_part_margin"
        price = economics.good_part_margin if economics is not None else None
    elif ref.gain == "scrap":
        before, after = _shares(
            ref, (float(fb.scrap[0]), float(fb.produced[0])),
            (float(fa.scrap[0]), float(fa.produced[0])), "part", "no part counted",
        )  # fmt: skip
        change = before - after
        quantity, unit = change * float(fa.produced[0]) * year, "parts"
        price_from = "economics.scrap_cost"
        price = economics.scrap_cost if economics is not None else None
    elif ref.gain == "downtime":
        before, after = _shares(
            ref, (float(fb.down_s[0]), busy_b), (float(fa.down_s[0]), busy_a),
            "planned busy time", "the equipment was in planned stops or unknown states only",
        )  # fmt: skip
        change = before - after
        quantity, unit = change * busy_a * year / 3600, "h"
        price_from = "economics.downtime_cost_per_hour"
        price = economics.downtime_cost_per_hour if economics is not None else None
    else:  # energy
        try:
            eb = energy_report(store, plant, ref.path, *ref.before.us)
            ea = energy_report(store, plant, ref.path, *ref.after.us)
        except (AssetError, EnergyDataError) as exc:
            raise TransformationError(f"{ref.path}: {exc}") from None
        before, after = _shares(ref, (eb.kwh, eb.good), (ea.kwh, ea.good), "good part",
                                "no good part counted where energy is metered")  # fmt: skip
        change = before - after
        quantity, unit = change * ea.good * year, "kWh"
        price_from = "energy.tariff"
        # The tariff's energy charge over the after period's load, per kWh: its mean price as
        # this asset draws it (the demand charge follows the peak, not the kWh).
        price = ea.cost.energy / ea.kwh if ea.cost is not None and ea.kwh > 0 else None
        currency = ea.cost.currency if ea.cost is not None else currency
        source = f"store: energy meters and good-part counters of {ref.path}"
    annual = None if price is None else quantity * price
    if not all(math.isfinite(x) for x in (before, after, quantity)):
        raise TransformationError(f"{ref.path}: the {ref.gain} figures are not finite")
    return GainResult(
        before=before, after=after, change=change, quantity=quantity, unit=unit,
        price=price, price_from=price_from, currency=currency if price is not None else None,
        annual=annual, known_days=known / 86_400,
        measured_at=datetime.fromtimestamp(now / _US, UTC), source=source,
    )  # fmt: skip
