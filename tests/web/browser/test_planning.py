"""The scheduling and digital-twin pages in headless Chromium against the package's `smartfab demo`
(conftest.py: offline routing, screenshots): solve work orders and see the Gantt chart, take a
machine down and see the re-plan, schedule an uploaded benchmark file; run a small what-if
experiment and see the comparison, calibrate the twin."""

from __future__ import annotations

import json
from typing import Any

from tests.web.browser.conftest import choose_language, get_json, shot

GANTT_SPAN = "(s => { const d = document.querySelector(s).dataset; return d.x1 - d.x0; })"


def _set(pg: Any, selector: str, value: str) -> None:
    pg.locator(selector).fill(value)
    pg.locator(selector).dispatch_event("change")


def _hover_operation(pg: Any, chart: str, plan: dict[str, Any], index: int) -> None:
    """Move the pointer onto operation ``index`` of the plan's Gantt chart, to show its tooltip."""
    pg.locator(chart).scroll_into_view_if_needed()
    box = pg.locator(f"{chart} canvas").bounding_box()
    el = pg.locator(chart)
    x0, x1 = int(el.get_attribute("data-x0")), int(el.get_attribute("data-x1"))
    a = plan["schedule"]["assignments"][index]
    origin = _iso_ms(plan["origin"])
    at = origin + (a["start"] + a["end"]) / 2 * plan["unit_s"] * 1000
    left, right, top, bottom = 90, 14, 20, 24  # the chart's margins
    x = box["x"] + left + (at - x0) / (x1 - x0) * (box["width"] - left - right)
    rows = len(plan["machines"])
    y = box["y"] + top + (a["machine"] + 0.5) * (box["height"] - top - bottom) / rows
    pg.mouse.move(x, y)


def _iso_ms(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp() * 1000


def test_schedule_work_orders_and_replan_after_a_breakdown(page: Any, server: str) -> None:
    page.goto(server + "/#/scheduling")
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("[data-nav='planning']").get_attribute("class") == "active"
    assert page.locator("[data-tab='scheduling']").get_attribute("aria-selected") == "true"
    orders = json.loads(page.locator("#orders").input_value())
    operations = sum(len(j["operations"]) for j in orders["jobs"])
    _set(page, "#time-limit", "2")
    page.locator("#solve").click()
    page.wait_for_selector("#gantt[data-bars]", timeout=30000)
    assert int(page.locator("#gantt").get_attribute("data-bars")) == operations
    plan = get_json(
        f"{server}/api/scheduling/plans/{page.locator('#plan').get_attribute('data-plan')}"
    )
    assert plan["state"] == "done" and plan["schedule"]["on_time_ratio"] is not None
    assert "%" in page.locator("[data-kpi='scheduling.on_time'] .value").inner_text()
    _hover_operation(page, "#gantt", plan, 0)
    shot(page, "scheduling")

    # Zoom in with the wheel: the visible range shrinks like the trend's.
    gantt = page.locator("#gantt")
    span = int(gantt.get_attribute("data-x1")) - int(gantt.get_attribute("data-x0"))
    for _ in range(3):
        page.mouse.wheel(0, -120)
    page.wait_for_function(f"{GANTT_SPAN}('#gantt') < {span * 0.6}")
    page.locator("#gantt canvas").dblclick()  # back to the whole plan

    page.locator("#machine-down").click()
    page.wait_for_selector("#gantt-replan[data-bars]", timeout=30000)
    replan = get_json(
        f"{server}/api/scheduling/plans/{page.locator('#replan').get_attribute('data-plan')}"
    )
    assert replan["parent"] == plan["id"] and replan["down"]["start"] > 0
    down = replan["down"]
    assignments = replan["schedule"]["assignments"]
    assert replan["schedule"]["kept"] == sum(a["fixed"] for a in assignments) > 0
    assert not any(
        a["machine"] == down["machine"] and a["start"] < down["end"] and a["end"] > down["start"]
        for a in assignments if not a["fixed"]
    )  # fmt: skip
    assert page.locator("#plans tr[data-plan]").count() >= 2
    moved = next(i for i, a in enumerate(assignments) if not a["fixed"])
    _hover_operation(page, "#gantt-replan", replan, moved)
    shot(page, "scheduling-replan")

    choose_language(page, "zh")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    page.wait_for_selector("#gantt-replan[data-bars]")
    assert page.locator("[data-nav='planning']").inner_text() == "计划"
    assert page.locator("[data-tab='scheduling']").inner_text() == "排产"
    shot(page, "scheduling-zh")


def test_schedule_an_uploaded_benchmark_file(page: Any, server: str) -> None:
    from tests.apps.scheduling.data import shared

    ft06 = shared("jsp", "instances", "ft06")
    page.goto(server + "/#/scheduling")
    page.wait_for_selector("body[data-ready='true']")
    page.locator("button[data-source='file']").click()
    page.locator("#instance-file").set_input_files(str(ft06))
    page.select_option("#format", "jsp")
    page.select_option("#objective", "makespan")
    _set(page, "#time-limit", "2")
    before = page.locator("#plan").get_attribute("data-plan")
    page.locator("#solve").click()
    page.wait_for_function(
        "b => { const p = document.querySelector('#plan').dataset.plan;"
        " return p && p !== b && document.querySelector('#gantt[data-bars]'); }",
        arg=before,
        timeout=30000,
    )
    assert page.locator("#gantt").get_attribute("data-bars") == "36"
    assert page.locator("[data-kpi='scheduling.makespan'] .value").inner_text() == "55"
    shot(page, "scheduling-ft06")


def test_twin_what_if_experiment(page: Any, server: str) -> None:
    page.goto(server + "/#/twin")
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_selector("#stations tr td")
    line = page.locator("#twin-line").input_value()
    twin = next(li for li in get_json(f"{server}/api/twin/lines")["lines"] if li["line"] == line)
    stations = [s["name"] for s in twin["stations"]]
    assert page.locator(".scenario").count() == 2
    _set(page, "#horizon", "2")
    _set(page, "#warmup", "0.2")
    _set(page, "#replications", "3")
    # A third scenario: one more buffer slot after the first station.
    page.get_by_role("button", name="+ Scenario").click()
    third = page.locator(".scenario[data-scenario='2']")
    third.locator("select.change-kind").select_option("buffer")
    page.locator("#run-experiment").click()
    page.wait_for_selector("#twin-results[data-loaded='true']", timeout=120000)
    table = page.locator("#kpi-table")
    assert table.locator("th").count() == 1 + 4  # label column, baseline and three scenarios
    bottlenecks = page.locator("#bottleneck-table td.bottleneck")
    assert bottlenecks.count() == 4 and bottlenecks.first.inner_text().endswith("%")
    assert page.locator("#bottleneck-table tr").count() == 1 + len(stations)
    assert page.locator("#kpi-charts canvas").count() == 3
    shot(page, "twin")

    # Calibrate from the demo's history; the source line says so and the stations change.
    design = page.locator("#twin-source").inner_text()
    _set(page, "#calibrate-days", "0.2")
    page.locator("#calibrate").click()
    page.wait_for_function(
        "t => document.querySelector('#twin-source').textContent !== t",
        arg=design,
        timeout=120000,
    )
    calibrated = get_json(f"{server}/api/twin/lines")
    assert calibrated["calibrated_from"] is not None
    fitted = next(li for li in calibrated["lines"] if li["line"] == line)["stations"][0]
    first_row = page.locator("#stations tr").nth(1).locator("td")
    assert first_row.nth(2).inner_text() == f"{fitted['cycle_s']:.2f}"
    shot(page, "twin-calibrated")

    # In Russian, the results of the run are still there (the page keeps them).
    choose_language(page, "ru")
    page.wait_for_function("document.documentElement.lang === 'ru-RU'")
    page.wait_for_selector("#twin-results[data-loaded='true']")
    assert page.locator("[data-nav='planning']").inner_text() == "Планирование"
    assert page.locator("[data-tab='twin']").inner_text() == "Двойник"
    # The names the page gave the scenarios read in Russian too, in the form and in the results.
    slow = max(twin["stations"], key=lambda s: s["cycle_s"] / s["machines"])["name"]
    assert page.locator(".scenario-name").nth(1).input_value() == f"второй {slow}"
    assert page.locator("#kpi-table th").nth(4).inner_text() == "Сценарий 3"
    shot(page, "twin-ru")
