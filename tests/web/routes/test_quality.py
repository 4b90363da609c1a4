"""Quality routes over a store holding 40 days of a virtual CNC's parts: the process list, the
defect Pareto, the live risk with drivers, and a recommendation that an engineer asks for and
viewers may only read. Approving writes through the audited setpoint path, which needs running
connectors: a read-only server refuses it (the book's writes are tested in tests/apps/quality)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from smartfab.platform.points import now_us
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.web.api import create_app
from tests.apps.quality.plant import EQUIPMENT, filled
from tests.web.conftest import bearer

DAYS = 40
START = now_us() - int((DAYS + 0.5) * 86_400e6)  # the history ends half a day ago


def iso(t_us: int) -> str:
    return datetime.fromtimestamp(t_us / 1e6, UTC).isoformat()


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, security: Security
) -> Iterator[tuple[TestClient, TestClient]]:
    folder = tmp_path_factory.mktemp("quality")
    plant, path = filled(folder, START, DAYS)
    with DuckDBStore(path) as store:
        app = create_app(PlantData(store, plant), security=security, models_dir=folder / "m")
        yield (TestClient(app, headers=bearer(security, "engineer")),
               TestClient(app, headers=bearer(security, "viewer", name="v")))  # fmt: skip


def test_processes_and_pareto(served: tuple[TestClient, TestClient]) -> None:
    _, viewer = served
    (p,) = viewer.get("/api/quality/processes").json()
    assert p["equipment"] == EQUIPMENT and len(p["parameters"]) == 3
    assert p["inspection"] == f"{EQUIPMENT}/inspection"
    assert p["defects"] == {"1": "burn", "2": "chatter", "3": "porosity"}
    r = viewer.get("/api/quality/pareto", params={"equipment": EQUIPMENT, "start": iso(START),
                                                  "end": iso(now_us())})  # fmt: skip
    assert r.status_code == 200, r.text
    counts = list(r.json()["defects"].values())
    assert counts == sorted(counts, reverse=True) and r.json()["parts"] > 20_000


def test_live_risk_names_its_drivers(served: tuple[TestClient, TestClient]) -> None:
    _, viewer = served
    r = viewer.get("/api/quality/risk", params={"equipment": EQUIPMENT, "days": DAYS + 1})
    assert r.status_code == 200, r.text
    parts = r.json()["parts"]
    assert len(parts) == 50 and all(0 <= v <= 1 for p in parts for v in p["risk"].values())
    assert all(len(p["drivers"]) == 3 for p in parts)


def test_engineers_recommend_viewers_read(served: tuple[TestClient, TestClient]) -> None:
    engineer, viewer = served
    body = {"equipment": EQUIPMENT, "start": iso(START), "end": iso(now_us()), "trials": 40}
    assert viewer.post("/api/quality/recommendations", json=body).status_code == 403
    r = engineer.post("/api/quality/recommendations", json=body)
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["status"] == "proposed" and len(rec["signals"]) == 3
    assert viewer.get("/api/quality/recommendations").json()[0]["id"] == rec["id"]
    assert viewer.post(f"/api/quality/recommendations/{rec['id']}/approve").status_code == 403
    # no connectors run in this server: nothing can be written
    assert engineer.post(f"/api/quality/recommendations/{rec['id']}/approve").status_code == 409
    assert engineer.post(f"/api/quality/recommendations/{rec['id']}/reject").json()["status"] == (
        "rejected"
    )
    # what its status no longer allows
    for action in ("reject", "measure"):
        r = engineer.post(f"/api/quality/recommendations/{rec['id']}/{action}")
        assert r.status_code == 409, r.text
    assert "never applied" in r.json()["detail"]


def test_an_unknown_recommendation(served: tuple[TestClient, TestClient]) -> None:
    engineer, _ = served
    for action in ("approve", "reject", "rollback", "measure"):
        r = engineer.post(f"/api/quality/recommendations/999/{action}")
        assert r.status_code == 404 and r.json()["detail"] == "no recommendation 999"


def test_too_little_data_says_what_it_needs(served: tuple[TestClient, TestClient]) -> None:
    engineer, _ = served
    body = {"equipment": EQUIPMENT, "start": iso(START), "end": iso(START + int(3600e6))}
    r = engineer.post("/api/quality/recommendations", json=body)
    assert r.status_code == 422 and "needs at least" in r.json()["detail"]
