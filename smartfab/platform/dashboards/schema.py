"""A dashboard as a document: JSON with a schema version of its own, validated with pydantic,
the same whether it is stored, exported to a file or imported from one.

A dashboard holds its time range and refresh, a few variables (a line, an equipment, picked on
the dashboard) and a grid of panels, each of one type (:data:`PANEL_TYPES`) with a width in
twelfths of the grid and a height in rows. Panels name signals and assets by their path; a step
of a path may be a variable, ``${equipment}/spindle_power``, which the viewer's pick replaces.

Every problem is reported on its field (``panels.3``, ``panels.0.trend.signals.1.path``): a file
of another version gets only the version's error, a panel of an unknown type names the type and
the known ones, an unknown field or a variable used before it is declared names where."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

VERSION = 1  # of the document; a change that older servers would misread raises it
MAX_PANELS = 40
MAX_TREND_SIGNALS = 12

_NAME = r"[a-z][a-z0-9_]{0,31}"
_STEP = rf"(?:\$\{{{_NAME}\}}|[a-z0-9][a-z0-9_-]{{0,62}})"
# A signal or asset path whose steps may be variables: shenyang/machining/${line}/...
Ref = Annotated[str, StringConstraints(pattern=rf"^{_STEP}(?:/{_STEP})*$", max_length=400)]
# An asset path without variables (a variable's default).
Path = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*(?:/[a-z0-9][a-z0-9_-]*)*$", max_length=400),
]
Name = Annotated[str, StringConstraints(pattern=rf"^{_NAME}$")]
PanelId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
Title = Annotated[str, StringConstraints(max_length=120)]
Level = Literal["normal", "warning", "alarm"]
VARIABLE = re.compile(rf"\$\{{({_NAME})\}}")
Problem = tuple[tuple[str | int, ...], PydanticCustomError, Any]  # where, what, the value given


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Panel(_Doc):
    id: PanelId = Field(description="Unique in the dashboard")
    title: Title = ""
    w: int = Field(default=6, ge=1, le=12, description="Width in twelfths of the grid")
    h: int = Field(default=4, ge=2, le=12, description="Height in rows of the grid")


class TrendSignal(_Doc):
    path: Ref
    axis: str = Field(
        default="", max_length=40, description="Signals with the same axis share it; empty: one "
        "axis per unit",
    )  # fmt: skip


class TrendPanel(_Panel):
    """Several signals over time, each unit (or named axis) on an axis of its own, with the
    faults and alarms of their equipment as markers."""

    type: Literal["trend"]
    signals: list[TrendSignal] = Field(min_length=1, max_length=MAX_TREND_SIGNALS)
    markers: bool = True


class Threshold(_Doc):
    value: float = Field(allow_inf_nan=False)
    level: Level


class ValuePanel(_Panel):
    """The newest value of one signal, coloured by thresholds: ``base`` below the first, each
    threshold's level from its value up."""

    type: Literal["value"]
    signal: Ref
    base: Level = "normal"
    thresholds: list[Threshold] = Field(default_factory=list, max_length=10)
    decimals: int | None = Field(default=None, ge=0, le=6)

    @field_validator("thresholds")
    @classmethod
    def _ascending(cls, v: list[Threshold]) -> list[Threshold]:
        values = [t.value for t in v]
        if values != sorted(values) or len(set(values)) != len(values):
            raise ValueError(f"thresholds must ascend, each value once: {values}")
        return v


class TimelinePanel(_Panel):
    type: Literal["timeline"]
    equipment: list[Ref] = Field(min_length=1, max_length=30)


class OeePanel(_Panel):
    type: Literal["oee"]
    path: Ref


class AlarmsPanel(_Panel):
    type: Literal["alarms"]
    under: Ref


class SpcPanel(_Panel):
    type: Literal["spc"]
    signal: Ref
    chart: Literal["xbar_r", "xbar_s", "imr"] = "imr"
    n: int | None = Field(default=None, ge=2, le=25, description="Subgroup size; none: chosen")


class LossesPanel(_Panel):
    type: Literal["losses"]
    path: Ref
    style: Literal["bar", "pie"] = "bar"


class TablePanel(_Panel):
    type: Literal["table"]
    signals: list[Ref] = Field(min_length=1, max_length=50)


class TextPanel(_Panel):
    type: Literal["text"]
    text: str = Field(max_length=4000)


PANELS: dict[str, type[_Panel]] = {
    "trend": TrendPanel,
    "value": ValuePanel,
    "timeline": TimelinePanel,
    "oee": OeePanel,
    "alarms": AlarmsPanel,
    "spc": SpcPanel,
    "losses": LossesPanel,
    "table": TablePanel,
    "text": TextPanel,
}
PANEL_TYPES = tuple(PANELS)


def _known_type(v: Any) -> Any:
    """The panel's type, checked before the panel: the error names it and the known ones."""
    if isinstance(v, dict) and v.get("type") not in PANELS:
        raise PydanticCustomError(
            "dashboard_panel_type",
            "panel type '{type}' is unknown: known are {known}",
            {"type": str(v.get("type", "")), "known": ", ".join(PANEL_TYPES)},
        )
    return v


AnyPanel = (
    TrendPanel | ValuePanel | TimelinePanel | OeePanel | AlarmsPanel | SpcPanel | LossesPanel
    | TablePanel | TextPanel
)  # fmt: skip
Panel = Annotated[Annotated[AnyPanel, Discriminator("type")], BeforeValidator(_known_type)]


class Variable(_Doc):
    """A line or an equipment picked on the dashboard; ``${name}`` in a path stands for it."""

    name: Name
    kind: Literal["line", "equipment"]
    default: Path
    under: Ref | Literal[""] = Field(
        default="", description="Equipment: only below this asset (may name an earlier variable)"
    )


class TimeSettings(_Doc):
    span_s: int = Field(default=8 * 3600, ge=60, le=366 * 86400, description="Range shown")
    refresh_s: int = Field(default=30, ge=0, le=3600, description="0: never; else at least 5")

    @field_validator("refresh_s")
    @classmethod
    def _often(cls, v: int) -> int:
        if 0 < v < 5:
            raise ValueError(f"refresh every {v} s: 0 (never) or at least 5 s")
        return v


class Dashboard(_Doc):
    version: int = Field(description=f"Of the document's schema: {VERSION}")
    title: Title = Field(min_length=1)
    description: str = Field(default="", max_length=2000)
    variables: list[Variable] = Field(default_factory=list, max_length=6)
    time: TimeSettings = Field(default_factory=TimeSettings)
    panels: list[Panel] = Field(default_factory=list, max_length=MAX_PANELS)

    @model_validator(mode="wrap")
    @classmethod
    def _version_first(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Dashboard:
        # A document of another version is not read at all: its other fields would only add
        # errors that say nothing about what is wrong.
        if isinstance(data, dict) and data.get("version") != VERSION:
            v = data.get("version")
            raise invalid([(("version",), _version_error(v), v)])
        done: Dashboard = handler(data)
        return done

    @model_validator(mode="after")
    def _consistent(self) -> Dashboard:
        problems: list[Problem] = []
        seen: set[str] = set()
        for i, p in enumerate(self.panels):
            if p.id in seen:
                problems.append(
                    (
                        ("panels", i, "id"),
                        _error(
                            "dashboard_duplicate_panel", "panel id '{id}' is used twice", id=p.id
                        ),
                        p.id,
                    )
                )
            seen.add(p.id)  # fmt: skip
        declared: set[str] = set()
        for i, var in enumerate(self.variables):
            if var.name in declared:
                problems.append((("variables", i, "name"), _error(
                    "dashboard_duplicate_variable", "variable '{name}' is declared twice",
                    name=var.name), var.name))  # fmt: skip
            for name in VARIABLE.findall(var.under):
                if name not in declared:
                    problems.append((("variables", i, "under"), _undeclared(name), var.under))
            declared.add(var.name)
        for ref in references(self):
            if ref.field[0] == "variables":
                continue
            for name in VARIABLE.findall(ref.path):
                if name not in declared:
                    problems.append((ref.field, _undeclared(name), ref.path))
        if problems:
            raise invalid(problems)
        return self


def _error(kind: str, message: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message, ctx)


def _version_error(v: Any) -> PydanticCustomError:
    return _error(
        "dashboard_version",
        "dashboard version {version}: this server reads version {reads}",
        version="none" if v is None else str(v), reads=VERSION,
    )  # fmt: skip


def _undeclared(name: str) -> PydanticCustomError:
    return _error(
        "dashboard_variable", "variable '{name}' is not declared before its use", name=name
    )


def invalid(problems: list[Problem]) -> ValidationError:
    """A validation error with each problem on its field."""
    return ValidationError.from_exception_data(
        "Dashboard",
        [InitErrorDetails(type=error, loc=loc, input=value) for loc, error, value in problems],
    )


# --- what a dashboard names ---------------------------------------------------------------------

Want = Literal["signal", "number", "equipment", "line", "asset"]


@dataclass(frozen=True, slots=True)
class Reference:
    """A path a dashboard names: where (as a validation error's location), the path as written
    (with variables), and what it must name: any signal, a number signal, an equipment, a line or
    any asset."""

    field: tuple[str | int, ...]
    path: str
    want: Want


def references(doc: Dashboard) -> Iterator[Reference]:
    for i, var in enumerate(doc.variables):
        yield Reference(("variables", i, "default"), var.default, var.kind)
        if var.under:
            yield Reference(("variables", i, "under"), var.under, "asset")
    for i, p in enumerate(doc.panels):
        at: tuple[str | int, ...] = ("panels", i, p.type)  # as pydantic places a panel's fields
        yield from panel_references(p, at)


def panel_references(p: _Panel, at: tuple[str | int, ...] = ()) -> Iterator[Reference]:
    if isinstance(p, TrendPanel):
        for j, line in enumerate(p.signals):
            yield Reference((*at, "signals", j, "path"), line.path, "number")
    elif isinstance(p, ValuePanel):
        yield Reference((*at, "signal"), p.signal, "signal")
    elif isinstance(p, SpcPanel):
        yield Reference((*at, "signal"), p.signal, "number")
    elif isinstance(p, TimelinePanel):
        for j, e in enumerate(p.equipment):
            yield Reference((*at, "equipment", j), e, "equipment")
    elif isinstance(p, OeePanel | LossesPanel):
        yield Reference((*at, "path"), p.path, "asset")
    elif isinstance(p, AlarmsPanel):
        yield Reference((*at, "under"), p.under, "asset")
    elif isinstance(p, TablePanel):
        for j, path in enumerate(p.signals):
            yield Reference((*at, "signals", j), path, "signal")


def resolve(path: str, values: dict[str, str]) -> str:
    """``path`` with each variable replaced by its value."""
    return VARIABLE.sub(lambda m: values[m.group(1)], path)


def keep_items(p: _Panel, keep: Callable[[str], bool]) -> _Panel | None:
    """The panel with only the paths ``keep`` accepts: a panel of several signals or equipment
    loses those it does not, any other panel is kept whole or not at all (None)."""
    if isinstance(p, TrendPanel):
        signals = [s for s in p.signals if keep(s.path)]
        return p.model_copy(update={"signals": signals}) if signals else None
    if isinstance(p, TimelinePanel):
        equipment = [e for e in p.equipment if keep(e)]
        return p.model_copy(update={"equipment": equipment}) if equipment else None
    if isinstance(p, TablePanel):
        table = [s for s in p.signals if keep(s)]
        return p.model_copy(update={"signals": table}) if table else None
    return p if all(keep(r.path) for r in panel_references(p, ())) else None
