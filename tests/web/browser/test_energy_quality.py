"""The energy, quality and recommendations pages in headless Chromium. The package's demo has
process machines, but days of their history take minutes to backfill, so this module serves its
own small plant (tests/apps/quality/plant.py): one virtual CNC with a process block, two weeks
of its parts, a tariff and an emission factor. Its parameters are setpoints of the virtual Modbus
device, read by the real connector of a running ingestion: approving a recommendation writes
through the audited setpoint path, and the live feed carries the values. Users: an admin, an
engineer and a viewer.

Real figures on every page (no NaN, nothing empty), at 1440 px and at a phone's 390 px without
sideways scrolling; a viewer sees no button to act (and the API refuses the action); an
engineer asks for a recommendation, approves it (the device then holds the recommended values,
and the page shows them live), measures the realised saving of the parts made since, and rolls
it back (the device holds the values from before)."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartfab.platform.points import now_us
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.ingestion import Ingestion
from smartfab.virtual.modbus.server import VirtualModbusServer
from smartfab.virtual.process import VirtualProcess, part_table
from smartfab.web.api import create_app
from smartfab.web.server import ApiServer
from tests.apps.quality.history import CNC, history
from tests.apps.quality.plant import EQUIPMENT, filled, part_batches
from tests.conftest import free_port
from tests.web.browser.conftest import broken_words, shot

DAYS = 15  # a week to report on and the week before it as the energy baseline
PASSWORD = "a long pass phrase 7"
USERS = {"admin": "admin", "eng": "engineer", "view": "viewer"}
PARAMETERS = len(CNC.parameters)


@dataclass
class ProcessPlant:
    url: str
    device: VirtualModbusServer
    more_parts: Callable[[int], None]


@contextmanager
def process_plant(folder: Path) -> Iterator[ProcessPlant]:
    """The API and web app over the plant, served with its ingestion and virtual device from a
    thread of its own (the browser's calls block this one)."""
    port = free_port()
    past = history(1, DAYS)
    start = now_us() - int(past.ts[-1]) - int(60e6)  # the last part was made a minute ago
    plant, path = filled(folder, start, DAYS, modbus_port=port)
    newest = [start + int(past.ts[-1])]  # the newest part's end
    device = VirtualModbusServer(plant, port=port)
    device.set_values(np.arange(PARAMETERS), past.params()[-1])  # the settings in force
    process = VirtualProcess.create(CNC, 1, EQUIPMENT)  # the same hidden truth as the history
    totals = [float(past.values["energy_kwh"].sum()), float((past.defect == 0).sum())]
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(30)

    with DuckDBStore(path) as store, Security(folder / "sec.sqlite") as sec:
        for name, role in USERS.items():
            sec.users.add("test", name, role, password=PASSWORD)
        ingestion = Ingestion(plant, store)

        def more_parts(n: int) -> None:
            """``n`` parts made under the settings the device holds now, through the ingestion,
            finished in the last ``n`` milliseconds: time compressed, since a test cannot wait
            hours for them."""
            process.settings = device.values()[:PARAMETERS]
            ends = now_us() - 1000 * np.arange(n, dtype=np.int64)[::-1]
            assert ends[0] > newest[0]
            table = part_table(process.make(ends, np.full(n, 150.0)), CNC)
            points, lots = part_batches(ingestion.signal_ids, table, 0, *totals)
            totals[0] += float(table.values["energy_kwh"].sum())
            totals[1] += float((table.defect == 0).sum())
            newest[0] = int(ends[-1])

            async def publish() -> None:
                await ingestion.bus.publish_points(points)
                await ingestion.bus.publish_points(lots)
                await ingestion.writer.stored(ingestion.bus.published_batches)

            run(publish())

        run(device.start())
        run(ingestion.start())
        app = create_app(PlantData(store, plant), ingestion, security=sec,
                         models_dir=folder / "models")  # fmt: skip
        api = ApiServer(app, "127.0.0.1", 0)
        run(api.start())
        try:
            yield ProcessPlant(api.url, device, more_parts)
        finally:
            run(api.stop())
            run(ingestion.stop())
            run(device.stop())
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessPlant]:
    with process_plant(tmp_path_factory.mktemp("browser-process")) as p:
        yield p


class Session:
    """A browser context logged in as ``user``: its page and the script errors and failed
    requests seen in it."""

    def __init__(self, browser: Any, url: str, user: str, width: int = 1440) -> None:
        self.url = url
        self.context = browser.new_context(viewport={"width": width, "height": 900},
                                           locale="en-GB")  # fmt: skip
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: None if "ERR_ABORTED" in (r.failure or "")
                     else self.errors.append(r.url))  # fmt: skip
        self.page.on("dialog", lambda d: d.accept())  # the confirmation of a write
        self.page.goto(url + "/")
        self.page.wait_for_selector("body.login-page[data-ready='true']")
        self.page.fill("#login-user", user)
        self.page.fill("#login-password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_selector("body[data-ready='true'] #view")
        self.lang = "en"  # the context's locale

    def open(self, route: str, lang: str = "en") -> Any:
        """The page at ``route`` in ``lang``, once its figures are in: a new language is read
        when the app starts (a reload), a new page is a new fragment."""
        page = self.page
        if lang != self.lang:
            page.evaluate(f"localStorage.setItem('smartfab.lang', '{lang}')")
            page.goto(f"{self.url}/#/{route}")
            page.reload()
            self.lang = lang
        else:
            page.goto(f"{self.url}/#/{route}")
        name = route.split("/")[0]
        page.wait_for_selector(f".page-{name}[data-loaded], .page .error", timeout=120_000)
        assert page.locator(".page .error").count() == 0, page.inner_text(".page")
        text = page.inner_text("#view")
        assert not re.search(r"NaN|undefined|Infinity|\{\w+\}", text), text
        return page

    def api(self, path: str) -> Any:
        r = self.page.request.get(f"{self.url}/api/{path}")
        assert r.ok, r.text()
        return r.json()

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors


@pytest.fixture
def viewer(browser: Any, served: ProcessPlant) -> Iterator[Session]:
    s = Session(browser, served.url, "view")
    yield s
    s.close()


@pytest.fixture
def engineer(browser: Any, served: ProcessPlant) -> Iterator[Session]:
    s = Session(browser, served.url, "eng")
    yield s
    s.close()


def number(text: str) -> float:
    """A figure as the page writes it in English ("3,007", "0.795", "1.71 t", "CN¥2,142.03")."""
    found = re.search(r"[−-]?\d[\d,]*(?:\.\d+)?", text)
    assert found, text
    return float(found.group(0).replace(",", "").replace("−", "-"))


def kpi(page: Any, id: str) -> float:
    return number(page.inner_text(f"#{id}"))


def drawn(page: Any, selector: str) -> int:
    """How many pixels of the canvas at ``selector`` are not blank."""
    return int(page.evaluate("""sel => {
        const c = document.querySelector(sel);
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
    }""", selector))  # fmt: skip


def test_energy_and_quality_show_the_plant_s_figures(served: ProcessPlant, viewer: Session) -> None:
    page = viewer.open("energy")
    assert page.locator("[data-nav='energy']").get_attribute("class") == "active"
    week = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    e = viewer.api(f"energy?path=s&start={week.replace('+00:00', 'Z')}")
    assert kpi(page, "kpi-kwh") == pytest.approx(e["kwh"], rel=0.01) and e["kwh"] > 0
    assert kpi(page, "kpi-per-good") == pytest.approx(e["kwh_per_good"], rel=0.01)
    assert page.inner_text("#kpi-cost").startswith("CN¥") and kpi(page, "kpi-cost") > 0
    assert kpi(page, "kpi-co2") > 0 and kpi(page, "kpi-peak") > 0
    # the baseline is the week before: seven days to fit on one variable (good parts)
    assert 0.5 < kpi(page, "kpi-enpi") < 2 and kpi(page, "kpi-periods") >= 6
    assert "good parts" in page.inner_text("#baseline-model")
    for chart in ("load-curve", "load-profile", "baseline-fit", "baseline-cusum", "by-asset"):
        assert drawn(page, f"#{chart} canvas") > 500, chart
    shot(page, "energy-en-1440")

    page = viewer.open(f"quality/{EQUIPMENT}")
    assert kpi(page, "kpi-parts") > 300 and 0 <= kpi(page, "kpi-defect-rate") < 10
    assert page.locator("#latest-parts tr[data-ts]").count() == 50
    assert 0 <= kpi(page, "kpi-latest-risk") <= 100
    # the drivers of the latest part, then of another one picked in the table
    assert page.locator("#drivers").get_attribute("data-part") == page.locator(
        "#latest-parts tr[data-ts]").first.get_attribute("data-ts")  # fmt: skip
    other = page.locator("#latest-parts tr[data-ts]").nth(5)
    other.click()
    assert page.locator("#drivers").get_attribute("data-part") == other.get_attribute("data-ts")
    assert drawn(page, "#drivers canvas") > 200 and drawn(page, "#risk-chart canvas") > 500
    # the parameters in force come from the live feed
    page.wait_for_function("() => [...document.querySelectorAll('#parameters .live-value')]"
                           ".every((e) => e.textContent !== '–')")  # fmt: skip
    shot(page, "quality-en-1440")
    # a part inspected reaches the page through the live feed: the latest parts are rescored
    newest = page.locator("#latest-parts tr[data-ts]").first.get_attribute("data-ts")
    served.more_parts(2)
    page.wait_for_function("old => document.querySelector('#latest-parts tr[data-ts]')"
                           ".dataset.ts !== old", arg=newest, timeout=30_000)  # fmt: skip


def test_energy_of_the_demo_plant(page: Any, server: str) -> None:
    """The package's demo: many machines on several lines, a time-of-use tariff and an emission
    factor in its plant file, and hours of history, too few for a baseline: the page says so."""
    page.goto(server + "/#/energy")
    page.wait_for_selector(".page-energy[data-loaded], .page .error", timeout=60_000)
    assert page.locator(".page .error").count() == 0, page.inner_text(".page")
    # On a loaded machine the demo's first meter readings may be stored after the page first
    # loaded; the page reloads its figures when they arrive.
    page.wait_for_function("/\\d/.test(document.querySelector('#kpi-kwh').innerText)",
                           timeout=60_000)  # fmt: skip
    assert kpi(page, "kpi-kwh") > 0 and kpi(page, "kpi-per-good") > 0
    assert page.inner_text("#kpi-cost").startswith("CN¥") and kpi(page, "kpi-cost") > 0
    assert kpi(page, "kpi-co2") > 0 and "No tariff" not in page.inner_text("#energy-kpis")
    assert "periods" in page.inner_text("#baseline-missing")
    assert drawn(page, "#by-asset canvas") > 1000 and drawn(page, "#by-line canvas") > 500
    shot(page, "energy-demo-en-1440")


def test_a_phone_never_scrolls_sideways(browser: Any, served: ProcessPlant) -> None:
    s = Session(browser, served.url, "eng", width=390)
    try:
        for lang in ("en", "zh", "ru"):
            for route in ("energy", f"quality/{EQUIPMENT}", "recommendations"):
                page = s.open(route, lang)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, (route, lang, width)
                assert broken_words(page, ".kpi .label") == [], (route, lang)
                shot(page, f"{route.split('/')[0]}-{lang}-390")
    finally:
        s.close()


def test_viewers_read_engineers_approve_measure_and_roll_back(
    served: ProcessPlant, viewer: Session, engineer: Session
) -> None:
    before = served.device.values()[:PARAMETERS]
    page = engineer.open("recommendations")
    page.click("#recommend")
    card = page.locator("section.rec").first
    card.wait_for(timeout=120_000)
    assert card.get_attribute("data-status") == "proposed"
    rec_id = card.get_attribute("data-id")
    saving = number(card.locator("[data-figure='saving']").inner_text())
    rec = next(r for r in engineer.api("quality/recommendations") if str(r["id"]) == rec_id)
    expected = rec["recommendation"]
    assert saving == pytest.approx(100 * expected["saving"] / expected["energy_now"], abs=0.06)
    assert drawn(page, "#saving-chart canvas") > 200

    # A viewer sees the proposal and no button to act on it; the API refuses it anyway.
    view = viewer.open("recommendations")
    assert view.locator(f"section.rec[data-id='{rec_id}']").count() == 1
    assert view.locator("#recommend, section.rec button").count() == 0
    assert view.locator("#read-only").is_visible()
    refused = view.request.post(f"{served.url}/api/quality/recommendations/{rec_id}/approve")
    assert refused.status == 403

    # The engineer approves: the device holds the recommended values, the page shows them live.
    card.locator("button[data-action='approve']").click()
    applied = page.locator(f"section.rec[data-id='{rec_id}'][data-status='applied']")
    applied.wait_for(timeout=30_000)
    assert served.device.values()[:PARAMETERS] == pytest.approx(expected["recommended"], rel=1e-6)
    page.wait_for_function("""id => [...document.querySelectorAll(
        `section.rec[data-id='${id}'] .rec-parameters tr`)].slice(1).every(
        (tr) => tr.cells[2].dataset.value === tr.cells[3].textContent)""", arg=rec_id)  # fmt: skip
    shot(page, "recommendations-en-1440")

    # Waiting for parts: how many were made since, of the 50 it takes.
    waiting = page.locator(f"section.rec[data-id='{rec_id}'] [data-measuring='0']")
    assert "0 of 50" in waiting.inner_text()

    # Parts made since: the realised saving against the period before.
    served.more_parts(60)
    applied.locator("button[data-action='measure']").click()
    realised = page.locator(f"section.rec[data-id='{rec_id}'] [data-figure='realised-saving']")
    realised.wait_for(timeout=30_000)
    got = next(r for r in engineer.api("quality/recommendations") if str(r["id"]) == rec_id)
    x = got["realised"]
    assert x["parts_after"] == 60 and x["parts_before"] >= 50
    assert number(realised.inner_text()) == pytest.approx(
        100 * (x["energy_before"] - x["energy_after"]) / x["energy_before"], abs=0.06)  # fmt: skip

    page.locator(f"section.rec[data-id='{rec_id}'] button[data-action='rollback']").click()
    page.locator(f"section.rec[data-id='{rec_id}'][data-status='rolled_back']").wait_for()
    assert served.device.values()[:PARAMETERS] == pytest.approx(before, rel=1e-6)
    page.wait_for_function("""id => [...document.querySelectorAll(
        `section.rec[data-id='${id}'] .rec-parameters tr`)].slice(1).every(
        (tr) => tr.cells[1].textContent === tr.cells[3].textContent)""", arg=rec_id)  # fmt: skip
    shot(page, "recommendations-rolled-back-en-1440")
