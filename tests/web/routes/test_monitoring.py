"""OEE, timeline and SPC routes over a store filled by the virtual factory. The figures
themselves are tested in tests/apps/monitoring; here: the routes feed the apps the right data
and the answers hold together."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from smartfab.apps.monitoring.reports import build_report, oee_text, report_period
from smartfab.model.plant import Plant
from smartfab.platform.points import EventBatch, EventKind, now_us
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.web.api import create_app
from smartfab.web.routes import monitoring
from tests.conftest import FILLED_END_US, FILLED_START_US

LINE = "shenyang/machining/cnc-line-1"
CNC = f"{LINE}/cell-1/cnc-01"
START = datetime.fromtimestamp(FILLED_START_US / 1e6, UTC).isoformat()
END = datetime.fromtimestamp(FILLED_END_US / 1e6, UTC).isoformat()
WINDOW = {"start": START, "end": END}


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat()


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
    # It ends where the store's data ends (its newest second), as the OEE's known time does.
    data_until = client.get("/api/oee", params={"path": CNC, **WINDOW}).json()["data_until"]
    assert cols["start"][0] == START and cols["end"][-1] == data_until
    assert END > data_until >= "2026-11-17T11:59:5"
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


def test_spc_defaults_fit_the_subgroups_to_the_points_there_are(client: TestClient) -> None:
    # The first 40 minutes of a shift hold a few dozen cycle times: too few for 10 subgroups of
    # 5, enough for subgroups of 2, which the default chooses.
    signal = f"{CNC}/cycle_time"
    early = {"signal": signal, "start": START, "end": START.replace("06:00", "06:40")}
    body = client.get("/api/spc", params=early).json()
    assert 20 <= body["points_used"] < 50 and body["subgroup_size"] == 2
    assert body["subgroups"] == body["points_used"] // 2 and body["too_few"] is None
    assert len(body["charts"][0]["columns"]["value"]) == body["subgroups"]
    # Six hours: subgroups of 5, as many as the points fill up to 100.
    whole = client.get("/api/spc", params={"signal": signal, **WINDOW}).json()
    assert whole["subgroup_size"] == 5
    assert whole["subgroups"] == min(100, whole["points_used"] // 5)
    # What is asked for explicitly is what is drawn.
    given = client.get("/api/spc", params={"signal": signal, **WINDOW, "n": 3, "subgroups": 12})
    assert (given.json()["subgroup_size"], given.json()["subgroups"]) == (3, 12)


def test_spc_with_too_few_points_says_so_and_what_to_do(client: TestClient) -> None:
    params = {"signal": f"{CNC}/cycle_time", **WINDOW, "state": "off"}
    r = client.get("/api/spc", params=params)
    body = r.json()
    assert r.status_code == 200 and body["charts"] == [] and body["subgroups"] == 0
    assert body["points_used"] < body["points_needed"] == 10 * body["subgroup_size"]
    assert "longer range" in body["too_few"] and "I-MR" in body["too_few"]
    assert "state" in body["too_few"]
    assert client.get("/api/spc", params={"signal": f"{CNC}/nope"}).status_code == 404


def test_spc_over_a_range_of_more_points_than_it_reads_samples_the_whole_range(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A week of a 1 Hz signal holds more points than a request reads: the chart is drawn from
    stretches spread over the whole range, not refused and not from its first points only."""
    monkeypatch.setattr(monitoring, "SPC_MAX_POINTS", 2_000)  # the window holds 21,600
    params = {"signal": f"{CNC}/spindle_temp", **WINDOW, "chart": "imr"}
    r = client.get("/api/spc", params=params)
    body = r.json()
    assert r.status_code == 200 and body["sampled"] is True and body["charts"]
    assert body["points_used"] <= 2_000
    ts = body["charts"][0]["columns"]["ts"]
    first, last = (datetime.fromisoformat(t).timestamp() * 1e6 for t in (ts[0], ts[-1]))
    assert first - FILLED_START_US < 0.1 * (FILLED_END_US - FILLED_START_US)
    assert FILLED_END_US - last < 0.1 * (FILLED_END_US - FILLED_START_US)
    whole = client.get("/api/spc", params={**params, "end": _iso(FILLED_START_US + 600_000_000)})
    assert whole.json()["sampled"] is False


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


def test_the_report_and_the_api_give_a_shift_the_same_oee(
    tmp_path: Path, security: Security, admin_headers: dict[str, str]
) -> None:
    """A machine that has run since an hour before the shift now in progress, the store's data
    ending a minute ago: the report and /api/oee show one figure for the shift so far, and for a
    shift before the first data both say there is no data."""
    state = {
        "name": "state",
        "unit": "1",
        "type": "int",
        "role": "state",
        "source": {"virtual": True},
    }
    eq = {"name": "m1", "ideal_cycle_s": 10, "signals": [state]}
    line = {"name": "line", "cells": [{"name": "cell", "equipment": [eq]}]}
    plant = Plant.model_validate({"site": {"name": "site", "areas": [
        {"name": "area", "lines": [line]}]}})  # fmt: skip
    now = now_us()
    # The three default shifts, every day in UTC: the one in progress and one a week before.
    today = datetime.fromtimestamp(now / 1e6, UTC).date()
    shifts = [
        report_period(plant, "site", "shift", day, name)
        for day in (today - timedelta(days=1), today)
        for name in ("early", "late", "night")
    ]
    start, end, label = next(s for s in shifts if s[0] <= now < s[1])
    began = start - 3600 * 1_000_000
    parts = np.arange(began, now - 60_000_000, 20_000_000)  # a part every 20 s: P = 0.5
    with DuckDBStore(tmp_path / "store.duckdb") as store:
        store.append_events(EventBatch.concat([
            EventBatch.of([began], "site/area/line/cell/m1", EventKind.STATE, "running"),
            EventBatch.of(parts, "site/area/line/cell/m1", EventKind.COUNT, "good", 1.0),
        ]))  # fmt: skip
        client = TestClient(create_app(PlantData(store, plant), security=security))
        client.headers.update(admin_headers)
        week_ago = start - 7 * 24 * 3600 * 1_000_000
        for a, b, name in ((start, end, label), (week_ago, week_ago + end - start, "before")):
            report = build_report(store, plant, "site", a, b, name, "shift")
            at = {"start": _iso(a), "end": _iso(b), "period": "shift"}
            api = client.get("/api/oee", params={"path": "site", **at}).json()
            row = {k: v[0] for k, v in api["total"]["columns"].items()}
            if a == start:  # in progress: the figures of the time so far, the same in both
                assert report.in_progress and api["in_progress"]
                assert row["oee"] == pytest.approx(report.total.oee, rel=1e-9)
                assert row["oee"] == pytest.approx(0.5, abs=0.02)
                assert not row["no_data"] and not report.total.no_data
            else:  # nothing known: "no data", not a NaN nor a 0 %
                assert row["oee"] is None and math.isnan(report.total.oee)
                assert row["no_data"] and report.total.no_data
                assert oee_text(report.total) == "no data"
