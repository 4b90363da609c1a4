"""What a dashboard's paths name in the plant, and what of a dashboard a caller may see.

A dashboard is saved only when every path it names (variables replaced by their defaults) is a
signal or asset of the kind its field needs, lies in the part of the plant of whoever saves it
and, when it is shared with a part of the plant, in that part. A caller limited to part of the
plant reads a dashboard without what lies outside it: panels of several signals lose those,
other panels go, a variable whose default lies outside takes the first line or equipment of the
caller's part instead. What a panel fetches is checked again by the route that answers it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smartfab.errors import SmartfabError
from smartfab.model.plant import Plant
from smartfab.platform.dashboards.schema import (
    VARIABLE,
    Dashboard,
    Reference,
    Variable,
    keep_items,
    panel_references,
    references,
    resolve,
)
from smartfab.platform.security.roles import Principal


class DashboardError(SmartfabError):
    """A dashboard that cannot be saved or read: ``status`` as HTTP says it (403 outside the
    caller's part of the plant, 404 unknown, 409 changed meanwhile, 422 invalid), ``errors``
    each on its field as validation errors are (``loc``, ``msg``, ``type``, ``ctx``)."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status = status
        self.errors = errors or []


def below(path: str, scope: str) -> bool:
    """Whether ``path`` is ``scope`` or lies under it ('' is the whole plant)."""
    return not scope or path == scope or path.startswith(scope + "/")


@dataclass(frozen=True)
class PlantIndex:
    """The plant's paths as dashboards name them, in the plant file's order."""

    lines: tuple[str, ...]
    equipment: tuple[str, ...]
    assets: frozenset[str]
    signals: dict[str, str]  # path -> number, enum, text or array

    @classmethod
    def of(cls, plant: Plant) -> PlantIndex:
        site = plant.site
        lines = tuple(f"{site.name}/{a.name}/{li.name}" for a in site.areas for li in a.lines)
        refs = [*plant.iter_equipment(), *plant.iter_zone_equipment()]
        assets = set(lines) | {f"{site.name}/{a.name}" for a in site.areas}
        for e in refs:
            steps = e.path.split("/")
            assets |= {"/".join(steps[:n]) for n in range(1, len(steps) + 1)}
        signals = {
            r.path: "enum" if r.signal.type == "enum" else r.signal.kind
            for r in plant.iter_signals()
        }
        return cls(lines, tuple(e.path for e in refs), frozenset(assets), signals)

    def names(self, want: str, path: str) -> bool:
        if want == "signal":
            return path in self.signals
        if want == "number":
            return self.signals.get(path) == "number"
        if want == "line":
            return path in self.lines
        if want == "equipment":
            return path in self.equipment
        return path in self.assets


_WANTED = {
    "signal": "a signal",
    "number": "a signal of numbers (not an enum, text or array)",
    "line": "a line",
    "equipment": "an equipment",
    "asset": "an asset (site, area, line, cell or equipment)",
}


def _problem(ref: Reference, kind: str, message: str, **ctx: Any) -> dict[str, Any]:
    return {"loc": list(ref.field), "msg": message, "type": kind, "ctx": ctx}


def _defaults(doc: Dashboard) -> dict[str, str]:
    return {v.name: v.default for v in doc.variables}


def check(doc: Dashboard, index: PlantIndex, who: Principal, scope: str | None = None) -> None:
    """Raise :class:`DashboardError` unless every path of ``doc`` names what its field needs,
    lies in ``who``'s part of the plant (403 otherwise) and below ``scope`` (a sharing's part of
    the plant; None: not shared)."""
    values = _defaults(doc)
    outside, wrong = [], []
    for ref in references(doc):
        path = resolve(ref.path, values)
        shown = path if path == ref.path else f"{ref.path} = {path}"
        if not (who.covers(path) or _on_the_way(ref, path, who)):
            outside.append(_problem(
                ref, "dashboard_outside_scope",
                f"{shown!r} lies outside your part of the plant ({who.scope!r})",
                path=path, scope=who.scope,
            ))  # fmt: skip
        elif scope is not None and not below(path, scope):
            wrong.append(_problem(
                ref, "dashboard_outside_sharing",
                f"{shown!r} lies outside {scope!r}, the part of the plant the dashboard is "
                "shared with", path=path, scope=scope,
            ))  # fmt: skip
        elif not index.names(ref.want, path):
            wrong.append(_problem(
                ref, "dashboard_unknown_path", f"{shown!r} is not {_WANTED[ref.want]} of the plant",
                path=path, want=ref.want,
            ))  # fmt: skip
    for i, var in enumerate(doc.variables):
        under = resolve(var.under, values)
        if var.under and not below(var.default, under):
            ref = Reference(("variables", i, "default"), var.default, var.kind)
            wrong.append(_problem(
                ref, "dashboard_not_under", f"{var.default!r} does not lie under {under!r}",
                path=var.default, under=under,
            ))  # fmt: skip
    if outside:
        raise DashboardError(403, outside[0]["msg"], outside)
    if wrong:
        raise DashboardError(422, wrong[0]["msg"], wrong)


def _on_the_way(ref: Reference, path: str, who: Principal) -> bool:
    """A variable's ``under`` may name an asset above the caller's part (their line, when they
    hold one machine of it): it names no data, and their own equipment lies below it."""
    return ref.field[0] == "variables" and ref.field[2] == "under" and below(who.scope, path)


def narrowed(doc: Dashboard, index: PlantIndex, who: Principal) -> tuple[Dashboard, int]:
    """``doc`` as ``who`` may see it, and how many of its paths were left out."""
    if not who.scope:
        return doc, 0
    values: dict[str, str] = {}
    gone: set[str] = set()  # variables with nothing in the caller's part
    variables: list[Variable] = []
    for var in doc.variables:
        if any(name in gone for name in VARIABLE.findall(var.under)):
            gone.add(var.name)
            continue
        under = resolve(var.under, values)
        default: str | None = var.default
        if not who.covers(var.default):
            pool = index.lines if var.kind == "line" else index.equipment
            default = next((p for p in pool if who.covers(p) and below(p, under)), None)
            if default is None:
                gone.add(var.name)
                continue
            var = var.model_copy(update={"default": default})
        values[var.name] = var.default
        variables.append(var)

    def keep(path: str) -> bool:
        if any(name in gone for name in VARIABLE.findall(path)):
            return False
        return who.covers(resolve(path, values))

    panels = []
    hidden = len(doc.variables) - len(variables)
    for p in doc.panels:
        kept = keep_items(p, keep)
        hidden += _count(p) - (_count(kept) if kept is not None else 0)
        if kept is not None:
            panels.append(kept)
    if not hidden:
        return doc, 0
    return doc.model_copy(update={"variables": variables, "panels": panels}), hidden


def _count(panel: Any) -> int:
    return sum(1 for _ in panel_references(panel))
