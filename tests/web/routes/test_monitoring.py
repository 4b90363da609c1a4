"""OEE, timeline and SPC routes over a store filled by the virtual factory. The figures
themselves are tested in tests/apps/monitoring; here: the routes feed the apps the right data
and the answers hold together."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.web.api import create_app
from tests.conftest import FILLED_END_US, FILLED_START_US

LINE = "shenyang/machining/cnc-line-1"
CNC = f"{LINE}/cell-1/cnc-01"
START = datetime.fromtimestamp(FILLED_START_US / 1e6, UTC).isoformat()
END = datetime.fromtimestamp(FILLED_END_US / 1e6, UTC).isoformat()
WINDOW = {"start": START, "end": END}


@pytest.fixture(scope="module")
def client(
    filled_store: Path, demo_plant: Plant, security: Security, admin_headers: dict[str, str]
) -> Iterator[TestClient]:
    with DuckDBStore(filled_store) as store:
        app = create_app(PlantData(store, demo_plant), security=security)
        yield TestClient(app, headers=admin_headers)


def test_oee_of_a_line_sums_its_equipment(client: TestClient) -> None:
    body = client.get("/api/oee", params={"path": LINE, **WINDOW, "by_equipment": True}).json()
    assert body["equipment"] == sorted(body["by_equipment"]) and len(body["equipment"]) == 5
    total = body["total"]["columns"]
    assert total["label"] == ["range"] and body["total"]["rows"] == 1
    parts = [body["by_equipment"][p]["columns"] for p in body["equipment"]]
    for key in ("production_s", "down_s", "good", "scrap", "failures"):
        assert total[key][0] == pytest.approx(sum(p[key][0] for p in parts))
    # Every second of the window is in exactly one ISO 22400 time, per machine.
    times = ("production_s", "setup_s", "idle_s", "down_s", "planned_down_s", "unknown_s")
    assert sum(total[k][0] for k in times) == pytest.approx(5 * 6 * 3600, abs=5)
    a, p, q, oee = (total[k][0] for k in ("availability", "performance", "quality", "oee"))
    assert 0 < oee < 1 and oee == pytest.approx(a * p * q)
    assert total["mtbf_s"][0] == pytest.approx(total["production_s"][0] / total["failures"][0])


def test_oee_per_shift_and_day(client: TestClient) -> None:
    # 06:00-12:00 UTC is 14:00-20:00 in Shenyang: all of it in the late shift of one day.
    shifts = client.get("/api/oee", params={"path": CNC, **WINDOW, "period": "shift"}).json()
    assert shifts["total"]["columns"]["label"] == ["2026-11-17 late"]
    days = client.get("/api/oee", params={"path": CNC, **WINDOW, "period": "day"}).json()
    assert days["total"]["columns"]["label"] == ["2026-11-17"]
    whole = client.get("/api/oee", params={"path": CNC, **WINDOW}).json()
    assert days["total"]["columns"]["oee"] == whole["total"]["columns"]["oee"]


def test_oee_errors(client: TestClient) -> None:
    assert client.get("/api/oee", params={"path": "shenyang/nowhere"}).status_code == 404
    future = {"path": CNC, "start": "2100-01-01T00:00:00Z", "end": "2100-01-02T00:00:00Z"}
    r = client.get("/api/oee", params=future)
    assert r.status_code == 422 and "future" in r.json()["detail"]


def test_timeline_covers_the_window_in_states(client: TestClient) -> None:
    body = client.get("/api/timeline", params={"equipment": CNC, **WINDOW}).json()
    cols = body["columns"]
    assert cols["start"][0] == START.replace("+00:00", "+00:00") and cols["end"][-1] == END
    assert all(a == b for a, b in zip(cols["end"][:-1], cols["start"][1:], strict=True))
    assert all(a != b for a, b in zip(cols["state"][:-1], cols["state"][1:], strict=True))
    assert "running" in body["states"]
    # Its durations agree with the store's own state durations.
    seconds: dict[str, float] = {}
    for a, b, s in zip(cols["start"], cols["end"], cols["state"], strict=True):
        span = datetime.fromisoformat(b) - datetime.fromisoformat(a)
        seconds[s] = seconds.get(s, 0) + span.total_seconds()
    states = client.get("/api/states", params={"equipment": CNC, **WINDOW}).json()["columns"]
    for s, secs in zip(states["state"], states["seconds"], strict=True):
        assert seconds[s] == pytest.approx(secs, abs=1)
    assert client.get("/api/timeline", params={"equipment": LINE}).status_code == 422


def test_spc_chart_of_a_per_part_value(client: TestClient) -> None:
    params = {"signal": f"{CNC}/cycle_time", **WINDOW, "n": 4, "usl": 75, "lsl": 55}
    body = client.get("/api/spc", params=params).json()
    xbar, r = body["charts"]
    assert (xbar["statistic"], r["statistic"]) == ("xbar", "R")
    assert body["subgroup_size"] == 4 and body["subgroups"] >= 10
    # One value per part, not one per second: a 62 s cycle gives about 1/62 of the samples.
    assert body["points_used"] < 6 * 3600 / 30
    cols = xbar["columns"]
    assert all(
        lo < c < hi for lo, c, hi in zip(cols["lcl"], cols["center"], cols["ucl"], strict=True)
    )
    beyond = [i for i, v in enumerate(cols["value"]) if v > cols["ucl"][i] or v < cols["lcl"][i]]
    assert xbar["beyond_limits"] == beyond == xbar["violations"]["1"]
    assert set(xbar["violations"]) == {"1", "2", "3", "4"}
    cap = body["capability"]
    assert cap["cp"] == pytest.approx(20 / (6 * cap["sigma_within"]))
    assert cap["cpk"] <= cap["cp"]


def test_spc_individuals_with_nelson_rules(client: TestClient) -> None:
    params = {"signal": f"{CNC}/spindle_temp", **WINDOW, "chart": "imr", "rules": "nelson"}
    body = client.get("/api/spc", params=params).json()
    i_chart, mr = body["charts"]
    assert len(mr["columns"]["value"]) == len(i_chart["columns"]["value"]) - 1
    assert set(i_chart["violations"]) == {str(k) for k in range(1, 9)}
    assert body["capability"] is None  # no specification limits given


def test_spc_errors(client: TestClient) -> None:
    r = client.get("/api/spc", params={"signal": f"{CNC}/cycle_time", **WINDOW, "state": "off"})
    assert r.status_code == 422 and "too few" in r.json()["detail"]
    assert client.get("/api/spc", params={"signal": f"{CNC}/nope"}).status_code == 404


def test_equipment_describes_codes_and_signals(client: TestClient) -> None:
    body = client.get(f"/api/equipment/{CNC}").json()
    assert body["states"]["1"] == "running" and body["faults"]["201"] == "chip jam"
    power = next(s for s in body["signals"] if s["name"] == "spindle_power")
    assert power["sample_s"] == 1 and power["unit"] == "kW"
    assert client.get(f"/api/equipment/{LINE}").status_code == 404


def test_web_app_is_served_at_the_root(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'src="js/app.js"' in page.text
    assert client.get("/js/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/i18n/zh.json").json()["nav.overview"] == "总览"
    assert client.get("/api/health").json()["status"] == "ok"  # /api still wins over /
