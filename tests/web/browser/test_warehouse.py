"""The warehouse page in headless Chromium against a real `smartfab demo` (the package's
fixtures): the demo's storage zone drawn with its AGVs, which move as the live virtual
warehouse advances, the AGVs' list where the admin pauses and resumes one over the demo's
broker, the occupancy heat maps, cranes and sorter chutes, and the orders with their ETA, the
plant's time now on its clock, in every language at desktop and phone widths."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.web.browser.conftest import get_json, in_language, log_in, shot

ZONE = "shenyang/logistics/central"


def _positions(pg: Any) -> list[tuple[str, str]]:
    return [
        (c.get_attribute("cx"), c.get_attribute("cy")) for c in pg.locator("circle.wh-agv").all()
    ]


def test_floor_agvs_heat_map_and_orders(page: Any, server: str) -> None:
    page.goto(server + "/#/warehouse")
    page.wait_for_selector("circle.wh-agv", timeout=60000)
    assert page.locator(".page .error").count() == 0
    layout = get_json(f"{server}/api/warehouse/layout/{ZONE}")
    assert page.locator("circle.wh-agv").count() == len(layout["agvs"])
    assert page.locator(".wh-wall").count() > 0  # the floor's blocked cells
    # one heat map per aisle and rack, a cell per bay and level, some of them filled
    heats = page.locator("svg.wh-heat")
    assert heats.count() == len(layout["asrs"]) + len(layout["racks"])
    aisle = layout["asrs"][0]
    assert heats.first.locator("rect").count() == aisle["bays"] * aisle["levels"]
    assert page.locator(".wh-chute").count() == len(layout["sorters"][0]["chutes"])
    assert page.locator("table.wh-orders tbody tr").count() > 0
    kpis = page.locator(".kpi .value").all_inner_texts()
    assert kpis and not any("NaN" in k or k == "–" for k in kpis), kpis
    # The live warehouse runs on the plant's clock: the time now, and the page shows its date.
    state = get_json(f"{server}/api/warehouse/state/{ZONE}")
    now = datetime.now(UTC)
    assert abs((datetime.fromisoformat(state["time"]) - now).total_seconds()) < 120
    clock = page.locator(".page-head .sub.num").inner_text()
    today = datetime.fromtimestamp(page.evaluate("Date.now()") / 1000)  # the browser's zone
    assert str(today.year) in clock and f"{today.day:02d}" in clock, clock
    assert f"{today.month:02d}" in clock, clock
    # The AGVs move: run faster than real time (60 simulated seconds a second) to see it soon.
    restarted = page.evaluate(
        "zone => fetch('api/warehouse/restart/' + zone, {method: 'POST',"
        " headers: {'Content-Type': 'application/json'}, body: JSON.stringify({speed: 60})})"
        ".then(r => r.json())",
        ZONE,
    )
    assert restarted["speed"] == 60
    before = _positions(page)
    page.wait_for_function(
        "before => JSON.stringify([...document.querySelectorAll('circle.wh-agv')]"
        ".map(c => [c.getAttribute('cx'), c.getAttribute('cy')])) !== before",
        arg=str(before).replace("(", "[").replace(")", "]").replace("'", '"'),
        timeout=60000,
    )
    shot(page, "warehouse")


def test_an_agv_is_paused_and_resumed_from_its_list(page: Any, server: str) -> None:
    page.goto(server + "/#/warehouse")
    page.wait_for_selector("button.wh-pause", timeout=60000)
    layout = get_json(f"{server}/api/warehouse/layout/{ZONE}")
    assert page.locator("table.wh-agv-list tr[data-agv]").count() == len(layout["agvs"])
    # the demo's AGVs and fleet manager are on the broker (VDA 5050 on the page's clock)
    page.wait_for_function(
        "document.querySelector('.page-head .sub.num').textContent.includes('VDA 5050')",
        timeout=60000,
    )
    serial = layout["agvs"][0]["serial"]
    row = page.locator(f"tr[data-agv='{serial}']")
    button = row.locator("button.wh-pause")
    button.wait_for(timeout=10000)
    page.wait_for_function(
        "s => document.querySelector(`button.wh-pause[data-agv='${s}']`).textContent === 'Pause'",
        arg=serial, timeout=30000,
    )  # fmt: skip
    button.click()
    page.locator(".wh-note", has_text="sent to the AGV").wait_for(timeout=10000)
    # the AGV acts on it and says so; the fleet side reads it: the list shows it paused
    row.locator(".wh-state.wh-agv-paused").wait_for(timeout=30000)
    assert button.inner_text() == "Resume" and row.locator(".wh-state").inner_text() == "paused"
    assert page.locator("circle.wh-agv[fill='#7b4fa0']").count() >= 1
    button.click()
    row.locator(".wh-state.wh-agv-paused").wait_for(state="detached", timeout=30000)
    assert button.inner_text() == "Pause"


@pytest.mark.parametrize("width", [1440, 390])
@pytest.mark.parametrize("lang", ["en", "zh", "ru"])
def test_languages_and_widths(browser: Any, server: str, lang: str, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    pg = context.new_page()
    try:
        log_in(pg, server)
        in_language(pg, server, lang, "/#/warehouse")
        pg.wait_for_selector("table.wh-orders tbody tr", timeout=60000)
        overflow = pg.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow} px too wide"
        assert "NaN" not in pg.locator("#view").inner_text()
        shot(pg, f"warehouse-{lang}-{width}")
    finally:
        context.close()
