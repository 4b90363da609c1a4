"""The maintenance pages in headless Chromium against the package's `smartfab demo` (conftest.py):
the fleet ranked by risk, then one equipment's health trend, RUL and its sensor trend with the
anomalies marked. The demo's few hours may hold little running time (at night, at a weekend): then
health and risk read "unknown" with the reason, never a figure."""

from __future__ import annotations

from typing import Any

from tests.web.browser.conftest import get_json, shot


def test_fleet_ranking_and_equipment_panel(page: Any, server: str) -> None:
    page.goto(server + "/#/maintenance")
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("[data-nav='maintenance']").get_attribute("class") == "active"
    rows = page.locator("table.fleet tr[data-equipment]")
    signals = get_json(f"{server}/api/signals")
    floats = ("float", "double")
    equipment = {s["equipment"] for s in signals
                 if s["role"] == "measurement" and s["data_type"] in floats}  # fmt: skip
    page.wait_for_selector("table.fleet, .page .error", timeout=30000)
    assert page.locator(".page .error").count() == 0, page.locator(".page .error").inner_text()
    assert rows.count() == len(equipment)
    # Ranked: the risk column never rises down the table, and unknown risks come last.
    cells = page.locator("table.fleet tr[data-equipment] td:nth-child(3)").all_inner_texts()
    known = [float(c.split()[0]) for c in cells if c != "unknown"]
    assert cells[: len(known)] == [c for c in cells if c != "unknown"]
    assert known == sorted(known, reverse=True)
    # An unknown figure says why on hover, and the table says how many are unknown.
    unknown = page.locator("table.fleet .unknown")
    for title in [unknown.nth(i).get_attribute("title") for i in range(unknown.count())]:
        assert title and "needs" in title, title
    health = page.locator("table.fleet tr[data-equipment] td:nth-child(4)").all_inner_texts()
    assert (page.locator("#unknowns").count() == 1) == ("unknown" in health)
    shot(page, "maintenance-fleet")

    first = rows.first.get_attribute("data-equipment")
    rows.first.locator("a").click()
    page.wait_for_selector("#sensor-trend[data-marks]", timeout=30000)
    assert page.locator("h1").inner_text() == first.split("/")[-1]
    assert page.locator("#health-trend canvas").count() == 1
    detail = get_json(f"{server}/api/maintenance/equipment/{first}")
    health = page.locator("#health-now").inner_text()
    if detail["health"] is None:
        assert health == "unknown" and "needs" in page.locator("#notes").inner_text()
    else:
        assert 0 <= float(health) <= 100
    # The demo runs live: the page's window and this later request's differ by the seconds in
    # between, so an anomaly at the window's edge may be in one and not the other.
    marks = int(page.locator("#sensor-trend").get_attribute("data-marks"))
    assert 0 <= marks <= len(detail["anomaly_list"]) + 1
    page.locator("#sensor-trend canvas").hover()
    shot(page, "maintenance-equipment")
