"""The equipment page in headless Chromium showing values that are not one number: an enum by its
name, texts (product, material lot) in the signal table and as bands over time, and a spectrum as
profiles and a heat map; at a phone's width in every language without sideways scrolling. The
server is the API over a store holding such values (tests/web/conftest.py: kinds_store), in a
thread of this process: this module's `server` stands in for the package's demo."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.web.api import create_app
from smartfab.web.server import ApiServer
from tests.web.browser.conftest import in_language, shot
from tests.web.conftest import KINDS_CNC, MODES, KindsHistory

PASSWORD = "a long pass phrase 7"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    kinds_store: tuple[Path, KindsHistory],
    kinds_plant: Plant,
) -> Iterator[str]:
    """URL of the API and web app over a copy of the store, served from a thread of its own (the
    browser's calls block this one)."""
    folder = tmp_path_factory.mktemp("browser-values")
    shutil.copy(kinds_store[0], folder / "s.duckdb")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    with DuckDBStore(folder / "s.duckdb") as store, Security(folder / "sec.sqlite") as sec:
        sec.users.add("test", "admin", "admin", password=PASSWORD)
        api = ApiServer(create_app(PlantData(store, kinds_plant), security=sec), "127.0.0.1", 0)
        asyncio.run_coroutine_threadsafe(api.start(), loop).result(30)
        try:
            yield api.url
        finally:
            asyncio.run_coroutine_threadsafe(api.stop(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)


def _page(browser: Any, server: str, width: int) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "requestfailed",
        lambda r: None if "ERR_ABORTED" in (r.failure or "") else errors.append(r.url),
    )
    page.goto(server + "/")
    page.wait_for_selector("body.login-page[data-ready='true']")
    page.fill("#login-user", "admin")
    page.fill("#login-password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready='true'] #view")
    return context, page, errors


def _drawn(page: Any, selector: str) -> int:
    """How many pixels of the canvas at ``selector`` are not blank."""
    return int(
        page.evaluate(
            """sel => {
                const c = document.querySelector(sel);
                const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                let n = 0;
                for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
                return n;
            }""",
            selector,
        )
    )


def test_equipment_page_shows_texts_enum_names_and_array_charts(
    browser: Any,
    server: str,
    kinds_store: tuple[Path, KindsHistory],
) -> None:
    history = kinds_store[1]
    context, page, errors = _page(browser, server, 1440)
    try:
        page.goto(f"{server}/#/equipment/{KINDS_CNC}")
        page.wait_for_selector("#value-bands[data-loaded]", timeout=20000)
        page.wait_for_selector(".chart.profile[data-loaded] canvas", timeout=20000)
        page.wait_for_selector(".chart.heatmap[data-loaded] canvas", timeout=20000)

        def cell(name: str) -> Any:
            return page.locator(f"tr[data-path='{KINDS_CNC}/{name}'] td.value")

        # The live feed's first message fills the table: texts as they are, the enum by name.
        page.wait_for_function(
            "sel => document.querySelector(sel).textContent !== '–'",
            arg=f"tr[data-path='{KINDS_CNC}/product_code'] td.value",
        )
        assert cell("product_code").inner_text() == history.products[-1]
        assert cell("material_lot").inner_text() == history.lots[-1]
        assert cell("mode").inner_text() == MODES[history.modes[-1]]
        assert cell("mode").get_attribute("title") == f"Code {history.modes[-1]}"
        assert cell("vibration_spectrum").inner_text() == "32 values"

        # The trend offers measured numbers only: texts, the enum and the array pick nothing.
        for name in ("product_code", "material_lot", "mode"):
            row = page.locator(f"tr[data-path='{KINDS_CNC}/{name}']")
            assert "clickable" not in (row.get_attribute("class") or "")
        assert "clickable" in page.locator(
            f"tr[data-path='{KINDS_CNC}/spindle_power']"
        ).get_attribute("class")

        # Bands: each mode stretch (5), product (3) and lot (8, the third broken by 2 minutes
        # without a valid value: 10 bands).
        bands = int(page.locator("#value-bands").get_attribute("data-bands"))
        assert bands == 5 + len(history.products) + len(history.lots) + 2
        assert _drawn(page, "#value-bands canvas") > 1000
        # Profiles: the newest and the four before it; the heat map over the range.
        assert page.locator(".chart.profile").get_attribute("data-profiles") == "5"
        assert int(page.locator(".chart.heatmap").get_attribute("data-columns")) > 50
        assert _drawn(page, ".chart.profile canvas") > 1000
        assert _drawn(page, ".chart.heatmap canvas") > 10000
        page.locator(".chart.profile canvas").hover()
        shot(page, "equipment-values")

        # The last hour, a measured number in the trend, a band under the pointer.
        page.click("button[data-span='3600000']")
        page.wait_for_selector("#value-bands[data-loaded]", timeout=20000)
        page.locator(f"tr[data-path='{KINDS_CNC}/spindle_power']").click()
        page.wait_for_function("document.querySelector('#trend').dataset.points > 0")
        box = page.locator("#value-bands canvas").bounding_box()
        page.mouse.move(box["x"] + box["width"] - 60, box["y"] + 20)
        shot(page, "equipment-values-last-hour")
    finally:
        context.close()
    assert not errors, errors


@pytest.mark.parametrize("lang", ["en", "zh", "ru"])
def test_equipment_page_with_values_fits_a_phone(
    browser: Any,
    server: str,
    lang: str,
) -> None:
    context, page, errors = _page(browser, server, 390)
    try:
        in_language(page, server, lang, f"/#/equipment/{KINDS_CNC}")
        page.wait_for_selector(".chart.heatmap[data-loaded]", timeout=20000)
        page.wait_for_selector("#value-bands[data-loaded]", timeout=20000)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{lang}: {overflow} px too wide"
        shot(page, f"phone-equipment-values-{lang}")
    finally:
        context.close()
    assert not errors, errors
