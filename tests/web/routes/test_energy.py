"""Energy routes over the store of six hours of the demo plant, with a tariff and an emission
factor added to its plant file: energy per good part by asset, line, shift and product, the load
curve and its peak, cost and CO2; and a baseline that too short a period cannot give."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from smartfab.model.plant import EmissionFactor, EnergySettings, EnergyTariff, Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.web.api import create_app
from tests.web.conftest import bearer
from tests.web.routes.test_maintenance import WINDOW

TARIFF = EnergyTariff(currency="CNY", unit="CNY/kWh", periods=[
    {"name": "valley", "start": "23:00", "end": "07:00", "price": 0.35},
    {"name": "day", "start": "07:00", "end": "23:00", "price": 0.9}])  # fmt: skip


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, filled_store: Path, demo_plant: Plant,
    security: Security,
) -> Iterator[TestClient]:  # fmt: skip
    copy = tmp_path_factory.mktemp("energy") / "s.duckdb"
    shutil.copy(filled_store, copy)
    plant = demo_plant.model_copy(
        update={
            "energy": EnergySettings(
                tariff=TARIFF, emission_factor=EmissionFactor(value=0.5703, unit="kgCO2e/kWh")
            )
        }
    )
    with DuckDBStore(copy) as store:
        app = create_app(PlantData(store, plant), security=security)
        yield TestClient(app, headers=bearer(security, "viewer", name="ev"))


def test_energy_of_an_area_by_asset_line_shift_and_product(client: TestClient) -> None:
    r = client.get("/api/energy", params={"path": "shenyang/machining", **WINDOW})
    assert r.status_code == 200, r.text
    e = r.json()
    assert e["kwh"] > 0 and e["good"] > 0
    assert e["kwh"] == pytest.approx(sum(a["kwh"] for a in e["assets"]))
    assert e["kwh"] == pytest.approx(sum(x["kwh"] for x in e["lines"]))
    assert {x["key"] for x in e["lines"]} <= {"shenyang/machining/cnc-line-1",
                                              "shenyang/machining/cnc-line-2"}  # fmt: skip
    assert e["products"] and e["shifts"]
    assert e["cost"]["currency"] == "CNY" and e["cost"]["total"] > 0
    assert e["co2_kg"] == pytest.approx(e["kwh"] * 0.5703)
    assert e["peak_kw"] > 0


def test_load_curve_and_profile(client: TestClient) -> None:
    r = client.get("/api/energy/load", params={"path": "shenyang/machining", **WINDOW})
    load = r.json()
    assert len(load["ts"]) == len(load["kw"]) >= 20 and len(load["profile_weekday"]) == 24


def test_a_baseline_needs_enough_periods(client: TestClient) -> None:
    r = client.get("/api/energy/baseline", params={
        "path": "shenyang/machining", "baseline_start": WINDOW["start"],
        "baseline_end": WINDOW["end"], **WINDOW})  # fmt: skip
    assert r.status_code == 422 and "choose a longer baseline period" in r.json()["detail"]


def test_unknown_asset(client: TestClient) -> None:
    assert client.get("/api/energy", params={"path": "nowhere", **WINDOW}).status_code == 404
