"""The default dashboard of a line, generated from the plant model (never stored: it follows the
plant file). An engineer who wants it otherwise saves a copy and changes that.

It shows the line's OEE and six big losses, the state timelines of its machines, the one
measurement most of its machines have (their power, say) on one trend, and, for an equipment
picked on the dashboard (``${equipment}``, the line's first by default): the measurement with
alarm limits as a single value coloured by them, its measurements of different units on one
trend with an axis each, the SPC chart of its cycle time, its newest values as a table, and the
line's alarms."""

from __future__ import annotations

import math
from collections import Counter

from smartfab.model.plant import EquipmentRef, Plant, Signal, SignalAlarms
from smartfab.platform.dashboards.paths import DashboardError
from smartfab.platform.dashboards.schema import (
    VERSION,
    AlarmsPanel,
    Dashboard,
    Level,
    LossesPanel,
    OeePanel,
    SpcPanel,
    TablePanel,
    Threshold,
    TimelinePanel,
    TimeSettings,
    TrendPanel,
    TrendSignal,
    ValuePanel,
    Variable,
)

ROW_PX = 56  # a grid row, as the web app draws it
EQUIPMENT = "${equipment}"


def _measured(s: Signal) -> bool:
    return s.role == "measurement" and s.kind == "number" and s.type != "enum"


def thresholds(alarms: SignalAlarms | None) -> tuple[Level, list[Threshold]]:
    """The levels of a value from its limit alarms: normal between low and high, a warning
    beyond them, an alarm beyond low-low and high-high."""
    if alarms is None:
        return "normal", []
    steps: list[tuple[float, Level]] = []
    base: Level = "normal"
    if alarms.low_low is not None:
        base = "alarm"
        steps.append((alarms.low_low.limit, "warning" if alarms.low is not None else "normal"))
    if alarms.low is not None:
        base = base if alarms.low_low is not None else "warning"
        steps.append((alarms.low.limit, "normal"))
    if alarms.high is not None:
        steps.append((alarms.high.limit, "warning"))
    if alarms.high_high is not None:
        steps.append((alarms.high_high.limit, "alarm"))
    values = [v for v, _ in steps]
    if values != sorted(values) or len(set(values)) != len(values):
        return "normal", []  # limits that cross each other: no levels rather than wrong ones
    return base, [Threshold(value=v, level=level) for v, level in steps]


def line_dashboard(plant: Plant, line: str) -> Dashboard:
    """The default dashboard of the line at ``line`` (site/area/line)."""
    site = plant.site
    found = next(
        (li for a in site.areas for li in a.lines if f"{site.name}/{a.name}/{li.name}" == line),
        None,
    )
    if found is None:
        raise DashboardError(404, f"unknown line {line!r}")
    machines = [e for e in plant.iter_equipment() if e.path.startswith(line + "/")]
    panels: list[
        OeePanel
        | LossesPanel
        | ValuePanel
        | TimelinePanel
        | TrendPanel
        | SpcPanel
        | TablePanel
        | AlarmsPanel
    ] = [
        OeePanel(type="oee", id="oee", path=line, w=4, h=4),
        LossesPanel(type="losses", id="losses", path=line, style="pie", w=4, h=4),
    ]
    variables = []
    if machines:
        first = machines[0]
        variables.append(
            Variable(name="equipment", kind="equipment", default=first.path, under=line)
        )
        panels += _values(first)
        rows = math.ceil((len(machines) * 22 + 34) / ROW_PX)
        panels.append(
            TimelinePanel(
                type="timeline",
                id="states",
                w=12,
                h=max(2, rows),
                equipment=[e.path for e in machines],
            )
        )
        common = _common_measurement(machines)
        if common is not None:
            panels.append(
                TrendPanel(
                    type="trend",
                    id="compare",
                    title=common,
                    w=12,
                    h=5,
                    signals=[
                        TrendSignal(path=f"{e.path}/{common}")
                        for e in machines
                        if any(s.name == common for s in e.equipment.signals)
                    ][:12],
                )
            )
        panels += _of_equipment(first)
    panels.append(AlarmsPanel(type="alarms", id="alarms", under=line, w=6, h=5))
    return Dashboard(
        version=VERSION,
        title=found.title or found.name,
        variables=variables,
        time=TimeSettings(span_s=8 * 3600, refresh_s=30),
        panels=panels,
    )


def _values(e: EquipmentRef) -> list[ValuePanel]:
    """Up to two single values: measurements with limit alarms first."""
    measured = [s for s in e.equipment.signals if _measured(s)]
    limited = [s for s in measured if s.alarms and (s.alarms.high or s.alarms.low)]
    out = []
    for i, s in enumerate((limited + [s for s in measured if s not in limited])[:2]):
        base, steps = thresholds(s.alarms)
        out.append(
            ValuePanel(
                type="value",
                id=f"value-{i + 1}",
                title=s.name,
                w=4,
                h=2,
                signal=f"{EQUIPMENT}/{s.name}",
                base=base,
                thresholds=steps,
            )
        )
    return out


def _common_measurement(machines: list[EquipmentRef]) -> str | None:
    """The measurement most of the machines have (the first machine's first, among equals);
    None when no two machines share one."""
    counts = Counter(s.name for e in machines for s in e.equipment.signals if _measured(s))
    ordered = [s.name for e in machines for s in e.equipment.signals if _measured(s)]
    best = max(ordered, key=lambda n: (counts[n], -ordered.index(n)), default=None)
    return best if best is not None and counts[best] > 1 else None


def _of_equipment(e: EquipmentRef) -> list[TrendPanel | SpcPanel | TablePanel]:
    measured = [s for s in e.equipment.signals if _measured(s)]
    if not measured:
        return []
    by_unit: dict[str, Signal] = {}
    for s in measured:
        by_unit.setdefault(s.unit, s)
    spc = next((s for s in measured if s.name == "cycle_time"), measured[0])
    return [
        TrendPanel(
            type="trend",
            id="equipment-trend",
            w=6,
            h=5,
            signals=[TrendSignal(path=f"{EQUIPMENT}/{s.name}") for s in list(by_unit.values())[:3]],
        ),
        SpcPanel(type="spc", id="spc", w=6, h=5, signal=f"{EQUIPMENT}/{spc.name}"),
        TablePanel(
            type="table",
            id="values",
            w=6,
            h=5,
            signals=[f"{EQUIPMENT}/{s.name}" for s in measured[:12]],
        ),
    ]
