"""Commissioning a machine of the virtual plant from the browser, end to end against the demo
(conftest.py): a new OPC UA connection to the virtual factory's server, its address space browsed,
a variable picked and mapped to a signal of a new equipment (its unit taken from the node), its
value previewed; a unit that does not fit the node refused at the field with nothing saved; then
saved, its live value seen, and undone. The plant model pages and an alarm rule tested on the
history, in the three languages at desktop and phone width (screenshots)."""

from __future__ import annotations

import difflib
from typing import Any

from tests.web.browser.conftest import CNC, get_json, shot

CELL = CNC.rsplit("/", 1)[0]
SIGNAL = f"{CNC}/spindle_temp"  # its node holds °C: its EngineeringUnits say so
NEW = f"{CELL}/cnc-01-probe"


def _switch(page: Any, lang: str) -> None:
    """Choose the language in the top bar's selector (wherever the bar has put it at this
    width): the page renders again, keeping what is on it."""
    page.evaluate(
        "(lang) => { const s = document.getElementById('lang'); s.value = lang; "
        "s.dispatchEvent(new Event('change')); }",
        lang,
    )
    page.wait_for_function(
        f"document.documentElement.lang.startsWith('{lang}') && "
        "!document.querySelector('#view .loading')"
    )


def location_id(url: str) -> str:
    """The dashboard's id in the page's address (``.../#/dashboards/<id>``)."""
    return url.rsplit("/", 1)[1]


def test_commission_a_machine_browse_map_save_see_it_live_and_undo(page: Any, server: str) -> None:
    before = get_json(f"{server}/api/plant/file")
    endpoint = next(c["endpoint"] for c in get_json(f"{server}/api/plant/connections")
                    if c["protocol"] == "opcua")  # fmt: skip
    page.goto(server + "/#/commission")
    page.wait_for_selector("#connection-use")
    page.fill("#connection-name", "opcua-probe")
    page.fill("#connection-endpoint", endpoint)
    page.click("#browse")
    page.wait_for_selector("#variables tr[data-node]", timeout=30000)
    page.fill("#browse-filter", "cnc-01.spindle_temp")
    node = f"ns=2;s={SIGNAL.rsplit('/', 1)[0]}.spindle_temp"
    row = page.locator(f'#variables tr[data-node="{node}"]')
    assert "degC" in row.inner_text()
    row.locator("button.pick").click()
    page.select_option("#target-mode", "new")
    page.select_option("#target-cell", CELL)
    page.fill("#equipment-name", "cnc-01-probe")
    mapped = '#mapping tr[data-row="0"]'
    assert page.input_value(f"{mapped} .sig-name") == "spindle_temp"
    assert page.input_value(f"{mapped} .sig-unit") == "degC"  # from the node's EngineeringUnits
    page.fill(f"{mapped} .sig-low", "0")
    page.fill(f"{mapped} .sig-high", "120")
    page.click("#preview")
    page.wait_for_function(
        f"!isNaN(parseFloat(document.querySelector('{mapped} .sig-value').textContent))"
    )
    for lang in ("en", "zh", "ru"):
        _switch(page, lang)
        for width in (1440, 390):
            page.set_viewport_size({"width": width, "height": 900})
            shot(page, f"commission-{lang}-{width}")
    _switch(page, "en")
    page.set_viewport_size({"width": 1440, "height": 900})

    # Bad input: a unit the node's values are not in. Refused at the unit, nothing saved.
    page.fill(f"{mapped} .sig-unit", "bar")
    page.click("#save")
    page.wait_for_selector("#save-refused", timeout=90000)
    error = page.locator(f"{mapped} .sig-unit + .field-error").inner_text()
    assert "°C" in error and "degC" in error, error
    assert get_json(f"{server}/api/plant/file")["revision"] == before["revision"]
    shot(page, "commission-refused")

    page.fill(f"{mapped} .sig-unit", "degC")
    page.click("#save")
    page.wait_for_selector("#saved", timeout=90000)
    assert "cnc-01-probe" in get_json(f"{server}/api/plant/file")["text"]
    page.wait_for_function(
        "!isNaN(parseFloat(document.querySelector('#saved-values .live-value').textContent))",
        timeout=30000,
    )
    assert get_json(f"{server}/api/latest?signal={NEW}/spindle_temp")["rows"] == 1
    shot(page, "commission-saved")

    # The new signal on a dashboard of one's own, made from here: its live value, its trend.
    page.click("#to-dashboard")
    page.wait_for_selector(".dash-panel[data-type=table] td.value")
    page.wait_for_function(
        "!isNaN(parseFloat(document.querySelector('.dash-panel[data-type=table] td.value')"
        ".textContent))",
        timeout=30000,
    )
    page.wait_for_selector(".dash-panel[data-type=trend] .chart.trend[data-loaded]", timeout=30000)
    made = location_id(page.url)
    assert get_json(f"{server}/api/dashboards/{made}")["document"]["title"] == "cnc-01-probe"
    shot(page, "commission-dashboard")
    page.go_back()  # the commissioning page keeps what was saved, to undo
    page.click("#undo")
    page.wait_for_selector("#undone", timeout=90000)
    after = get_json(f"{server}/api/plant/file")
    assert after["text"] == before["text"], "".join(
        difflib.unified_diff(before["text"].splitlines(True), after["text"].splitlines(True))
    )
    assert "cnc-01-probe" not in str(get_json(f"{server}/api/assets"))
    edits = get_json(f"{server}/api/plant/edits")
    assert [e["undo_of"] for e in edits[:2]] == [edits[1]["seq"], None]

    # The plant model: the tree with the history (the undone edit marked), and a signal's alarm
    # rule tried on the stored history, in each language and width.
    page.goto(server + "/#/plant")
    page.wait_for_selector("#edit-history tr[data-seq]")
    assert page.locator(f'#edit-history tr[data-seq="{edits[1]["seq"]}"] .undo').count() == 0
    shot(page, "plant-en-1440")
    page.goto(server + f"/#/plant/{SIGNAL}")
    rule = '#alarm-rules .rule[data-rule="low"]'
    for lang in ("en", "zh", "ru"):
        page.set_viewport_size({"width": 1440, "height": 900})
        _switch(page, lang)  # the page is drawn anew: the draft rule is made again
        page.wait_for_selector("#alarm-rules")
        page.select_option("#rule-kind", "low")
        page.click("#rule-add")
        page.fill(f'{rule} [data-field="limit"]', "25")
        page.click(f"{rule} .rule-test-run")
        page.wait_for_selector(f'{rule} .kpi[data-kpi="activations"]', timeout=30000)
        for width in (1440, 390):
            page.set_viewport_size({"width": width, "height": 900})
            # Once the top bar has fitted itself to the width (a resize observer), nothing is
            # wider than the window.
            page.wait_for_function(
                "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
            )
            shot(page, f"plant-signal-{lang}-{width}")
    assert get_json(f"{server}/api/plant/file")["revision"] == after["revision"]  # tested only
