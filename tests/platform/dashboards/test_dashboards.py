"""Dashboards without a server: the default of every line of the demo plant is valid for it, a
value's levels follow its alarm limits, and a caller limited to part of the plant reads a
dashboard without the rest (its variables moved into its part, or gone with their panels)."""

from __future__ import annotations

import pytest

from smartfab.model.plant import LimitAlarm, Plant, SignalAlarms
from smartfab.platform.dashboards.defaults import line_dashboard, thresholds
from smartfab.platform.dashboards.paths import DashboardError, PlantIndex, check, narrowed
from smartfab.platform.dashboards.schema import Dashboard
from smartfab.platform.security.roles import Principal, Role

LINE = "shenyang/machining/cnc-line-1"
CELL2 = f"{LINE}/cell-2"


def test_every_lines_default_is_valid_for_the_plant(demo_plant: Plant) -> None:
    index = PlantIndex.of(demo_plant)
    admin = Principal("a", "user", Role.ADMIN)
    for line in index.lines:
        doc = line_dashboard(demo_plant, line)
        check(doc, index, admin, scope=line)  # everything in it lies in the line
        assert Dashboard.model_validate_json(doc.model_dump_json()) == doc
    with pytest.raises(DashboardError) as refused:
        line_dashboard(demo_plant, "shenyang/machining")
    assert refused.value.status == 404


def limit(v: float) -> LimitAlarm:
    return LimitAlarm(limit=v, priority="medium")


def test_levels_follow_the_alarm_limits() -> None:
    assert thresholds(None) == ("normal", [])
    base, steps = thresholds(SignalAlarms(low_low=limit(1), low=limit(2), high=limit(8),
                                          high_high=limit(9)))  # fmt: skip
    assert base == "alarm"
    assert [(s.value, s.level) for s in steps] == [
        (1, "warning"), (2, "normal"), (8, "warning"), (9, "alarm")
    ]  # fmt: skip
    base, steps = thresholds(SignalAlarms(low=limit(2)))
    assert (base, [(s.value, s.level) for s in steps]) == ("warning", [(2, "normal")])
    assert thresholds(SignalAlarms(high=limit(8), high_high=limit(5))) == ("normal", [])


def test_a_part_of_the_plant_reads_its_part(demo_plant: Plant) -> None:
    index = PlantIndex.of(demo_plant)
    doc = line_dashboard(demo_plant, LINE)
    cell = Principal("li", "user", Role.VIEWER, CELL2)
    shown, hidden = narrowed(doc, index, cell)
    # The equipment variable takes the cell's first machine; line-wide panels go.
    assert shown.variables[0].default == f"{CELL2}/cnc-03"
    assert {p.id for p in doc.panels} - {p.id for p in shown.panels} == {"oee", "losses", "alarms"}
    timeline = next(p for p in shown.panels if p.type == "timeline")
    assert timeline.equipment == [f"{CELL2}/cnc-03", f"{CELL2}/cnc-04"]  # type: ignore[union-attr]
    assert hidden == 3 + 3 + 3  # three panels, three of five machines twice (timeline, trend)
    check(shown, index, cell)  # what it reads, it may save as its own
    assert CELL2 in shown.model_dump_json()
    assert "cell-1" not in shown.model_dump_json() and "cell-3" not in shown.model_dump_json()

    # A part without any of the variable's equipment: the variable goes, with its panels.
    other = Principal("wang", "user", Role.VIEWER, "shenyang/pressing")
    shown, _ = narrowed(doc, index, other)
    assert shown.variables == [] and shown.panels == []
    assert narrowed(doc, index, Principal("root", "user", Role.ADMIN)) == (doc, 0)
