"""The REST API over a store filled by the virtual factory, through FastAPI's test client."""

from __future__ import annotations

import itertools
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

CNC = "shenyang/machining/cnc-line-1/cell-1/cnc-01"
START = datetime.fromtimestamp(FILLED_START_US / 1e6, UTC).isoformat()
END = datetime.fromtimestamp(FILLED_END_US / 1e6, UTC).isoformat()


@pytest.fixture(scope="module")
def client(
    filled_store: Path, demo_plant: Plant, security: Security, admin_headers: dict[str, str]
) -> Iterator[TestClient]:
    with DuckDBStore(filled_store) as store:
        app = create_app(PlantData(store, demo_plant), security=security)
        yield TestClient(app, headers=admin_headers)


def test_assets_are_the_isa95_tree(client: TestClient, demo_plant: Plant) -> None:
    tree = client.get("/api/assets").json()
    assert tree["level"] == "site" and tree["path"] == "shenyang"
    areas = {a["name"]: a for a in tree["children"]}
    assert set(areas) == {a.name for a in demo_plant.site.areas}
    equipment = [
        e
        for a in tree["children"]
        for li in a["children"]
        for c in li["children"]
        for e in c["children"]
    ]
    assert len(equipment) == len(list(demo_plant.iter_equipment()))
    assert tree["signals"] == len(list(demo_plant.iter_signals()))
    assert all(e["level"] == "equipment" and e["signals"] > 0 for e in equipment)


def test_signals_below_a_path(client: TestClient) -> None:
    signals = client.get("/api/signals", params={"under": CNC}).json()
    names = {s["name"] for s in signals}
    assert {"spindle_power", "state", "good_count"} <= names
    power = next(s for s in signals if s["name"] == "spindle_power")
    assert power["unit"] == "kW" and power["source"] == "opcua:opcua-factory"
    assert all(s["path"].startswith(CNC + "/") for s in signals)


def test_latest_values_are_the_last_stored_points(client: TestClient) -> None:
    body = client.get("/api/latest", params={"under": CNC}).json()
    cols = body["columns"]
    assert body["rows"] == len(client.get("/api/signals", params={"under": CNC}).json())
    assert set(cols) >= {"ts", "signal_id", "value", "quality", "path", "unit"}
    last = datetime.fromisoformat(max(cols["ts"]))
    assert last.timestamp() * 1e6 < FILLED_END_US
    assert last.timestamp() * 1e6 >= FILLED_END_US - 10_000_000  # slowest signals: 10 s


def test_history_downsampled_and_raw(client: TestClient) -> None:
    path = f"{CNC}/spindle_power"
    h = client.get(
        "/api/history", params={"signal": path, "start": START, "end": END, "buckets": 100}
    ).json()
    assert h["unit"] == "kW" and h["bucket_s"] == 216  # 6 h / 100 buckets
    cols = h["columns"]
    assert 90 <= h["rows"] <= 100
    assert all(
        lo <= av <= hi for lo, av, hi in zip(cols["min"], cols["avg"], cols["max"], strict=True)
    )
    assert sum(cols["count"]) == 6 * 3600  # spindle power is sampled every second

    # Without `buckets`, raw points: spindle power every second, oldest first, cut at `limit`.
    raw = client.get(
        "/api/history", params={"signal": path, "start": START, "end": END, "limit": 500}
    ).json()
    assert raw["bucket_s"] is None and raw["rows"] == 500 and raw["truncated"]
    times = [datetime.fromisoformat(t).timestamp() for t in raw["columns"]["ts"]]
    assert times[0] == FILLED_START_US / 1e6
    assert {round(b - a, 6) for a, b in itertools.pairwise(times)} == {1.0}
    assert set(raw["columns"]["quality"]) <= {0, 1}


def test_unknown_signal_is_404_with_a_suggestion(client: TestClient) -> None:
    r = client.get("/api/history", params={"signal": f"{CNC}/spindle_pwr"})
    assert r.status_code == 404
    assert "did you mean" in r.json()["detail"] and "spindle_power" in r.json()["detail"]


def test_bad_time_range_is_422(client: TestClient) -> None:
    r = client.get(
        "/api/history", params={"signal": f"{CNC}/spindle_power", "start": END, "end": START}
    )
    assert r.status_code == 422 and "before end" in r.json()["detail"]
    assert client.get("/api/events", params={"start": "yesterday"}).status_code == 422


def test_events_and_state_durations(client: TestClient) -> None:
    ev = client.get(
        "/api/events", params={"start": START, "end": END, "equipment": CNC, "limit": 100000}
    ).json()
    assert not ev["truncated"]
    newest = client.get(
        "/api/events", params={"start": START, "end": END, "equipment": CNC, "limit": 3}
    ).json()
    assert newest["truncated"] and newest["columns"]["ts"] == ev["columns"]["ts"][-3:]
    kinds = set(ev["columns"]["kind"])
    assert {"state", "count"} <= kinds
    assert all(e == CNC for e in ev["columns"]["equipment"])
    states = client.get("/api/states", params={"equipment": CNC, "start": START, "end": END})
    cols = states.json()["columns"]
    assert abs(sum(cols["seconds"]) - 6 * 3600) < 2
    assert "running" in cols["state"]


def test_connectors_without_ingestion(client: TestClient) -> None:
    assert client.get("/api/connectors").json() == []
    r = client.patch("/api/connectors/opcua-factory", json={"enabled": False})
    assert r.status_code == 409


def test_openapi_documents_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {
        "/api/assets",
        "/api/signals",
        "/api/latest",
        "/api/history",
        "/api/events",
        "/api/states",
        "/api/connectors",
        "/api/connectors/{name}",
    } <= set(spec["paths"])
    assert client.get("/docs").status_code == 200
