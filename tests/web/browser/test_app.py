"""The app's shell and monitoring pages in Chromium against the package's demo (conftest.py):
live values on the overview, a machine's trend zoomed to raw points, SPC, an alarm acknowledged,
the language switched and kept, login and logout, a user limited to one area, every page at a
phone's width in the three languages, and numbers, units and errors in the page's language."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Any

import pytest

from tests.web.browser.conftest import (
    ADMIN,
    CNC,
    QUIET,
    broken_words,
    choose_language,
    get_json,
    in_language,
    log_in,
    log_out,
    settled,
    shot,
)


def test_overview_shows_every_equipment_with_live_values(page: Any, server: str) -> None:
    page.goto(server + "/")
    page.wait_for_selector("body[data-ready='true']")
    tiles = page.locator(".tile")
    assert tiles.count() == len(get_json(f"{server}/api/oee?path=shenyang")["equipment"])
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
    choose_language(page, "zh")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    page.wait_for_selector(".page-overview")
    assert nav.inner_text() == "总览"
    assert page.locator("h1").inner_text() == "工厂总览"
    page.wait_for_selector(".page-overview[data-oee-loaded='true']", timeout=20000)
    shot(page, "overview-zh")
    choose_language(page, "ru")
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
        assert "admin" in after.inner_text()
    status = {a["id"]: a for a in get_json(f"{server}/api/alarms?include_normal=true")["alarms"]}
    assert status[alarm_id]["acked_by"] == "admin"  # the logged-in user, whom the server knows
    audit = get_json(f"{server}/api/audit?action=alarm.acknowledge")
    assert any(e["target"] == f"alarm:{alarm_id}" and e["actor"] == "admin" for e in audit)
    shot(page, "alarms-acknowledged")


def test_login_refuses_a_wrong_password_and_logout_ends_the_session(
    browser: Any, server: str
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    pg = context.new_page()
    try:
        # A page of the app, without a session: the login page, which keeps the page wanted.
        pg.goto(f"{server}/#/alarms")
        pg.wait_for_selector("body.login-page[data-ready='true']")
        assert pg.url.endswith("/login.html#/alarms")
        pg.fill("#login-user", "admin")
        pg.fill("#login-password", "not the password")
        pg.click("button[type=submit]")
        pg.wait_for_selector("#login-error:not([hidden])")
        assert pg.locator("#login-error").inner_text() == "Wrong user name or password"
        pg.select_option("#lang", "zh")
        pg.wait_for_function("document.documentElement.lang === 'zh-CN'")
        assert pg.locator("button[type=submit]").inner_text() == "登录"
        shot(pg, "login-zh")
        pg.select_option("#lang", "en")
        pg.fill("#login-password", ADMIN["password"])
        pg.click("button[type=submit]")
        pg.wait_for_selector(".page-alarms")  # back where it wanted to go
        assert pg.locator("#user-name").inner_text() == "admin"
        cookie = next(c for c in context.cookies() if c["name"] == "smartfab_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        log_out(pg)
        pg.wait_for_selector("body.login-page")
        pg.goto(server + "/")  # the session is over
        pg.wait_for_selector("body.login-page[data-ready='true']")
    finally:
        context.close()


def test_a_user_limited_to_an_area_sees_its_alarms_and_maintenance(
    browser: Any, server: str
) -> None:
    """Pages whose routes span the plant ask for the user's part: a viewer limited to machining
    gets its alarm list and maintenance ranking, not a refusal."""
    area = "shenyang/machining"
    request = urllib.request.Request(
        f"{server}/api/users",
        data=json.dumps(
            {
                "name": "machining-viewer",
                "role": "viewer",
                "scope": area,
                "password": "a long pass phrase 1",
            }
        ).encode(),
        headers={"Cookie": ADMIN["cookie"], "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as r:
        assert r.status == 201
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    try:
        pg.goto(server + "/")
        pg.wait_for_selector("body.login-page[data-ready='true']")
        pg.fill("#login-user", "machining-viewer")
        pg.fill("#login-password", "a long pass phrase 1")
        pg.click("button[type=submit]")
        pg.wait_for_selector("body[data-ready='true'] #view")
        pg.goto(f"{server}/#/alarms")
        pg.wait_for_selector(".page-alarms[data-loaded]", timeout=20000)
        assert pg.locator(".page .error").count() == 0
        paths = pg.eval_on_selector_all("tr[data-alarm]", "rs => rs.map(r => r.dataset.alarm)")
        assert all(p.startswith(area + "/") for p in paths), paths
        pg.goto(f"{server}/#/maintenance")
        pg.wait_for_selector("table.fleet", timeout=30000)
        assert pg.locator(".page .error").count() == 0
        ranked = pg.eval_on_selector_all(
            "table.fleet tr[data-equipment]", "rs => rs.map(r => r.dataset.equipment)"
        )
        assert ranked and all(p.startswith(area + "/") for p in ranked), ranked
        shot(pg, "maintenance-scoped")
    finally:
        context.close()
    assert not errors, errors


PAGES = {
    "overview": "/",
    "line": "/#/line/shenyang/machining/cnc-line-1",
    "equipment": f"/#/equipment/{CNC}",
    "alarms": "/#/alarms",
    "spc": f"/#/spc/{CNC}/spindle_power",
    "maintenance": "/#/maintenance",
    "scheduling": "/#/scheduling",
    "twin": "/#/twin",
    **{
        f"transformation-{s}": f"/#/transformation/{s}"
        for s in ("maturity", "kpis", "planner", "sovereignty", "insights")
    },
    "warehouse": "/#/warehouse",
    "dashboards": "/#/dashboards/line/shenyang/machining/cnc-line-1",
    "trends": f"/#/trends/{CNC}/spindle_temp,{CNC}/vibration",
    "energy": "/#/energy",
}


@pytest.mark.parametrize("lang", ["en", "zh", "ru"])
def test_top_bar_and_kpi_labels_fit_on_a_desktop(browser: Any, server: str, lang: str) -> None:
    """On a desktop the top bar is one row with every item in it, with room to spare (fonts
    differ between machines), and no KPI label breaks inside a word (ПРОИЗВОДИТЕЛЬНОСТЬ was split
    in two). The language and logout are in the menu under the user's name."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    pg = context.new_page()
    try:
        log_in(pg, server)
        in_language(pg, server, lang, PAGES["equipment"])
        pg.wait_for_selector(".kpi .label")
        bar = pg.locator("#topbar").bounding_box()
        assert bar["height"] == 44
        assert pg.locator("#menu-toggle").is_hidden()  # everything fits: no menu needed
        for link in pg.locator(".mainnav a").all():
            box = link.bounding_box()
            assert box["y"] >= bar["y"] and box["y"] + box["height"] <= bar["y"] + bar["height"]
        # The room left were the site's name cut to its least (it gives way first, with "…").
        spare = pg.evaluate("""() => {
            const width = (s) => document.querySelector(s).getBoundingClientRect().width;
            const site = document.getElementById('site-title');
            const least = parseFloat(getComputedStyle(site).minWidth);
            return width('.spacer') + width('#site-title') - least; }""")
        assert spare >= 60, f"{lang}: only {spare} px to spare in the top bar"
        assert broken_words(pg, ".kpi .label") == []
        assert pg.locator("#lang").is_hidden() and pg.locator("#logout").is_hidden()
        pg.click("#user-menu-toggle")
        assert pg.locator("#lang").is_visible() and pg.locator("#logout").is_visible()
        shot(pg, f"equipment-{lang}-desktop")
        pg.keyboard.press("Escape")
        assert pg.locator("#logout").is_hidden()
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "zh", "ru"])
def test_phone_width_has_a_menu_and_no_sideways_scrolling(
    browser: Any, server: str, lang: str
) -> None:
    """At 390 px every page fits the width (tables scroll inside their panel), the top bar stays
    one row, and its menu button reaches every page, logout and the language."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    context.add_init_script(QUIET)
    pg = context.new_page()
    try:
        log_in(pg, server)
        for name, path in PAGES.items():
            in_language(pg, server, lang, path)
            settled(pg)
            overflow = pg.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} ({lang}) is {overflow} px too wide"
            assert pg.locator("#topbar").bounding_box()["height"] == 44
            assert broken_words(pg, ".kpi .label") == [], name
            shot(pg, f"phone-{name}-{lang}")
        toggle = pg.locator("#menu-toggle")
        assert toggle.is_visible() and pg.locator(".mainnav").is_hidden()
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        for item in [*pg.locator(".mainnav a").all(), pg.locator("#logout"), pg.locator("#lang")]:
            box = item.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        shot(pg, f"phone-menu-{lang}")
        pg.locator(".mainnav a[data-nav='alarms']").click()
        pg.wait_for_selector(".page-alarms")
        assert pg.locator(".mainnav").is_hidden()  # choosing a page closed the menu
    finally:
        context.close()


def test_numbers_units_shifts_and_errors_follow_the_language(page: Any, server: str) -> None:
    """One number format for pages and charts (no "92.3" beside "92,3"), units as people write
    them, shift names and known server errors translated, unknown ones shown as written."""
    in_language(page, server, "ru", PAGES["equipment"])
    page.wait_for_selector("table.signals td.value")
    units = page.locator("table.signals td.muted").all_inner_texts()
    assert "°C" in units and "degC" not in units
    done = page.evaluate(
        """async (cnc) => {
            const core = await import("./js/charts/core.js");
            const dom = await import("./js/dom.js");
            const api = await import("./js/api.js");
            let unknown, future;
            try { await api.get("oee", { path: "nowhere/x" }); } catch (e) { unknown = e; }
            try {
              await api.get("timeline", { equipment: cnc, start: "2199-01-01T00:00:00Z",
                                          end: "2199-01-02T00:00:00Z" });
            } catch (e) { future = e; }
            return {
              chart: core.formatValue(92.345, 50), pct: dom.pct(0.923),
              tick: core.valueText(92.3, 50, "%"),
              shift: dom.periodLabel("2026-12-07 early"), own: dom.periodLabel("2026-12-07 frueh"),
              unknown: [unknown.message, unknown.code], future: [future.message, future.code],
            };
        }""",
        CNC,
    )
    assert done["chart"] == "92,3"  # the charts' own formatting printed "92.3"
    assert done["pct"] == done["tick"] == "92,3\u00a0%"
    assert done["shift"].endswith("утренняя смена") and done["own"].endswith("frueh")
    assert done["unknown"] == ["Неизвестный объект nowhere/x", "unknown_asset"]
    assert done["future"][1] == "future_range" and "будущем" in done["future"][0]
    # No number on the page written the English way.
    text = page.locator("#view").inner_text()
    assert not re.search(r"(?<![\d.])\d+\.\d+(?![\d.])", text), text
