"""POST /api/setpoints end to end: a real API token, the real virtual Modbus device and connector,
the real audit and security logs. Engineers write within the plant file's limits; nobody else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import APIRouter, Depends, FastAPI

from smartfab.devices.connector import Connector
from smartfab.model.plant import Plant
from smartfab.platform.security import Security
from smartfab.virtual.modbus.server import VirtualModbusServer
from smartfab.web import auth
from smartfab.web.auth import ApiLimits
from smartfab.web.routes import setpoints
from tests.devices.bound_plants import EQUIPMENT
from tests.devices.modbus.test_connector import connector_for
from tests.devices.modbus.test_write import writable_plant
from tests.devices.sinks import running

SPEED, COUNT = f"{EQUIPMENT}/speed", f"{EQUIPMENT}/count"  # writable [0, 500]; read-only


@dataclass
class Running:
    plant: Plant
    connectors: dict[str, Connector] = field(default_factory=dict)


@pytest.fixture
async def api(
    tmp_path: Path,
) -> AsyncIterator[tuple[httpx.AsyncClient, Security, VirtualModbusServer]]:
    device = VirtualModbusServer(writable_plant())
    device.set_values(np.arange(3), [100.0, 50.0, 7.0])
    await device.start()
    plant = writable_plant(device.port)
    connector = connector_for(plant)
    with Security(tmp_path / "sec.sqlite") as sec:
        app = FastAPI()
        router = APIRouter(prefix="/api", dependencies=[Depends(auth.undeclared_guard)])
        router.include_router(setpoints.router(Running(plant, {"plc": connector})))
        app.include_router(router)
        auth.install(app, sec, ApiLimits())
        try:
            async with running(connector) as got:
                await got.wait_for(lambda: connector.status.state == "connected")
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    yield client, sec, device
        finally:
            await device.stop()


def token(sec: Security, role: str, scope: str = "") -> dict[str, str]:
    _, secret = sec.tokens.create("test", f"{role}-{scope or 'all'}", role, scope, expires_days=1)
    return {"Authorization": f"Bearer {secret}"}


async def test_an_engineer_writes_a_setpoint_and_it_is_audited(
    api: tuple[httpx.AsyncClient, Security, VirtualModbusServer],
) -> None:
    client, sec, device = api
    answer = await client.post(
        "/api/setpoints", json={"signal": SPEED, "value": 222.5}, headers=token(sec, "engineer")
    )
    assert answer.status_code == 200, answer.text
    (entry,) = sec.audit.entries(action="setpoint.write")
    assert answer.json() == {"signal": SPEED, "old": 100.0, "new": 222.5, "unit": "1",
                             "audit_seq": entry.seq}  # fmt: skip
    assert device.values()[0] == 222.5
    assert entry.actor.startswith("token:engineer-all")  # the token's name (and id)
    assert (entry.before, entry.after) == ({"value": 100.0}, {"value": 222.5})
    assert sec.audit.verify().ok
    assert any(e.detail == f"setpoint.write {SPEED}" for e in sec.events.query())


@pytest.mark.parametrize(
    ("role", "scope", "body", "status", "reason"),
    [
        ("operator", "", {"signal": SPEED, "value": 1}, 403, "setpoints.write is not granted"),
        ("viewer", "", {"signal": SPEED, "value": 1}, 403, "setpoints.write is not granted"),
        ("engineer", "s/a/other", {"signal": SPEED, "value": 1}, 403, "outside your part"),
        ("engineer", "", {"signal": SPEED, "value": 501}, 422, "outside the writable range"),
        ("engineer", "", {"signal": COUNT, "value": 1}, 422, "the signal is not writable"),
        ("engineer", "", {"signal": "s/a/l/c/e/nope", "value": 1}, 404, "no such signal"),
        ("engineer", "", {"signal": SPEED, "value": "NaN"}, 422, "finite number"),
    ],
)
async def test_writes_that_are_not_allowed_are_refused(
    api: tuple[httpx.AsyncClient, Security, VirtualModbusServer],
    role: str, scope: str, body: dict[str, object], status: int, reason: str,
) -> None:  # fmt: skip
    client, sec, device = api
    answer = await client.post("/api/setpoints", json=body, headers=token(sec, role, scope))
    assert answer.status_code == status and reason in answer.text
    assert device.values().tolist() == [100.0, 50.0, 7.0] and not device.held.any()
    no_token = await client.post("/api/setpoints", json=body)
    assert no_token.status_code == 401


async def test_the_writable_signals_and_the_history_of_writes_for_readers(
    api: tuple[httpx.AsyncClient, Security, VirtualModbusServer],
) -> None:
    """What the setpoints page shows a viewer: the signals that can be written, with their
    limits, and who wrote what (or tried to, and why it was refused), from the audit log; a
    user limited to another part of the plant sees neither."""
    client, sec, _ = api
    engineer = token(sec, "engineer")
    await client.post("/api/setpoints", json={"signal": SPEED, "value": 222.5}, headers=engineer)
    await client.post("/api/setpoints", json={"signal": SPEED, "value": 900}, headers=engineer)
    sec.audit.record("test", "user.add", "user:someone", None, None)  # not a setpoint

    viewer = token(sec, "viewer")
    writable = (await client.get("/api/setpoints", headers=viewer)).json()
    assert [(w["signal"], w["low"], w["high"]) for w in writable] == [
        (SPEED, 0, 500), (f"{EQUIPMENT}/pressure", -100, 300)
    ]  # fmt: skip
    history = (await client.get("/api/setpoints/history", headers=viewer)).json()
    assert [(h["signal"], h["written"], h["old"], h["new"], h["wanted"]) for h in history] == [
        (SPEED, True, 100.0, 222.5, None), (SPEED, False, None, None, 900.0)
    ]  # fmt: skip
    assert "outside the writable range" in history[1]["reason"]
    assert all(h["actor"].startswith("token:engineer-all") for h in history)
    one = await client.get("/api/setpoints/history", params={"signal": SPEED}, headers=viewer)
    assert len(one.json()) == 2
    none = await client.get(
        "/api/setpoints/history", params={"signal": f"{SPEED}x"}, headers=viewer
    )
    assert none.json() == []  # a path that merely begins like the signal's is another one

    elsewhere = token(sec, "viewer", "s/a/other")
    assert (await client.get("/api/setpoints", headers=elsewhere)).json() == []
    assert (await client.get("/api/setpoints/history", headers=elsewhere)).json() == []
    r = await client.get("/api/setpoints/history", params={"signal": SPEED}, headers=elsewhere)
    assert r.status_code == 403
    inside = token(sec, "viewer", "s/a")
    assert len((await client.get("/api/setpoints/history", headers=inside)).json()) == 2
