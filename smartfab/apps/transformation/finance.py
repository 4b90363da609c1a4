"""Investment appraisal of a transformation project: yearly cash flows, net present value,
internal rate of return and payback, with and without the subsidies it earns, and their
sensitivity to the benefit estimate (the least certain figure of a business case).

Conventions, as a spreadsheet's NPV with the investment in year 0: flows[t] falls at the end of
year t and is discounted by (1 + rate)^t; the payback is the time until the cumulative
(undiscounted) flow turns non-negative, interpolated within the year."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.optimize import brentq

from smartfab.apps.transformation.data import TransformationError
from smartfab.apps.transformation.subsidies import Programme, grants
from smartfab.platform.store.base import Store

ItemKind = Literal["hardware", "software", "services"]
ProjectType = Literal["digital_workshop", "smart_factory", "equipment", "software", "other"]
Demonstration = Literal["none", "city", "provincial", "national"]
BenefitKind = Literal["oee", "energy", "scrap", "downtime", "labour", "other"]
SENSITIVITY = (0.5, 0.75, 1.0, 1.25, 1.5)  # benefit estimate times these


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CostItem(_Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: ItemKind
    amount: float = Field(gt=0, allow_inf_nan=False)
    qualifying: bool = True  # counts for subsidies paid on its kind
    year: int = Field(default=0, ge=0, le=30)  # when it is paid, from the project's start


class Benefit(_Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: BenefitKind = "other"
    annual: float = Field(allow_inf_nan=False)  # per year, in the project's currency
    # What it rests on, e.g. "OEE 62 % measured over 28 days, +5 points expected".
    basis: str = Field(default="", max_length=500)


class Project(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    name: str = Field(min_length=1, max_length=200)
    type: ProjectType = "other"
    programme: str | None = None  # the subsidy programme applied for (subsidies.yaml)
    demonstration: Demonstration = "none"  # the status it is expected to earn
    start: int = Field(default=2026, ge=1990, le=2100)  # calendar year of year 0
    years: int = Field(default=5, ge=1, le=30)  # benefit years (1..years)
    discount_rate: float = Field(default=0.08, ge=0, le=1)
    subsidy_year: int = Field(default=1, ge=0, le=30)  # when the subsidy is received
    items: list[CostItem] = Field(min_length=1)
    benefits: list[Benefit] = Field(default_factory=list)

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
        return sum(b.annual for b in self.benefits)


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
    return {
        "project": p.model_dump(),
        "cost": p.cost(),
        "annual_benefit": p.annual_benefit,
        "subsidies": granted,
        "subsidy": subsidy,
        "without": figures(p, 0.0),
        "with": figures(p, subsidy),
        "sensitivity": [
            {"factor": k, "without": figures(p, 0.0, k), "with": figures(p, subsidy, k)}
            for k in SENSITIVITY
        ],
    }


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
            self.SETTING, json.dumps([p.model_dump() for p in projects], sort_keys=True)
        )

    def put(self, project: Project) -> None:
        """Add the project, or replace the one with its id."""
        with self._lock:
            self._write([p for p in self.all() if p.id != project.id] + [project])

    def delete(self, project_id: str) -> None:
        with self._lock:
            kept = [p for p in self.all() if p.id != project_id]
            if len(kept) == len(self.all()):
                raise TransformationError(f"no project {project_id!r}")
            self._write(kept)
