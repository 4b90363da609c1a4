"""Twin routes: the line twins from the plant model, calibration from the stored history and a
small what-if experiment, each as a job the page polls. The simulation, calibration and
statistics are tested in tests/apps/twin; here: the routes run them and hand back the result."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.web.api import create_app
from tests.conftest import FILLED_END_US, FILLED_START_US

LINE = "shenyang/machining/cnc-line-1"


@pytest.fixture(scope="module")
def store_path(filled_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A copy: calibration writes its result into the store's settings.
    path = tmp_path_factory.mktemp("twin") / "s.duckdb"
    shutil.copy(filled_store, path)
    return path


@pytest.fixture(scope="module")
def store(store_path: Path) -> Iterator[DuckDBStore]:
    with DuckDBStore(store_path) as s:
        yield s


@pytest.fixture(scope="module")
def client(
    store: DuckDBStore, demo_plant: Plant, security: Security, admin_headers: dict[str, str]
) -> TestClient:
    app = create_app(PlantData(store, demo_plant), security=security)
    return TestClient(app, headers=admin_headers)


def wait(client: TestClient, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/api/twin/jobs/{job_id}").json()
        if body["state"] in ("done", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat()


def test_lines_start_from_the_plant_design(client: TestClient, demo_plant: Plant) -> None:
    body = client.get("/api/twin/lines").json()
    assert body["calibrated_from"] is None
    lines = {li["line"]: li for li in body["lines"]}
    assert LINE in lines and len(lines) == sum(len(a.lines) for a in demo_plant.site.areas)
    stations = lines[LINE]["stations"]
    assert [s["name"] for s in stations][:2] == ["cnc-01", "cnc-02"]
    assert (
        stations[0]["cycle_s"] == stations[0]["ideal_cycle_s"]
        and stations[-1]["buffer_after"] is None
    )
    # Design data has no random element: the page is told, and so is an experiment's reader,
    # since its replications agree and every interval is zero wide.
    assert lines[LINE]["deterministic"] is True
    change = {"kind": "machine", "station": "cnc-03", "amount": 1}
    r = client.post("/api/twin/experiments", json={
        "line": LINE, "scenarios": [{"name": "a", "changes": [change]}],
        "horizon_days": 1, "warmup_days": 0.1, "replications": 2, "workers": 1,
    })  # fmt: skip
    job = wait(client, r.json()["id"])
    assert job["state"] == "done", job["error"]
    res = job["result"]
    assert res["deterministic"] is True and res["baseline"]["throughput_per_h"]["half_width"] == 0


def test_calibrate_then_experiment(
    client: TestClient,
    store: DuckDBStore,
    demo_plant: Plant,
    security: Security,
    admin_headers: dict[str, str],
) -> None:
    r = client.post("/api/twin/calibrate",
                    json={"start": _iso(FILLED_START_US), "end": _iso(FILLED_END_US)})  # fmt: skip
    assert r.status_code == 202
    job = wait(client, r.json()["id"])
    assert job["state"] == "done", job["error"]
    assert job["result"]["calibrated_from"]["start"].startswith("2026-11-17T06:00")
    assert job["progress"]["done"] == job["progress"]["total"] > 5
    # Six hours of history: the notes say, in a form a page can translate, that the rest of the
    # week keeps the design calendar.
    notes = {(n["code"], n["values"].get("line")): n for n in job["result"]["notes"]}
    partial = notes[("partial_week", LINE)]
    assert partial["values"]["covered"] == pytest.approx(6 / 168, abs=1e-3)
    assert LINE in partial["text"]
    body = client.get("/api/twin/lines").json()
    assert body["calibrated_from"]["end"].startswith("2026-11-17T12:00")
    cnc = next(li for li in body["lines"] if li["line"] == LINE)
    assert cnc["stations"][0]["cycle_s"] != cnc["stations"][0]["ideal_cycle_s"]  # fitted
    assert cnc["deterministic"] is False
    # Tuesday's break from the history, Wednesday's shifts from the design calendar.
    assert {"Tue 10:00-10:30 planned_stop", "Wed 14:10-18:00 production"} <= set(cnc["calendar"])

    experiment = {
        "line": "cnc-line-1",
        "scenarios": [
            {"name": "faster cnc-02", "changes": [
                {"kind": "cycle_time", "station": "cnc-02", "factor": 0.8}]},
            {"name": "second cnc-01", "changes": [
                {"kind": "machine", "station": "cnc-01", "amount": 1},
                {"kind": "buffer", "station": "cnc-01", "amount": 5}]},
        ],
        # A week and a day: the calibration window is one Tuesday morning; the calendar keeps
        # the design's shifts for the rest of the week.
        "horizon_days": 8, "warmup_days": 1, "replications": 2, "workers": 2,
    }  # fmt: skip
    r = client.post("/api/twin/experiments", json=experiment)
    assert r.status_code == 202
    assert client.get("/api/health").status_code == 200  # the server answers meanwhile
    job = wait(client, r.json()["id"])
    assert job["state"] == "done", job["error"]
    assert job["progress"]["done"] == job["progress"]["total"] == 2 * 2 * 2
    res = job["result"]
    assert res["line"] == LINE and res["stations"][0] == "cnc-01"
    assert [s["name"] for s in res["scenarios"]] == ["faster cnc-02", "second cnc-01"]
    for scenario in (res["baseline"], *res["scenarios"]):
        for kpi in ("throughput_per_h", "lead_time_h", "wip"):
            e = scenario[kpi]
            assert e["n"] == 2 and e["low"] <= e["mean"] <= e["high"]
        assert scenario["bottleneck"] in res["stations"]
        assert set(scenario["bottleneck_shares"]) == set(res["stations"])
    assert res["scenarios"][1]["changes"][0]["kind"] == "machine"
    assert res["deterministic"] is False
    assert [type(s["throughput_unchanged"]) for s in res["scenarios"]] == [bool, bool]
    assert res["baseline"]["throughput_per_h"]["half_width"] > 0

    # The calibration is kept in the store: a new server over it starts from it.
    again = TestClient(
        create_app(PlantData(store, demo_plant), security=security), headers=admin_headers
    )
    assert again.get("/api/twin/lines").json()["calibrated_from"] == body["calibrated_from"]


def test_refusals(client: TestClient) -> None:
    post = lambda body: client.post("/api/twin/experiments", json=body)  # noqa: E731
    change = {"kind": "cycle_time", "station": "cnc-01", "factor": 0.9}
    ok = {"line": LINE, "scenarios": [{"name": "a", "changes": [change]}],
          "horizon_days": 1, "warmup_days": 0.1, "replications": 2}  # fmt: skip
    assert post({**ok, "line": "no-such-line"}).status_code == 404
    r = post({**ok, "scenarios": [{"name": "a", "changes": [{**change, "station": "x"}]}]})
    assert r.status_code == 422 and "no station 'x'" in r.json()["detail"]
    assert post({**ok, "warmup_days": 2}).status_code == 422
    assert post({**ok, "scenarios": []}).status_code == 422
    shift = {"kind": "shift", "window": "Sat 25:00-26:00 production"}
    assert post({**ok, "scenarios": [{"name": "a", "changes": [shift]}]}).status_code == 422
    assert client.get("/api/twin/jobs/nope").status_code == 404
    # Numbers that would ask the simulation for unbounded work are refused before a job starts.
    for extreme in ({"factor": 1e-300}, {"factor": 1e308}, {"kind": "machine", "amount": 10**9}):
        scenarios = [{"name": "a", "changes": [{**change, **extreme}]}]
        assert post({**ok, "scenarios": scenarios}).status_code == 422, extreme
    assert post({**ok, "warmup_days": 1e308, "horizon_days": 1e3}).status_code == 422
    assert client.post("/api/twin/calibrate", json={"slack": 1e308}).status_code == 422


def test_cancel_an_experiment(client: TestClient) -> None:
    change = {"kind": "cycle_time", "station": "cnc-01", "factor": 0.9}
    long = {"line": LINE, "scenarios": [{"name": "a", "changes": [change]}],
            "horizon_days": 120, "warmup_days": 1, "replications": 20, "workers": 2}  # fmt: skip
    job_id = client.post("/api/twin/experiments", json=long).json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/api/twin/jobs/{job_id}").json()["progress"].get("done", 0) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.delete(f"/api/twin/jobs/{job_id}").status_code == 200
    job = wait(client, job_id)
    assert job["state"] == "cancelled" and job["result"] is None
    assert job["progress"]["done"] < job["progress"]["total"] == 40
