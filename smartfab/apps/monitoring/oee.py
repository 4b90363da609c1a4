"""Overall equipment effectiveness after the time model and KPIs of ISO 22400-2:2014.

Each machine state counts towards one ISO 22400 time:

=================  ===========================  =========================================
state              ISO 22400-2 time             six big losses
=================  ===========================  =========================================
running            APT, actual production time  (reduced speed is lost inside APT)
setup              AUST, actual unit setup      setup and adjustments
idle               ADET, actual unit delay      small stops and idling
unplanned_down     ADOT, actual unit down time  breakdowns
planned_stop, off  PDOT, planned down time      none: not planned to produce
=================  ===========================  =========================================

PBT (planned busy time) = period - PDOT = APT + AUST + ADET + ADOT, and

Planned stops of the plant's work calendar (time outside shifts, breaks, dated stops:
:func:`~smartfab.apps.monitoring.periods.planned_stops`) are planned down time whatever state the
equipment reports then: an idle machine during the lunch break is not a small stop, nor is one left
in setup over the weekend. Only running time stays production time (APT): parts made in a break
were made, and counting their time as PDOT would lift performance above 100 %.

* availability = APT / PBT
* performance (ISO "effectiveness") = ideal cycle time x produced quantity / APT
* quality (ISO "quality ratio") = good quantity / produced quantity
* OEE = availability x performance x quality = ideal cycle time x good quantity / PBT.

OEE is computed by the last form, which is defined whenever PBT > 0 (with no parts produced it is
0, where the product would be 0 x NaN). A KPI whose denominator is zero, e.g. availability when the
period holds no planned busy time or quality when nothing was produced, is NaN: "not defined", never
a division error and never a made-up 0 or 100 %.

The six big losses in seconds partition PBT minus the fully productive time (ideal x good):
breakdowns (ADOT), setup (AUST), small stops (ADET), reduced speed (APT - ideal x produced),
process defects (ideal x scrap outside start-up) and reduced yield (ideal x start-up scrap, i.e.
scrap counted within a configurable time after a setup ends). Reduced speed is negative when the
equipment beats its ideal cycle time, which means the configured ideal is wrong; it is reported as
is rather than hidden. MTBF = APT / failures and MTTR = ADOT / failures, where a failure is a
transition into unplanned down time; a failure counts in the period in which it begins.

Aggregation (:func:`combine`) sums times and quantities, never averages percentages: a line's,
area's or site's figures weight each equipment by its time. Quality sums ideal time (ideal x
quantity) rather than raw parts, because a part of a 10 s machine and one of a 60 s machine are not
worth the same; for one equipment, or machines of equal cycle time, it is the plain good / produced.
With that, OEE = A x P x Q holds for the aggregate too. Periods (shift, day, custom range) are
computed in one pass over columns (:mod:`~smartfab.apps.monitoring.periods`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from smartfab.apps.monitoring.events import event_columns
from smartfab.apps.monitoring.periods import Periods
from smartfab.apps.monitoring.states import StateSeries
from smartfab.platform.points import EventKind, Float64Array, Int64Array

BoolArray = npt.NDArray[np.bool_]
IntpArray = npt.NDArray[np.intp]

_US = 1_000_000
DEFAULT_STARTUP_WINDOW_S = 600.0  # scrap this long after a setup ends counts as start-up reject


class TimeCategory(IntEnum):
    """The ISO 22400-2 time a state counts towards."""

    PRODUCTION = 0  # APT
    SETUP = 1  # AUST
    DELAY = 2  # ADET
    DOWN = 3  # ADOT
    PLANNED_DOWN = 4  # PDOT
    UNKNOWN = 5  # no state known: in no ISO time at all


_N_CATEGORIES = len(TimeCategory)

# The default state names of smartfab.model.plant. Equipment that declares its own state names
# passes its own mapping.
DEFAULT_CATEGORIES: Mapping[str, TimeCategory] = MappingProxyType(
    {
        "running": TimeCategory.PRODUCTION,
        "setup": TimeCategory.SETUP,
        "idle": TimeCategory.DELAY,
        "unplanned_down": TimeCategory.DOWN,
        "planned_stop": TimeCategory.PLANNED_DOWN,
        "off": TimeCategory.PLANNED_DOWN,
    }
)


@dataclass(frozen=True, slots=True)
class PartCounts:
    """Part count events: ``quantity`` parts counted at ``ts``, scrap where ``scrap`` is set."""

    ts: Int64Array
    quantity: Float64Array
    scrap: BoolArray

    @classmethod
    def of(cls, ts: npt.ArrayLike, codes: npt.ArrayLike, quantity: npt.ArrayLike) -> PartCounts:
        """From count events: code "good" or "scrap", value = parts."""
        t = np.atleast_1d(np.asarray(ts, np.int64))
        c = np.atleast_1d(np.asarray(codes, str))
        q = np.atleast_1d(np.asarray(quantity, np.float64))
        if not t.shape == c.shape == q.shape:
            raise ValueError("count events: ts, codes and quantities must be equally long")
        odd = np.setdiff1d(c, ["good", "scrap"])
        if odd.size:
            raise ValueError(f"count events with code {str(odd[0])!r}: expected 'good' or 'scrap'")
        if not np.all(np.isfinite(q)):
            raise ValueError("count events without a finite part quantity")
        return cls(t, q, c == "scrap")

    @classmethod
    def from_events(cls, events: pa.Table) -> PartCounts:
        """From a :meth:`Store.events` table of one equipment (other kinds are ignored)."""
        cols = event_columns(events, EventKind.COUNT)
        return cls.of(cols.ts, cols.code, cols.value)


def _ratio(num: Float64Array, den: Float64Array) -> Float64Array:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


@dataclass(frozen=True, slots=True)
class OeeFigures:
    """Additive times (seconds) and quantities, one entry per period; the KPIs derive from them.

    Arrays of NaN mark KPIs that are not defined in a period (see the module docstring)."""

    periods: Periods
    production_s: Float64Array  # APT
    setup_s: Float64Array  # AUST
    idle_s: Float64Array  # ADET
    down_s: Float64Array  # ADOT
    planned_down_s: Float64Array  # PDOT
    unknown_s: Float64Array  # no state known
    good: Float64Array
    scrap: Float64Array
    startup_scrap: Float64Array  # part of scrap
    ideal_good_s: Float64Array  # ideal cycle x good: the fully productive time
    ideal_scrap_s: Float64Array
    ideal_startup_scrap_s: Float64Array
    failures: Int64Array

    @property
    def planned_busy_s(self) -> Float64Array:
        return self.production_s + self.setup_s + self.idle_s + self.down_s

    @property
    def produced(self) -> Float64Array:
        return self.good + self.scrap

    @property
    def no_data(self) -> BoolArray:
        """Periods of which nothing is known: no time in a known state and no part counted
        (before the first data, or after the store's newest). Their KPIs are NaN for want of
        data, which is a different answer than NaN for want of planned busy time."""
        nothing: BoolArray = (self.planned_busy_s + self.planned_down_s == 0) & (self.produced == 0)
        return nothing

    @property
    def ideal_produced_s(self) -> Float64Array:
        return self.ideal_good_s + self.ideal_scrap_s

    @property
    def availability(self) -> Float64Array:
        return _ratio(self.production_s, self.planned_busy_s)

    @property
    def performance(self) -> Float64Array:
        return _ratio(self.ideal_produced_s, self.production_s)

    @property
    def quality(self) -> Float64Array:
        return _ratio(self.ideal_good_s, self.ideal_produced_s)

    @property
    def oee(self) -> Float64Array:
        return _ratio(self.ideal_good_s, self.planned_busy_s)

    # --- the six big losses, in seconds ---------------------------------------------------
    @property
    def breakdown_loss_s(self) -> Float64Array:
        return self.down_s

    @property
    def setup_loss_s(self) -> Float64Array:
        return self.setup_s

    @property
    def small_stop_loss_s(self) -> Float64Array:
        return self.idle_s

    @property
    def reduced_speed_loss_s(self) -> Float64Array:
        return self.production_s - self.ideal_produced_s

    @property
    def process_defect_loss_s(self) -> Float64Array:
        return self.ideal_scrap_s - self.ideal_startup_scrap_s

    @property
    def reduced_yield_loss_s(self) -> Float64Array:
        return self.ideal_startup_scrap_s

    # --- reliability ------------------------------------------------------------------------
    @property
    def mtbf_s(self) -> Float64Array:
        return _ratio(self.production_s, self.failures.astype(np.float64))

    @property
    def mttr_s(self) -> Float64Array:
        return _ratio(self.down_s, self.failures.astype(np.float64))

    def to_arrow(self) -> pa.Table:
        """Periods, times, quantities, KPIs and losses as one table (a row per period)."""
        ts = pa.timestamp("us", tz="UTC")
        columns: dict[str, pa.Array] = {
            "label": pa.array(self.periods.label, pa.string()),
            "start": pa.array(self.periods.start, pa.int64()).cast(ts),
            "end": pa.array(self.periods.end, pa.int64()).cast(ts),
        }
        derived = [
            "planned_busy_s", "produced", "no_data", "availability", "performance", "quality",
            "oee", "breakdown_loss_s", "setup_loss_s", "small_stop_loss_s", "reduced_speed_loss_s",
            "process_defect_loss_s", "reduced_yield_loss_s", "mtbf_s", "mttr_s",
        ]  # fmt: skip
        for name in [f.name for f in dataclasses.fields(self)[1:]] + derived:
            columns[name] = pa.array(getattr(self, name))
        return pa.table(columns)


def _period_of(periods: Periods, t: Int64Array) -> IntpArray:
    """Index of the period holding each time, -1 for times outside every period."""
    k = np.searchsorted(periods.start, t, side="right") - 1
    inside = (k >= 0) & (t < periods.end[np.maximum(k, 0)])
    return np.where(inside, k, -1)


def _per_period(k: IntpArray, weights: Float64Array, n: int) -> Float64Array:
    inside = k >= 0
    return np.bincount(k[inside], weights=weights[inside], minlength=n).astype(np.float64)


def _category_lut(names: Sequence[str], categories: Mapping[str, TimeCategory]) -> IntpArray:
    """Category of each state code; the extra last entry serves the code -1 (unknown)."""
    unmapped = [n for n in names if n not in categories]
    if unmapped:
        raise ValueError(
            f"state {unmapped[0]!r} has no ISO 22400 time category; known states: "
            f"{', '.join(sorted(categories))} (pass a mapping for equipment-specific states)"
        )
    return np.array([categories[n] for n in names] + [TimeCategory.UNKNOWN], np.intp)


def compute_oee(
    states: StateSeries,
    counts: PartCounts,
    periods: Periods,
    ideal_cycle_s: float,
    *,
    startup_window_s: float = DEFAULT_STARTUP_WINDOW_S,
    categories: Mapping[str, TimeCategory] = DEFAULT_CATEGORIES,
    planned: Periods | None = None,
    known_until: int | None = None,
) -> OeeFigures:
    """OEE figures of one equipment for each period.

    ``states`` may start before the first period: a setup that ended up to ``startup_window_s``
    before a period then still marks the scrap at the period's start as start-up rejects. Counts
    and transitions outside every period are ignored. Within the ``planned`` stops, setup, idle
    and down time count as planned down time (see the module docstring). From ``known_until``
    on (where the data ends) the state is unknown: the last state event says what the equipment
    entered, not that it stayed there after nothing more was recorded.
    """
    if not ideal_cycle_s > 0:
        raise ValueError(f"ideal cycle time {ideal_cycle_s} s: must be positive")
    if startup_window_s < 0:
        raise ValueError(f"start-up window {startup_window_s} s: must not be negative")
    n = len(periods)
    lut = _category_lut(states.names, categories)

    # Time: cut the state history at every period edge, then sum segment lengths per period and
    # category in one bincount.
    inner = states.ts[(states.ts > periods.start[0]) & (states.ts < periods.end[-1])]
    stop_edges = (
        np.empty(0, np.int64) if planned is None else np.concatenate((planned.start, planned.end))
    )
    horizon = np.array([] if known_until is None else [known_until], np.int64)
    bounds = np.unique(np.concatenate((periods.start, periods.end, inner, stop_edges, horizon)))
    bounds = bounds[(bounds >= periods.start[0]) & (bounds <= periods.end[-1])]
    seg_start = bounds[:-1]
    k = _period_of(periods, seg_start)
    seg_cat = lut[states.in_force(seg_start)]
    if planned is not None and len(planned):
        stopped = _period_of(planned, seg_start) >= 0
        lost = np.isin(seg_cat, (TimeCategory.SETUP, TimeCategory.DELAY, TimeCategory.DOWN))
        seg_cat = np.where(stopped & lost, TimeCategory.PLANNED_DOWN, seg_cat)
    if known_until is not None:
        seg_cat = np.where(seg_start >= known_until, TimeCategory.UNKNOWN, seg_cat)
    cell = np.where(k >= 0, k * _N_CATEGORIES + seg_cat, -1)
    seconds = _per_period(cell, np.diff(bounds) / _US, n * _N_CATEGORIES).reshape(n, _N_CATEGORIES)

    # Transitions: every entry of a StateSeries is a change of state name; compare categories.
    cat = lut[states.code]
    before = lut[np.append(np.intp(states.initial), states.code)[:-1]]
    into_down = (cat == TimeCategory.DOWN) & (before != TimeCategory.DOWN)
    kf = _period_of(periods, states.ts[into_down])
    failures = _per_period(kf, np.ones(kf.shape), n).astype(np.int64)
    setup_end = states.ts[(before == TimeCategory.SETUP) & (cat != TimeCategory.SETUP)]

    # Parts: a scrap count is a start-up reject if it falls within the window after the last
    # setup that ended at or before it.
    last_end = np.searchsorted(setup_end, counts.ts, side="right") - 1
    since_us = counts.ts - np.append(setup_end, 0)[last_end]
    startup = counts.scrap & (last_end >= 0) & (since_us < startup_window_s * _US)
    kc = _period_of(periods, counts.ts)
    good = _per_period(kc, np.where(counts.scrap, 0.0, counts.quantity), n)
    scrap = _per_period(kc, np.where(counts.scrap, counts.quantity, 0.0), n)
    startup_scrap = _per_period(kc, np.where(startup, counts.quantity, 0.0), n)

    col = seconds.T
    return OeeFigures(
        periods=periods,
        production_s=col[TimeCategory.PRODUCTION],
        setup_s=col[TimeCategory.SETUP],
        idle_s=col[TimeCategory.DELAY],
        down_s=col[TimeCategory.DOWN],
        planned_down_s=col[TimeCategory.PLANNED_DOWN],
        unknown_s=col[TimeCategory.UNKNOWN],
        good=good,
        scrap=scrap,
        startup_scrap=startup_scrap,
        ideal_good_s=good * ideal_cycle_s,
        ideal_scrap_s=scrap * ideal_cycle_s,
        ideal_startup_scrap_s=startup_scrap * ideal_cycle_s,
        failures=failures,
    )


def oee_from_events(
    events: pa.Table,
    periods: Periods,
    ideal_cycle_s: float,
    initial_state: str | None,
    *,
    startup_window_s: float = DEFAULT_STARTUP_WINDOW_S,
    categories: Mapping[str, TimeCategory] = DEFAULT_CATEGORIES,
    planned: Periods | None = None,
    known_until: int | None = None,
) -> OeeFigures:
    """OEE figures from a :meth:`Store.events` table of one equipment covering the periods, and
    the state in force before its first event (:func:`~.states.state_in_force`)."""
    return compute_oee(
        StateSeries.from_events(events, initial_state),
        PartCounts.from_events(events),
        periods,
        ideal_cycle_s,
        startup_window_s=startup_window_s,
        categories=categories,
        planned=planned,
        known_until=known_until,
    )


def combine(figures: Sequence[OeeFigures]) -> OeeFigures:
    """The figures of a line, area or site from those of its equipment over the same periods:
    times, quantities, ideal times and failures add up; the KPIs follow from the sums."""
    if not figures:
        raise ValueError("combine: no equipment figures given")
    first = figures[0].periods
    for f in figures[1:]:
        same = np.array_equal(f.periods.start, first.start) and np.array_equal(
            f.periods.end, first.end
        )
        if not same:
            raise ValueError("combine: the equipment figures cover different periods")
    sums = {
        f.name: np.sum([getattr(x, f.name) for x in figures], axis=0)
        for f in dataclasses.fields(OeeFigures)[1:]
    }
    return OeeFigures(periods=first, **sums)
