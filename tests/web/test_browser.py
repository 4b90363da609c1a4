"""The web app in a real headless Chromium against a real server: `smartfab demo` (virtual factory
on OPC UA and Modbus in its own process, connectors, ingestion, API and web app) on free ports.

Screenshots land in test-artifacts/browser/ (git-ignored) for a person to look at. Without
/usr/bin/chromium (the Debian package; scripts/install adds it) the tests skip, except under
CI=true, where a missing browser is a failure rather than a silent gap.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import demo_plant_on_free_ports, free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CNC = "shenyang/machining/cnc-line-1/cell-1/cnc-01"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: scripts/install installs it", pytrace=False)
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install chromium; scripts/install does it as root)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a running `smartfab demo` with a few hours of history and live connectors."""
    folder = tmp_path_factory.mktemp("browser")
    plant = demo_plant_on_free_ports(folder)
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "smartfab", "demo", "--days", "0.25", "--plant", str(plant),
         "--data-dir", str(folder / "data"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert demo.poll() is None, demo.communicate()
            assert time.monotonic() < deadline, "the demo did not connect within 120 s"
            try:
                connectors = _get(f"{url}/api/connectors")
                if connectors and all(c["points"] > 0 for c in connectors):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        yield url
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.communicate()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # Leaving a page aborts its requests in flight (net::ERR_ABORTED); anything else is a fault.
    pg.on(
        "requestfailed",
        lambda r: None if "ERR_ABORTED" in (r.failure or "") else errors.append(r.url),
    )
    # Offline for real: any request that leaves the server would be a CDN or a leak.
    pg.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(server) else route.abort(),
    )
    yield pg
    context.close()
    assert not errors, errors


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def test_overview_shows_every_equipment_with_live_values(page: Any, server: str) -> None:
    page.goto(server + "/")
    page.wait_for_selector("body[data-ready='true']")
    tiles = page.locator(".tile")
    assert tiles.count() == len(_get(f"{server}/api/oee?path=shenyang")["equipment"])
    # The live feed colours each tile by its state and fills in its power draw.
    page.wait_for_function(
        "[...document.querySelectorAll('.tile')].every(t => t.dataset.state)", timeout=15000
    )
    page.wait_for_selector("#live-status[data-state='live']")
    power = page.locator(f".tile[data-path='{CNC}'] .live")
    first = power.inner_text()
    page.wait_for_function(
        "([sel, before]) => document.querySelector(sel).textContent !== before",
        arg=[f".tile[data-path='{CNC}'] .live", first],
        timeout=20000,
    )
    page.wait_for_selector(".page-overview[data-oee-loaded='true']", timeout=20000)
    # A percentage, or "–" when the last 24 h held no planned busy time (a weekend).
    assert re.search(r"%|–", page.locator(f".tile[data-path='{CNC}'] .oee").inner_text())
    shot(page, "overview")


def test_drill_down_to_a_machine_and_zoom_its_trend(page: Any, server: str) -> None:
    page.goto(server + "/")
    page.wait_for_selector("body[data-ready='true']")
    page.locator(f".tile[data-path='{CNC}']").click()
    page.wait_for_selector("#trend[data-loaded]")
    assert page.url.endswith(f"#/equipment/{CNC}")
    trend = page.locator("#trend")
    assert trend.get_attribute("data-mode") == "buckets"  # 8 h of a 1 s signal
    span = int(trend.get_attribute("data-x1")) - int(trend.get_attribute("data-x0"))
    shot(page, "equipment")

    # Zoom in with the wheel at the right edge until raw samples are fetched.
    box = page.locator("#trend canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 30, box["y"] + box["height"] / 2)
    for _ in range(14):
        page.mouse.wheel(0, -120)
    page.wait_for_function("document.querySelector('#trend').dataset.mode === 'raw'", timeout=10000)
    zoomed = int(trend.get_attribute("data-x1")) - int(trend.get_attribute("data-x0"))
    assert zoomed < span / 10
    assert int(trend.get_attribute("data-points")) > 0
    shot(page, "equipment-zoomed")

    # Up to the line of the machine through the breadcrumbs.
    page.locator("#crumbs a").nth(1).click()
    page.wait_for_selector(".page-line table.data tr.clickable")
    shot(page, "line")


def test_spc_page_marks_limits_and_capability(page: Any, server: str) -> None:
    page.goto(f"{server}/#/spc/{CNC}/spindle_power")
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_selector(".chart[data-statistic='xbar']")
    page.locator("input[aria-label='USL']").fill("30")
    page.locator("input[aria-label='USL']").dispatch_event("change")
    page.wait_for_selector(".capability")
    shot(page, "spc")


def test_switch_language(page: Any, server: str) -> None:
    page.goto(server + "/")
    page.wait_for_selector("body[data-ready='true']")
    nav = page.locator("[data-nav='overview']")
    assert nav.inner_text() == "Overview"
    page.select_option("#lang", "zh")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    page.wait_for_selector(".page-overview")
    assert nav.inner_text() == "总览"
    assert page.locator("h1").inner_text() == "工厂总览"
    page.wait_for_selector(".page-overview[data-oee-loaded='true']", timeout=20000)
    shot(page, "overview-zh")
    page.select_option("#lang", "ru")
    page.wait_for_function("document.documentElement.lang === 'ru-RU'")
    assert nav.inner_text() == "Обзор"
    page.goto(f"{server}/#/equipment/{CNC}")
    page.wait_for_selector("#trend[data-loaded]")
    shot(page, "equipment-ru")
    # The choice survives a reload.
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert nav.inner_text() == "Обзор"


def test_acknowledge_an_alarm(page: Any, server: str) -> None:
    page.add_init_script("localStorage.setItem('smartfab.operator', 'browser test')")
    page.goto(f"{server}/#/alarms")
    page.wait_for_selector("body[data-ready='true']")
    # The virtual factory raises alarms within its first minutes (faults, limits); wait for one.
    row = page.locator("tr[data-state$='unacknowledged']").first
    deadline = time.monotonic() + 90
    while row.count() == 0:
        assert time.monotonic() < deadline, "no unacknowledged alarm appeared"
        page.wait_for_timeout(2000)
        page.reload()
        page.wait_for_selector(".page-alarms[data-loaded]")
    alarm_id = row.get_attribute("data-alarm")
    shot(page, "alarms")
    row.locator("button[data-action='acknowledge']").click()
    after = page.locator(f"tr[data-alarm='{alarm_id}']")
    # Acknowledged: active ones stay listed as acknowledged, cleared ones leave the list.
    page.wait_for_function(
        """id => { const r = [...document.querySelectorAll('tr[data-alarm]')]
                     .find(r => r.dataset.alarm === id);
                   return !r || r.dataset.state === 'acknowledged'; }""",
        arg=alarm_id,
        timeout=10000,
    )
    if after.count():
        assert "browser test" in after.inner_text()
    status = {a["id"]: a for a in _get(f"{server}/api/alarms?include_normal=true")["alarms"]}
    assert status[alarm_id]["acked_by"] == "browser test"
    shot(page, "alarms-acknowledged")
