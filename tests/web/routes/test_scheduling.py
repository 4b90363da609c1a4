"""Scheduling routes: a problem goes in as work orders or as a benchmark file, is solved in a
worker thread while the server answers, comes back as a checked schedule, and is re-planned when
a machine goes down. The solver itself is tested in tests/apps/scheduling; here: the routes
build the problem the user meant and hand back what the solver found."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from smartfab.apps.scheduling.formats import read_jsp
from smartfab.apps.scheduling.problem import Alternative, Job, Machine, Operation, Problem, Window
from smartfab.apps.scheduling.schedule import Assignment, check_assignments
from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.web.api import create_app
from tests.apps.scheduling.data import shared


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory,
    demo_plant: Plant,
    security: Security,
    admin_headers: dict[str, str],
) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("scheduling") / "s.duckdb"
    with DuckDBStore(path) as store:
        app = create_app(PlantData(store, demo_plant), security=security)
        yield TestClient(app, headers=admin_headers)


# Three work orders over two machines (times in minutes); cnc-02 is serviced at 10-25.
ORDERS: dict[str, Any] = {
    "name": "orders",
    "machines": [
        {"name": "cnc-01"},
        {"name": "cnc-02", "unavailable": [{"start": 10, "end": 25, "reason": "maintenance"}]},
    ],
    "jobs": [
        {"name": "WO-1", "due": 30, "priority": 3, "operations": [
            {"name": "turn", "alternatives": [{"machine": "cnc-01", "duration": 10}]},
            {"name": "mill", "alternatives": [{"machine": "cnc-02", "duration": 8},
                                              {"machine": "cnc-01", "duration": 12}]}]},
        {"name": "WO-2", "due": 40, "operations": [
            {"alternatives": [{"machine": "cnc-02", "duration": 6}]},
            {"alternatives": [{"machine": "cnc-01", "duration": 9}]}]},
        {"name": "WO-3", "release": 5, "due": 20, "operations": [
            {"alternatives": [{"machine": 0, "duration": 7}, {"machine": 1, "duration": 5}]}]},
    ],
    "time_limit_s": 2,
}  # fmt: skip


def _problem() -> Problem:
    """ORDERS as the solver sees it, to check the answers independently of the route."""
    a = Alternative
    return Problem(
        machines=(Machine("cnc-01"), Machine("cnc-02", (Window(10, 25, "maintenance"),))),
        jobs=(
            Job("WO-1", (Operation((a(0, 10),)), Operation((a(1, 8), a(0, 12)))), due=30,
                priority=3),
            Job("WO-2", (Operation((a(1, 6),)), Operation((a(0, 9),))), due=40),
            Job("WO-3", (Operation((a(0, 7), a(1, 5))),), release=5, due=20),
        ),
    )  # fmt: skip


def wait(client: TestClient, plan_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/api/scheduling/plans/{plan_id}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["state"] in ("done", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def _assignments(body: dict[str, Any]) -> list[Assignment]:
    return [
        Assignment(a["job"], a["operation"], a["machine"], a["start"], a["end"])
        for a in body["schedule"]["assignments"]
    ]


def test_work_orders_are_scheduled_around_maintenance(client: TestClient) -> None:
    r = client.post("/api/scheduling/plans", json={**ORDERS, "objective": "tardiness"})
    assert r.status_code == 202
    plan_id = r.json()["id"]
    # The server answers while the solve runs in its worker thread.
    assert client.get("/api/health").status_code == 200
    body = wait(client, plan_id)
    assert body["state"] == "done", body["error"]
    assert [m["name"] for m in body["machines"]] == ["cnc-01", "cnc-02"]
    assert body["jobs"][0]["operations"] == ["turn", "mill"] and body["jobs"][2]["due"] == 20
    s = body["schedule"]
    check_assignments(_problem(), _assignments(body))  # incl. nothing during the maintenance
    assert s["objective"] == "tardiness" and s["proven_optimal"] and s["gap"] == 0
    assert s["on_time_ratio"] == 1.0 and s["weighted_tardiness"] == 0
    assert s["completion"][2] <= 20
    listed = client.get("/api/scheduling/plans").json()
    assert listed[0]["id"] == plan_id and listed[0]["makespan"] == s["makespan"]


def test_machine_down_replans_keeping_started_operations(client: TestClient) -> None:
    before = wait(client, client.post("/api/scheduling/plans", json=ORDERS).json()["id"])
    assert before["state"] == "done"
    old = _assignments(before)
    down_at = 12
    running = next((a for a in old if a.machine == 0 and a.start < down_at < a.end), None)
    r = client.post(
        f"/api/scheduling/plans/{before['id']}/machine-down",
        json={"machine": "cnc-01", "at": down_at, "duration": 20, "time_limit_s": 2},
    )
    assert r.status_code == 202
    after = wait(client, r.json()["id"])
    assert after["state"] == "done", after["error"]
    assert after["parent"] == before["id"]
    assert after["down"] == {"machine": 0, "start": down_at, "end": down_at + 20}
    # The answer's problem carries the breakdown as a window of the failed machine.
    assert after["machines"][0]["unavailable"][-1] == {
        "start": down_at,
        "end": down_at + 20,
        "reason": "breakdown",
    }
    new = _assignments(after)
    started = {a for a in old if a.start < down_at} - {running}
    fixed = {
        a for a, out in zip(new, after["schedule"]["assignments"], strict=True) if out["fixed"]
    }
    assert fixed == started and after["schedule"]["kept"] == len(started)
    assert all(a.start >= down_at for a in new if a not in started)
    assert not any(a.machine == 0 and a.start < down_at + 20 and a.end > down_at for a in new
                   if a not in started)  # fmt: skip
    if running is not None:
        assert after["schedule"]["interrupted"]["job"] == running.job


def test_benchmark_file_upload(client: TestClient) -> None:
    path = shared("jsp", "instances", "ft06")
    body = {"instance": {"format": "jsp", "text": path.read_text(), "name": "ft06"},
            "machines": [{"name": "m2", "recurring": [
                {"start": 40, "end": 45, "period": 50, "reason": "shift change"}]}],
            "time_limit_s": 2}  # fmt: skip
    plan = wait(client, client.post("/api/scheduling/plans", json=body).json()["id"])
    assert plan["state"] == "done", plan["error"]
    windows = plan["machines"][2]["unavailable"]
    assert windows[:2] == [{"start": 40, "end": 45, "reason": "shift change"},
                           {"start": 90, "end": 95, "reason": "shift change"}]  # fmt: skip
    problem = read_jsp(path)
    machines = list(problem.machines)
    machines[2] = Machine("m2", tuple(Window(w["start"], w["end"]) for w in windows))
    check_assignments(Problem(tuple(machines), problem.jobs), _assignments(plan))
    s = plan["schedule"]
    assert s["makespan"] >= 55 and s["bound"] <= s["makespan"]  # 55 is ft06's optimum
    assert s["on_time_ratio"] is None  # no due dates in a benchmark file
    plain = {"instance": {"format": "jsp", "text": path.read_text()}, "time_limit_s": 2}
    s = wait(client, client.post("/api/scheduling/plans", json=plain).json()["id"])["schedule"]
    assert s["makespan"] == 55 and s["proven_optimal"]


def test_refusals(client: TestClient) -> None:
    post = lambda body: client.post("/api/scheduling/plans", json=body)  # noqa: E731
    assert post({"machines": [{"name": "a"}], "jobs": []}).status_code == 422
    bad_machine = {**ORDERS, "jobs": [{"name": "x", "operations": [
        {"alternatives": [{"machine": "lathe", "duration": 3}]}]}]}  # fmt: skip
    r = post(bad_machine)
    assert r.status_code == 422 and "lathe" in r.json()["detail"]
    r = post({"instance": {"format": "jsp", "text": "2 2\n0 5 1\n"}})
    assert r.status_code == 422 and "upload:2" in r.json()["detail"]
    assert post({**ORDERS, "time_limit_s": 0}).status_code == 422
    assert client.get("/api/scheduling/plans/nope").status_code == 404
    done = wait(client, post(ORDERS).json()["id"])
    r = client.post(f"/api/scheduling/plans/{done['id']}/machine-down",
                    json={"machine": "press", "at": 3, "duration": 5})  # fmt: skip
    assert r.status_code == 422
