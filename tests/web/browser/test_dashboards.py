"""Dashboards in Chromium against the package's demo (conftest.py): a file of another version is
refused on import with its field named; an engineer builds a dashboard from nothing — a trend of
the same signal of two machines and another signal with a unit of its own, and a single value —
saves it, and sees live values arrive on it; the cursor reads every signal at its time; what the
trend shows is exported as CSV; and it reads in the three languages."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from tests.web.browser.conftest import CNC, get_json, in_language, shot

CNC2 = CNC.replace("cnc-01", "cnc-02")
TREND = ".dash-panel[data-type=trend]"


def _legend(page: Any) -> list[str]:
    return list(page.locator(f"{TREND} .trend-legend .chip b").all_inner_texts())


def test_build_a_dashboard_with_a_multi_signal_trend_and_see_live_values(
    page: Any, server: str
) -> None:
    page.goto(f"{server}/#/dashboards")
    page.wait_for_selector(".page-dashboards [data-action=new]")
    # A file of another version is refused on its field, in the page's words; nothing is saved.
    saved = get_json(f"{server}/api/dashboards")["dashboards"]
    newer = {"version": 2, "title": "from tomorrow", "panels": [{"type": "hologram"}]}
    page.set_input_files("[data-action=import] input", files=[{
        "name": "newer.json", "mimeType": "application/json", "buffer": json.dumps(newer).encode(),
    }])  # fmt: skip
    refused = page.locator(".field-errors li[data-loc='body.version']")
    refused.wait_for()
    assert "reads version 1" in refused.inner_text()
    assert get_json(f"{server}/api/dashboards")["dashboards"] == saved
    page.click("[data-action=new]")
    page.wait_for_selector(".dash-editor")
    page.fill(".title-input", "Spindles")
    page.dispatch_event(".title-input", "change")
    page.click("[data-action=add-panel]")  # a trend, the first type offered
    panel = page.locator(TREND)

    def add(equipment: str, signal: str) -> None:
        path = f"{equipment}/{signal}"
        panel.locator(".equipment-pick").select_option(equipment)
        page.wait_for_function(
            "([sel, v]) => [...document.querySelector(sel).options].some(o => o.value === v)",
            arg=[f"{TREND} .signal-pick", path],
        )
        panel.locator(".signal-pick").select_option(path)
        panel.locator(".add-signal").click()
        page.wait_for_selector(f"{TREND} .chip[data-path='{path}']")

    for equipment, signal in ((CNC, "spindle_temp"), (CNC2, "spindle_temp"), (CNC, "vibration")):
        add(equipment, signal)
    page.locator("select.panel-type").select_option("value")
    page.click("[data-action=add-panel]")  # the first equipment's power
    shot(page, "dashboard-editor")
    page.click("[data-action=save]")
    page.wait_for_function(r"/^#\/dashboards\/[0-9a-f]{12}$/.test(location.hash)")
    did = page.evaluate("location.hash.split('/').pop()")
    chart = page.locator(f"{TREND} .chart.trend")
    page.wait_for_selector(f"{TREND} .chart.trend[data-loaded]", timeout=30000)
    # Three signals; °C and mm/s each on an axis of their own.
    assert chart.get_attribute("data-series") == "3" and chart.get_attribute("data-axes") == "2"
    assert int(chart.get_attribute("data-points")) > 0

    # Live values: the single value and the trend's legend follow the feed.
    value = page.locator(".dash-panel[data-type=value]")
    page.wait_for_function(
        "document.querySelector('.dash-panel[data-type=value]').dataset.value !== undefined",
        timeout=20000,
    )
    assert value.locator(".unit").inner_text() == "kW"
    for selector in (
        "document.querySelector('.dash-panel[data-type=value]').dataset.value",
        f"JSON.stringify([...document.querySelectorAll('{TREND} .trend-legend .chip b')]"
        ".map(b => b.textContent))",
    ):
        before = page.evaluate(selector)
        page.wait_for_function(f"{selector} !== {json.dumps(before)}", timeout=30000)
    assert all(v != "–" for v in _legend(page))

    # The cursor reads every signal at its time.
    box = page.locator(f"{TREND} canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2)
    page.wait_for_selector(f"{TREND} .trend-legend[data-cursor='true']")
    shot(page, "dashboard-en")

    # What is shown, as CSV: the three signals over the hour chosen.
    page.mouse.move(0, 0)
    page.click(".dash-toolbar .segmented button[data-span='3600000']")
    page.wait_for_function(
        f"(() => {{ const c = document.querySelector('{TREND} .chart.trend');"
        " return c.dataset.x1 - c.dataset.x0 <= 3600000; })()"
    )
    with page.expect_download() as download:
        page.click(f"{TREND} a[data-format=csv]")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["path"] for r in rows} == {
        f"{CNC}/spindle_temp", f"{CNC2}/spindle_temp", f"{CNC}/vibration"
    }  # fmt: skip
    stamps = sorted(r["ts"] for r in rows)
    assert stamps[0] < stamps[-1]

    # Saved on the server as the admin's own.
    listed = get_json(f"{server}/api/dashboards")["dashboards"]
    assert [(d["title"], d["mine"]) for d in listed if d["id"] == did] == [("Spindles", True)]
    for lang in ("zh", "ru"):
        in_language(page, server, lang, f"/#/dashboards/{did}")
        page.wait_for_selector(f"{TREND} .chart.trend[data-loaded]", timeout=30000)
        page.wait_for_function(
            "document.querySelector('.dash-panel[data-type=value]').dataset.value !== undefined",
            timeout=20000,
        )
        shot(page, f"dashboard-{lang}")
    in_language(page, server, "en", "/#/dashboards/line/shenyang/machining/cnc-line-1")
    page.wait_for_selector(f"{TREND} .chart.trend[data-loaded]", timeout=30000)
    shot(page, "dashboard-line-en")
