"""Lineage, retention and export over HTTP, on a copy of the filled demo store with real tokens:
exported files read back equal to the stored points, scopes hold, limits answer 413."""

from __future__ import annotations

import io
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData, QueryError
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.web.api import create_app
from smartfab.web.routes import governance
from tests.conftest import FILLED_END_US, FILLED_START_US
from tests.web.conftest import bearer

CNC = "shenyang/machining/cnc-line-1/cell-1/cnc-01"
SIGNAL = f"{CNC}/spindle_power"
PRESS = "shenyang/pressing"
WINDOW = {
    "start": datetime.fromtimestamp(FILLED_START_US / 1e6, UTC).isoformat(),
    "end": datetime.fromtimestamp(FILLED_END_US / 1e6, UTC).isoformat(),
}
MAX_ROWS = 50_000


@pytest.fixture
def data(tmp_path: Path, filled_store: Path, demo_plant: Plant) -> Iterator[PlantData]:
    shutil.copy(filled_store, tmp_path / "s.duckdb")
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        yield PlantData(store, demo_plant)


@pytest.fixture
async def client(
    data: PlantData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, Security]]:
    monkeypatch.setattr(governance, "MAX_ROWS", MAX_ROWS)
    with Security(tmp_path / "sec.sqlite") as sec:
        transport = httpx.ASGITransport(app=create_app(data, security=sec))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c, sec


def stored(data: PlantData, path: str = SIGNAL) -> pa.Table:
    span = (FILLED_START_US / 1e6, FILLED_END_US / 1e6)  # seconds, as PlantData takes them
    return data.raw([path], *span).select(["ts", "value", "quality"])


async def test_lineage_names_connection_device_binding_and_first_last_seen(
    client: tuple[httpx.AsyncClient, Security], data: PlantData
) -> None:
    c, sec = client
    r = await c.get("/api/lineage", params={"under": CNC},
                    headers=bearer(sec, "viewer", "shenyang/machining"))  # fmt: skip
    assert r.status_code == 200, r.text
    rows = {row["path"]: row for row in r.json()}
    assert set(rows) == {s.path for s in data.signals(CNC)}
    power = rows[SIGNAL]
    conn = data.plant.connection("opcua-factory") if data.plant else None
    assert power["source"] == "opcua:opcua-factory" and power["protocol"] == "opcua"
    assert power["connection"] == "opcua-factory"
    assert conn is not None and power["endpoint"] == getattr(conn, "endpoint", None)
    assert power["address"].startswith("ns=")
    ts = stored(data).column("ts")
    assert datetime.fromisoformat(power["first_seen"]) == ts[0].as_py()
    assert datetime.fromisoformat(power["last_seen"]) == data.latest([SIGNAL])["ts"][0].as_py()
    # Another area's viewer may not look, nor may a scoped grant ask for the whole plant.
    for params, scope in (({"under": CNC}, PRESS), ({}, "shenyang/machining")):
        r = await c.get("/api/lineage", params=params, headers=bearer(sec, "viewer", scope))
        assert r.status_code == 403, r.text


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
async def test_an_export_reads_back_equal_to_the_stored_points(
    client: tuple[httpx.AsyncClient, Security], data: PlantData, fmt: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr("smartfab.platform.export.CHUNK_ROWS", 7_000)  # several chunks
    c, sec = client
    viewer = bearer(sec, "viewer", "shenyang/machining")
    r = await c.get("/api/export", params={"signal": SIGNAL, "format": fmt, **WINDOW},
                    headers=viewer)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"].endswith(f'.{fmt}"')
    want = stored(data)
    assert int(r.headers["x-points"]) == want.num_rows > 7_000
    if fmt == "parquet":
        got = pq.read_table(io.BytesIO(r.content))
        assert b"spindle_power" in (got.schema.metadata or {})[b"smartfab.signals"]
    else:
        types = {"ts": pa.timestamp("us", tz="UTC"), "value": pa.float64(), "quality": pa.uint8()}
        got = pacsv.read_csv(io.BytesIO(r.content),
                             convert_options=pacsv.ConvertOptions(column_types=types))  # fmt: skip
    assert got.column("path").unique().to_pylist() == [SIGNAL]
    assert got.select(["ts", "quality"]).equals(want.select(["ts", "quality"]))
    # Values: bit for bit in Parquet; CSV writes the shortest text that reads back the same.
    np.testing.assert_array_equal(got["value"].to_numpy(), want["value"].to_numpy())


async def test_export_permissions_limits_and_errors(
    client: tuple[httpx.AsyncClient, Security], data: PlantData
) -> None:
    c, sec = client
    one_hour = {"start": WINDOW["start"], "end": datetime.fromtimestamp(
        FILLED_START_US / 1e6 + 3600, UTC).isoformat()}  # fmt: skip
    other_area = bearer(sec, "viewer", PRESS)
    r = await c.get("/api/export", params={"signal": SIGNAL, **one_hour}, headers=other_area)
    assert r.status_code == 403
    r = await c.get("/api/export", params={"signal": SIGNAL, **one_hour})
    assert r.status_code == 401
    viewer = bearer(sec, "viewer")
    every = [s.path for s in data.signals(CNC)]
    r = await c.get("/api/export", params={"signal": every, **WINDOW}, headers=viewer)
    assert r.status_code == 413 and f"{MAX_ROWS} allowed" in r.json()["detail"]
    r = await c.get("/api/export", params={"signal": f"{CNC}/nope", **one_hour}, headers=viewer)
    assert r.status_code == 404
    r = await c.get("/api/export", params={"signal": SIGNAL, "format": "xlsx"}, headers=viewer)
    assert r.status_code == 422
    r = await c.get("/api/export", params={"signal": SIGNAL, "start": WINDOW["end"],
                                           "end": WINDOW["start"]}, headers=viewer)  # fmt: skip
    assert r.status_code == 422


async def test_retention_is_for_admins_validated_and_audited(
    client: tuple[httpx.AsyncClient, Security], data: PlantData
) -> None:
    c, sec = client
    admin = bearer(sec, "admin")
    r = await c.get("/api/retention", headers=admin)
    assert r.status_code == 200 and r.json()["classes"] == {}
    assert set(r.json()["roles"]) == {s.role for s in data.signals()}
    policy = {"measurement": 90, "*": 730}
    r = await c.put("/api/retention", json={"classes": policy}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["roles"]["measurement"] == 90 and r.json()["roles"]["state"] == 730
    assert data.store.retention() == policy
    for bad in ({"measurement": 0}, {"measurement": -1}, {"measurement": "x"}):
        r = await c.put("/api/retention", json={"classes": bad}, headers=admin)
        assert r.status_code == 422, bad
    assert data.store.retention() == policy
    (entry,) = sec.audit.entries(action="retention.set")
    assert (entry.before, entry.after) == ({}, policy)
    for role, scope in (("engineer", ""), ("admin", "shenyang/machining")):
        r = await c.put("/api/retention", json={"classes": {}}, headers=bearer(sec, role, scope))
        assert r.status_code == 403


def test_an_unknown_signal_is_refused_before_anything_is_written(data: PlantData) -> None:
    from smartfab.platform.export import plan_export

    with pytest.raises(QueryError, match="unknown signal"):
        plan_export(data, [SIGNAL, "x/y"], FILLED_START_US / 1e6, FILLED_END_US / 1e6, "csv")
