"""Subsidy programmes as rules (``data/subsidies.yaml``, overridable per plant): a share of the
contract amount or of the qualifying hardware, software or services, with an optional cap, or a
fixed award for a demonstration status. :func:`grants` applies a programme's rules to a project."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from smartfab.apps.transformation.data import load_model
from smartfab.apps.transformation.maturity import Text


class Funded(Protocol):
    """What a programme's rules read of a project (finance.Project), so that the rules need
    not know the finance module that applies them."""

    @property
    def type(self) -> str: ...

    @property
    def demonstration(self) -> str: ...

    def cost(self, kind: Any = None, qualifying: bool = False) -> float: ...


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    id: str
    name: Text
    project_types: list[str] | None = None  # None: every type of project
    basis: Literal["contract", "hardware", "software", "services", "award"]
    rate: float | None = Field(default=None, gt=0, le=1)
    cap: float | None = Field(default=None, gt=0)
    awards: dict[Literal["city", "provincial", "national"], float] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Rule:
        if self.basis == "award" and not self.awards:
            raise ValueError(f"rule {self.id}: an award rule needs awards by status")
        if self.basis != "award" and self.rate is None:
            raise ValueError(f"rule {self.id}: a {self.basis} rule needs a rate")
        return self


class Programme(_Strict):
    id: str
    name: Text
    currency: str = "CNY"
    source: Text
    rules: list[Rule] = Field(min_length=1)


class Programmes(_Strict):
    programmes: list[Programme]


def programmes(folder: Path | None = None) -> list[Programme]:
    return load_model("subsidies.yaml", Programmes, folder).programmes


def grants(project: Funded, programme: Programme) -> list[dict[str, Any]]:
    """What each rule of ``programme`` pays for ``project``: the basis, the rate, the amount and
    whether the cap bound it (rules that do not apply are left out)."""
    out = []
    for rule in programme.rules:
        if rule.project_types is not None and project.type not in rule.project_types:
            continue
        if rule.basis == "award":
            assert rule.awards is not None  # validated
            status = project.demonstration
            if status == "none" or status not in rule.awards:
                continue
            out.append({"rule": rule.id, "name": rule.name.model_dump(), "basis": 0.0,
                        "rate": None, "amount": float(rule.awards[status]), "capped": False,
                        "status": status})  # fmt: skip
            continue
        basis = (
            project.cost() if rule.basis == "contract"
            else project.cost(rule.basis, qualifying=True)
        )  # fmt: skip
        if basis <= 0:
            continue
        assert rule.rate is not None  # validated
        amount = basis * rule.rate
        capped = rule.cap is not None and amount > rule.cap
        if rule.cap is not None:
            amount = min(amount, rule.cap)
        out.append({"rule": rule.id, "name": rule.name.model_dump(), "basis": basis,
                    "rate": rule.rate, "amount": amount,
                    "capped": capped, "status": None})  # fmt: skip
    return out
