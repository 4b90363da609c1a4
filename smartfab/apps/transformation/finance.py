"""Investment appraisal of a transformation project: yearly cash flows, net present value,
internal rate of return and payback, with and without the subsidies it earns, and their
sensitivity to the benefit estimate (the least certain figure of a business case).

Conventions, as a spreadsheet's NPV with the investment in year 0: flows[t] falls at the end of
year t and is discounted by (1 + rate)^t; the payback is the time until the cumulative
(undiscounted) flow turns non-negative, interpolated within the year.

A benefit may rest on a gain the platform measured (:mod:`.gains`): :func:`resolve` measures it
and makes it the benefit's figure unless the manager gave another, which then needs a basis
saying why; the appraisal shows both, and the figures at the measured gains beside the
manager's."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.optimize import brentq

from smartfab.apps.transformation.data import TransformationError
from smartfab.apps.transformation.gains import GainResult, Measured, measure
from smartfab.apps.transformation.subsidies import Programme, grants
from smartfab.model.plant import Plant
from smartfab.platform.store.base import Store

ItemKind = Literal["hardware", "software", "services"]
ProjectType = Literal["digital_workshop", "smart_factory", "equipment", "software", "other"]
Demonstration = Literal["none", "city", "provincial", "national"]
BenefitKind = Literal["oee", "energy", "scrap", "downtime", "labour", "other"]
SENSITIVITY = (0.5, 0.75, 1.0, 1.25, 1.5)  # benefit estimate times these
# The largest amount a project may name: a trillion times more than any plant spends, and far
# enough below a float's range that sums and discounting stay finite.
MAX_AMOUNT = 1e15
MAX_PROJECTS = 200  # each one is appraised whenever the projects are listed
# A figure within this of the measured one is the measured one (rounding in a form).
SAME = 0.5
# Names and reasons go into the summary's PDF and XLSX, which cannot hold control characters.
_WORDS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CostItem(_Strict):
    name: str = Field(min_length=1, max_length=200, pattern=_WORDS)
    kind: ItemKind
    amount: float = Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False)
    qualifying: bool = True  # counts for subsidies paid on its kind
    year: int = Field(default=0, ge=0, le=30)  # when it is paid, from the project's start


class Benefit(_Strict):
    name: str = Field(min_length=1, max_length=200, pattern=_WORDS)
    kind: BenefitKind = "other"
    # Per year, in the project's currency; None: the measured gain's (resolve fills it in).
    annual: float | None = Field(default=None, ge=-MAX_AMOUNT, le=MAX_AMOUNT, allow_inf_nan=False)
    # What it rests on, e.g. "OEE 62 % measured over 28 days, +5 points expected"; why, when
    # the figure is not the measured one.
    basis: str = Field(default="", max_length=500, pattern=_WORDS)
    measured: Measured | None = None  # the gain the platform measured, that it rests on

    @model_validator(mode="after")
    def _figure(self) -> Benefit:
        if self.annual is None and self.measured is None:
            raise ValueError(f"benefit {self.name!r}: give its annual figure, or measure it")
        if self.measured is not None and self.measured.gain != self.kind:
            raise ValueError(
                f"benefit {self.name!r}: kind {self.kind}, but its measured gain is "
                f"{self.measured.gain}"
            )
        return self

    @property
    def measured_annual(self) -> float | None:
        r = self.measured.result if self.measured is not None else None
        return r.annual if r is not None else None

    @property
    def overridden(self) -> bool:
        """The manager's figure is not the measured one."""
        m = self.measured_annual
        return m is not None and self.annual is not None and abs(self.annual - m) > SAME


class Project(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    name: str = Field(min_length=1, max_length=200, pattern=_WORDS)
    type: ProjectType = "other"
    programme: str | None = None  # the subsidy programme applied for (subsidies.yaml)
    demonstration: Demonstration = "none"  # the status it is expected to earn
    start: int = Field(default=2026, ge=1990, le=2100)  # calendar year of year 0
    years: int = Field(default=5, ge=1, le=30)  # benefit years (1..years)
    discount_rate: float = Field(default=0.08, ge=0, le=1)
    subsidy_year: int = Field(default=1, ge=0, le=30)  # when the subsidy is received
    # Bounded: a benefit measured is a reading of the store, and every one is appraised.
    items: list[CostItem] = Field(min_length=1, max_length=200)
    benefits: list[Benefit] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _within(self) -> Project:
        late = [i.name for i in self.items if i.year > self.years]
        if late:
            raise ValueError(f"items paid after the last benefit year {self.years}: {late}")
        if self.subsidy_year > self.years:
            raise ValueError(f"subsidy_year {self.subsidy_year} after the last year {self.years}")
        return self

    def cost(self, kind: ItemKind | None = None, qualifying: bool = False) -> float:
        return sum(
            i.amount for i in self.items
            if (kind is None or i.kind == kind) and (i.qualifying or not qualifying)
        )  # fmt: skip

    @property
    def annual_benefit(self) -> float:
        missing = [b.name for b in self.benefits if b.annual is None]
        if missing:
            raise TransformationError(f"project {self.id}: benefits not yet measured: {missing}")
        return sum(b.annual for b in self.benefits if b.annual is not None)

    def at_measured(self) -> Project:
        """The project with each measured benefit at its measured figure."""
        return self.model_copy(update={"benefits": [
            b.model_copy(update={"annual": b.measured_annual}) if b.overridden else b
            for b in self.benefits]})  # fmt: skip


def resolve(p: Project, plant: Plant, store: Store, stored: Project | None = None) -> Project:
    """The project with each measured benefit's result and figure: the result kept with the
    stored project when its reference is unchanged, else measured now; the figure the measured
    one unless the manager gave another, which then needs a basis saying why."""
    kept: dict[tuple[Any, ...], GainResult] = {}
    for b in stored.benefits if stored is not None else []:
        if b.measured is not None and b.measured.result is not None:
            kept[b.measured.key()] = b.measured.result
    benefits = []
    for b in p.benefits:
        if b.measured is None:
            benefits.append(b)
            continue
        ref = b.measured.ref()
        try:
            result = kept.get(ref.key()) or measure(plant, store, ref)
        except TransformationError as exc:
            raise TransformationError(f"benefit {b.name!r}: {exc}") from None
        annual = b.annual
        if annual is None:
            if result.annual is None:
                raise TransformationError(
                    f"benefit {b.name!r}: the plant file has no {result.price_from} to price "
                    f"{result.quantity:,.0f} {result.unit} a year: give the benefit's annual "
                    "figure, or add the price (docs/plant-file.md#economics)"
                )
            annual = round(result.annual, 2)
        elif (
            result.annual is not None and abs(annual - result.annual) > SAME
            and not b.basis.strip()
        ):  # fmt: skip
            raise TransformationError(
                f"benefit {b.name!r}: {annual:,.0f} a year overrides the measured "
                f"{result.annual:,.0f}: say why in its basis"
            )
        done = Measured(**ref.model_dump(), result=result)
        benefits.append(b.model_copy(update={"annual": annual, "measured": done}))
    return p.model_copy(update={"benefits": benefits})


def npv(rate: float, flows: Sequence[float]) -> float:
    return sum(f / (1 + rate) ** t for t, f in enumerate(flows))


def irr(flows: Sequence[float]) -> float | None:
    """The rate at which the NPV is zero; None when there is none between -99 % and 1000 %
    (a project that never pays back, or one with no outlay)."""
    low, high = -0.99, 10.0
    a, b = npv(low, flows), npv(high, flows)
    # Signs compared, not multiplied: the product of two tiny values underflows to zero.
    if not (math.isfinite(a) and math.isfinite(b)) or a == 0 or b == 0 or (a > 0) == (b > 0):
        return None
    return float(brentq(lambda r: npv(r, flows), low, high, xtol=1e-12))


def payback(flows: Sequence[float]) -> float | None:
    """Years until the cumulative flow is no longer negative; None if it never is."""
    total = 0.0
    for t, f in enumerate(flows):
        before = total
        total += f
        if total >= 0 and (t > 0 or f >= 0):
            return float(t) if f == 0 or before >= 0 else t - 1 + (-before / f)
    return None


def flows(p: Project, subsidy: float = 0.0, factor: float = 1.0) -> list[float]:
    """Cash flow of each year 0..years: minus the items paid, plus the benefit (times
    ``factor``) from year 1, plus the subsidy in its year."""
    out = [0.0] * (p.years + 1)
    for i in p.items:
        out[i.year] -= i.amount
    for t in range(1, p.years + 1):
        out[t] += p.annual_benefit * factor
    out[p.subsidy_year] += subsidy
    return out


def figures(p: Project, subsidy: float, factor: float = 1.0) -> dict[str, Any]:
    f = flows(p, subsidy, factor)
    r = irr(f)
    return {
        "flows": [round(x, 2) for x in f],
        "npv": round(npv(p.discount_rate, f), 2),
        "irr": None if r is None else round(r, 6),
        "payback_years": None if (pb := payback(f)) is None else round(pb, 3),
    }


def appraise(p: Project, programmes: Sequence[Programme]) -> dict[str, Any]:
    """The project's subsidies under its programme, and its figures without and with them, at
    the benefit estimate and at each sensitivity factor."""
    granted: list[dict[str, Any]] = []
    if p.programme is not None:
        match = [g for g in programmes if g.id == p.programme]
        if not match:
            known = ", ".join(g.id for g in programmes)
            raise TransformationError(
                f"project {p.id}: no subsidy programme {p.programme!r} ({known})"
            )
        granted = grants(p, match[0])
    subsidy = sum(g["amount"] for g in granted)
    currency = next((g.currency for g in programmes if g.id == p.programme), None)
    for b in p.benefits:
        r = b.measured.result if b.measured is not None else None
        if currency and r is not None and r.currency and r.currency != currency:
            raise TransformationError(
                f"project {p.id}: benefit {b.name!r} is measured in {r.currency}, the "
                f"programme {p.programme} pays in {currency}"
            )
    out = {
        "project": p.model_dump(mode="json"),
        "cost": p.cost(),
        "annual_benefit": p.annual_benefit,
        "benefits": [
            {"name": b.name, "kind": b.kind, "annual": b.annual, "measured": b.measured_annual,
             "overridden": b.overridden}
            for b in p.benefits
        ],
        "warnings": warnings(p),
        "subsidies": granted,
        "subsidy": subsidy,
        "without": figures(p, 0.0),
        "with": figures(p, subsidy),
        "sensitivity": [
            {"factor": k, "without": figures(p, 0.0, k), "with": figures(p, subsidy, k)}
            for k in SENSITIVITY
        ],
    }  # fmt: skip
    if any(b.overridden for b in p.benefits):
        m = p.at_measured()
        out["at_measured"] = {"annual_benefit": m.annual_benefit, "without": figures(m, 0.0),
                              "with": figures(m, subsidy)}  # fmt: skip
    return out


# OEE counts the time lost to breakdowns (availability) and the parts scrapped (quality): a
# project claiming an OEE gain and a downtime or scrap gain of the same asset counts them twice.
_WITHIN_OEE = ("downtime", "scrap")


def warnings(p: Project) -> list[dict[str, Any]]:
    """What a reader of the appraisal should know about its benefits: measured gains that
    overlap (each: code, the benefits, the asset)."""
    out = []
    oee = [b for b in p.benefits if b.measured is not None and b.measured.gain == "oee"]
    for o in oee:
        assert o.measured is not None
        for b in p.benefits:
            m = b.measured
            if m is not None and m.gain in _WITHIN_OEE and _overlap(o.measured.path, m.path):
                out.append({"code": f"oee_counts_{m.gain}", "benefits": [o.name, b.name],
                            "path": m.path})  # fmt: skip
    return out


def _overlap(a: str, b: str) -> bool:
    a, b = a.strip("/") + "/", b.strip("/") + "/"
    return a.startswith(b) or b.startswith(a)


class ProjectBook:
    """The plant's transformation projects by id, in the store's settings."""

    SETTING = "transformation.projects"

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()

    def all(self) -> list[Project]:
        raw = self.store.get_setting(self.SETTING)
        return [Project.model_validate(p) for p in json.loads(raw)] if raw else []

    def get(self, project_id: str) -> Project:
        for p in self.all():
            if p.id == project_id:
                return p
        raise TransformationError(f"no project {project_id!r}")

    def _write(self, projects: list[Project]) -> None:
        self.store.set_setting(
            self.SETTING,
            json.dumps([p.model_dump(mode="json") for p in projects], sort_keys=True),
        )

    def put(self, project: Project) -> None:
        """Add the project, or replace the one with its id."""
        with self._lock:
            kept = [p for p in self.all() if p.id != project.id]
            if len(kept) >= MAX_PROJECTS:
                raise TransformationError(
                    f"the plant has {len(kept)} projects, the most it keeps: remove one first"
                )
            self._write([*kept, project])

    def delete(self, project_id: str) -> None:
        with self._lock:
            kept = [p for p in self.all() if p.id != project_id]
            if len(kept) == len(self.all()):
                raise TransformationError(f"no project {project_id!r}")
            self._write(kept)
