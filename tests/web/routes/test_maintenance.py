"""Maintenance routes on six hours of the virtual factory: the fleet ranked by risk, one
equipment's health trend and anomalies, and a work order raised from a predicted failure that a
planner accepts, schedules (plans then keep the machine free) and closes over HTTP, journalled
in the store and in the audit log.
The models themselves are tested in tests/apps/maintenance."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from smartfab.apps.maintenance.workorders import Evidence, WorkOrders
from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.web.api import create_app
from tests.conftest import FILLED_END_US, FILLED_START_US
from tests.web.conftest import bearer
from tests.web.routes.test_scheduling import wait

CNC = "shenyang/machining/cnc-line-1/cell-1/cnc-01"
WINDOW = {
    "start": datetime.fromtimestamp(FILLED_START_US / 1e6, UTC).isoformat(),
    "end": datetime.fromtimestamp(FILLED_END_US / 1e6, UTC).isoformat(),
}
EVIDENCE = Evidence(35.0, 12.0, 6.0, 20.0, 3, "rul-plant-x-60m@v1")


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, filled_store: Path, demo_plant: Plant,
    security: Security,
) -> Iterator[tuple[TestClient, DuckDBStore, str]]:  # fmt: skip
    folder = tmp_path_factory.mktemp("maintenance")
    shutil.copy(filled_store, folder / "s.duckdb")
    with DuckDBStore(folder / "s.duckdb") as store:
        # An order raised before the server started: the routes find it by replay.
        order = WorkOrders(store).raise_for(CNC, FILLED_END_US + 12 * 3_600_000_000,
                                            "spindle_bearing", EVIDENCE)  # fmt: skip
        assert order is not None
        app = create_app(PlantData(store, demo_plant), security=security,
                         models_dir=folder / "models")  # fmt: skip
        yield TestClient(app, headers=bearer(security, "engineer")), store, order.id


def test_fleet_ranked_by_risk(served: tuple[TestClient, DuckDBStore, str]) -> None:
    client, _, _ = served
    r = client.get("/api/maintenance/fleet", params=WINDOW)
    assert r.status_code == 200, r.text
    fleet = r.json()["equipment"]
    assert len(fleet) == 17  # every machine of the virtual factory
    # Six hours hold no recorded failure: no RUL model, health from each machine's baseline,
    # and no chance of failing to state; the least healthy first.
    assert {e["model"] for e in fleet} == {"baseline"}
    assert all(e["risk"] is None and e["rul_note"]["code"] == "failures" for e in fleet)
    health = [e["health"] for e in fleet]
    assert health == sorted(health)
    assert all(e["rul_h"] is None and 0 <= e["health"] <= 100 for e in fleet)
    cnc = next(e for e in fleet if e["equipment"] == CNC)
    assert cnc["open_orders"] == 1
    line = client.get("/api/maintenance/fleet", params={**WINDOW, "under": "shenyang/pressing"})
    assert {e["equipment"].split("/")[-1] for e in line.json()["equipment"]} == {
        "press-01", "press-02", "press-03"
    }  # fmt: skip


def test_too_little_running_data_reads_as_unknown(
    served: tuple[TestClient, DuckDBStore, str],
) -> None:
    client, _, _ = served
    # Fifteen minutes of one-minute rows: too few to tell any machine's health.
    start = datetime.fromtimestamp((FILLED_END_US - 15 * 60_000_000) / 1e6, UTC).isoformat()
    r = client.get("/api/maintenance/fleet", params={"start": start, "end": WINDOW["end"]})
    assert r.status_code == 200, r.text
    fleet = r.json()["equipment"]
    assert len(fleet) == 17 and r.json()["training"] is False
    for e in fleet:
        assert (e["health"], e["risk"], e["model"], e["failure_predicted"]) == (
            None, None, "", False
        ), e  # fmt: skip
        note = e["health_note"]
        assert note["code"] == "running_data" and note["params"]["need_h"] > 0
        assert "needs" in note["text"]
        assert e["rul_note"]["code"] == "failures" and "train-fleet" in e["rul_note"]["text"]
    detail = client.get(f"/api/maintenance/equipment/{CNC}",
                        params={"start": start, "end": WINDOW["end"]}).json()  # fmt: skip
    assert detail["health"] is None and detail["times"] == detail["health_trend"] == []


def test_equipment_trend_and_anomalies(served: tuple[TestClient, DuckDBStore, str]) -> None:
    client, _, order_id = served
    r = client.get(f"/api/maintenance/equipment/{CNC}", params=WINDOW)
    assert r.status_code == 200, r.text
    body = r.json()
    # Rows of the six hours in which the machine ran: its stops are not in its trend.
    assert body["step_s"] == 120 and len(body["times"]) == len(body["health_trend"])
    assert 100 <= len(body["times"]) < 180 and body["health_note"] is None
    assert "spindle_temp" in body["signals"]
    assert all(a["sensor"] in body["signals"] for a in body["anomaly_list"])
    assert [o["id"] for o in body["orders"]] == [order_id]
    missing = client.get("/api/maintenance/equipment/shenyang/nothing", params=WINDOW)
    assert missing.status_code == 404


def test_work_order_accept_schedule_close(
    served: tuple[TestClient, DuckDBStore, str], security: Security
) -> None:
    client, store, order_id = served
    orders = client.get("/api/maintenance/workorders", params={"under": CNC, "open": True})
    assert [(o["id"], o["status"], o["mode"]) for o in orders.json()] == [
        (order_id, "open", "spindle_bearing")
    ]
    assert orders.json()[0]["evidence"]["rul_low_h"] == 6.0
    # Without a RUL model nothing is predicted: assessing raises no order.
    raised = client.post("/api/maintenance/assess", json={"under": CNC, **WINDOW})
    assert raised.status_code == 200 and raised.json() == []

    viewer = bearer(security, "viewer")
    denied = client.post(f"/api/maintenance/workorders/{order_id}/accept", headers=viewer)
    assert denied.status_code == 403
    assert client.post(f"/api/maintenance/workorders/{order_id}/accept").json()["status"] == (
        "accepted"
    )
    assert client.post(f"/api/maintenance/workorders/{order_id}/accept").status_code == 409
    window = {"start": "2026-11-20T06:00:00Z", "end": "2026-11-20T10:00:00Z"}
    done = client.post(f"/api/maintenance/workorders/{order_id}/schedule", json=window).json()
    assert done["status"] == "scheduled"
    assert done["window_start"].startswith("2026-11-20T06:00:00")
    # A plan made now keeps cnc-01 free for the maintenance: minutes 360-600 from its origin.
    problem = {"machines": [{"name": "cnc-01"}], "origin": "2026-11-20T00:00:00Z",
               "jobs": [{"name": "J", "operations": [
                   {"alternatives": [{"machine": "cnc-01", "duration": 500}]}]}],
               "time_limit_s": 1}  # fmt: skip
    plan_id = client.post("/api/scheduling/plans", json=problem).json()["id"]
    plan = wait(client, plan_id)
    assert plan["machines"][0]["unavailable"] == [
        {"start": 360, "end": 600, "reason": f"maintenance {order_id}"}
    ]
    [op] = plan["schedule"]["assignments"]
    assert op["end"] <= 360 or op["start"] >= 600
    closed = client.post(f"/api/maintenance/workorders/{order_id}/close",
                         json={"comment": "bearing replaced"}).json()  # fmt: skip
    assert (closed["status"], closed["comment"]) == ("closed", "bearing replaced")
    assert client.get("/api/maintenance/workorders", params={"open": True}).json() == []
    # Journalled: a new server over the store sees the closed order.
    assert WorkOrders(store).get(order_id).closed_by.startswith("test")
    audit = [e.action for e in security.audit.entries(limit=1000)]
    assert {"workorder.accept", "workorder.schedule", "workorder.close"} <= set(audit)
