"""An approved recommendation's realised result, end to end: the recommendation learnt from the
virtual machine's history, approved through the API (its values written through the audited
setpoint path to a real, virtual, Modbus device), the machine making its next parts with them,
and the list saying how many parts were made until there are 50 on either side of the change,
then the realised saving and defect rate, which agree with the parts stored.

The machine's parts are simulated on the backfill path, faster than real time; the server's clock
follows the simulated one (a recommendation is applied at the server's now, and measured up to
it), so that hours of production take seconds."""

from __future__ import annotations

import types
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import APIRouter, Depends, FastAPI

from smartfab.apps.quality import recommendations
from smartfab.apps.quality.parts import GOOD
from smartfab.apps.quality.recommendations import RecommendationBook
from smartfab.apps.quality.store import parts_from_store
from smartfab.devices.connector import Connector
from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.backfill import run_backfill
from smartfab.runtime.output import LogOutput
from smartfab.virtual.factory import Written
from smartfab.virtual.modbus.server import VirtualModbusServer
from smartfab.virtual.process import CNC
from smartfab.web import auth
from smartfab.web.auth import ApiLimits
from smartfab.web.routes import quality
from tests.devices.modbus.plants import connector_for
from tests.devices.sinks import running
from tests.web.conftest import bearer

S = 1_000_000
MINUTE, HOUR = 60 * S, 3600 * S
MONDAY = 1_709_532_000 * S  # 2024-03-04 06:00 UTC, a first shift's start
APPLIED = MONDAY + 2 * 24 * HOUR + 4 * HOUR + 30 * MINUTE  # Wednesday 10:30, a trial since 08:00
EQUIPMENT = "s/a/l/c/cnc"
SEED = 2  # its recommendation changes the settings


def plant(port: int) -> Plant:
    """One virtual CNC, fast (a part every 20 s or so), its parameters setpoints of a Modbus
    device at ``port``."""

    def sig(name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "unit": "1", "sim": name, "source": {"virtual": True}} | extra

    signals = [
        sig("state", type="int", role="state"),
        sig("energy", role="energy"),
        *(sig(p.name, range=[p.low, p.high], writable=True, sample_s=10,
              source={"modbus": {"connection": "plc", "register": 2 * i, "type": "float32"}})
          for i, p in enumerate(CNC.parameters)),
        sig("inspection", type="enum", values={0: "good", **{d.code: d.name for d in CNC.defects}}),
        sig("tool_count", type="int"),
        sig("hall_temp"),
        sig("material_lot", type="string", length=16),
    ]  # fmt: skip
    process = {
        "parameters": [{"signal": p.name, "max_step": p.max_step} for p in CNC.parameters],
        "inspection": "inspection", "context": ["hall_temp", "tool_count"],
        "material_lot": "material_lot", "max_defect_rate": 0.03, "takt_s": 23,
    }  # fmt: skip
    cnc = {"name": "cnc", "model": "cnc", "ideal_cycle_s": 20, "signals": signals,
           "process": process}  # fmt: skip
    return Plant.model_validate({
        "site": {"name": "s", "timezone": "UTC", "areas": [{"name": "a", "lines": [
            {"name": "l", "cells": [{"name": "c", "equipment": [cnc]}]}]}]},
        "connections": [{"name": "plc", "protocol": "modbus", "host": "127.0.0.1", "port": port,
                         "holding_registers": 2 * len(CNC.parameters), "input_registers": 0}],
    })  # fmt: skip


@dataclass
class Running:
    """What the audited setpoint path writes through: the plant and its running connectors."""

    plant: Plant
    connectors: dict[str, Connector] = field(default_factory=dict)


@dataclass
class Served:
    client: httpx.AsyncClient
    store: DuckDBStore
    plant: Plant
    security: Security
    folder: Path  # the recommendation book's
    clock: list[int]  # the server's now, in µs


@pytest.fixture
async def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Served]:
    device = VirtualModbusServer(plant(502))  # served on a free port
    await device.start()
    the_plant = plant(device.port)
    connector = connector_for(the_plant)
    folder = tmp_path / "quality"
    clock = [APPLIED]
    monkeypatch.setattr(quality, "now_us", lambda: clock[0])
    monkeypatch.setattr(recommendations, "time", types.SimpleNamespace(time=lambda: clock[0] / S))
    try:
        with (
            Security(tmp_path / "security.sqlite") as sec,
            DuckDBStore(tmp_path / "smartfab.duckdb") as store,
        ):
            # The quality routes as the server mounts them, writing through the connector.
            app = FastAPI()
            router = APIRouter(prefix="/api", dependencies=[Depends(auth.undeclared_guard)])
            router.include_router(
                quality.router(
                    PlantData(store, the_plant), Running(the_plant, {"plc": connector}), folder
                )
            )
            app.include_router(router)
            auth.install(app, sec, ApiLimits())
            async with running(connector) as got:
                await got.wait_for(lambda: connector.status.state == "connected")
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://t", headers=bearer(sec, "engineer")
                ) as client:
                    yield Served(client, store, the_plant, sec, folder, clock)
    finally:
        await device.stop()


def iso(t_us: int) -> str:
    return datetime.fromtimestamp(t_us / S, UTC).isoformat()


async def made_until(s: Served, until_us: int, writes: list[Written]) -> None:
    """The machine's parts from Monday's first shift to ``until_us``, with what was written
    (each pass from the start again: the same parts, stored once), and the server's clock at it."""
    await run_backfill(s.plant, s.store, SEED, MONDAY, until_us, LogOutput(), writes)
    s.clock[0] = until_us


async def listed(s: Served, rec_id: int) -> dict[str, Any]:
    r = await s.client.get("/api/quality/recommendations", params={"equipment": EQUIPMENT})
    assert r.status_code == 200, r.text
    entry: dict[str, Any] = next(e for e in r.json() if e["id"] == rec_id)
    return entry


async def test_the_realised_result_shows_progress_then_the_figures(served: Served) -> None:
    s = served
    await made_until(s, APPLIED, [])
    body = {"equipment": EQUIPMENT, "start": iso(MONDAY), "end": iso(APPLIED), "trials": 40}
    r = await s.client.post("/api/quality/recommendations", json=body)
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["measuring"] is None  # proposed: nothing to measure
    r = await s.client.post(f"/api/quality/recommendations/{rec['id']}/approve")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "applied" and r.json()["applied_us"] == APPLIED
    new = [float(v) for v in rec["recommendation"]["recommended"]]
    assert new != rec["recommendation"]["current"]
    writes = [Written(APPLIED, signal, v) for signal, v in zip(rec["signals"], new, strict=True)]
    assert len(s.security.audit.entries(action="setpoint.write")) == 3

    # Just applied: the parts of the period before are there, none made since.
    entry = await listed(s, rec["id"])
    assert entry["realised"] is None
    m = entry["measuring"]
    assert m["needed"] == 50 and m["parts_before"] >= 50 and m["parts_after"] == 0

    # A few minutes on: some parts, not yet enough.
    await made_until(s, APPLIED + 10 * MINUTE, writes)
    entry = await listed(s, rec["id"])
    assert entry["realised"] is None and 0 < entry["measuring"]["parts_after"] < 50

    # Enough parts: measured, kept, and what the stored parts say.
    await made_until(s, APPLIED + 45 * MINUTE, writes)
    entry = await listed(s, rec["id"])
    assert entry["measuring"] is None
    x = entry["realised"]
    assert x is not None and x["parts_after"] >= 50
    since = RecommendationBook(s.folder).get(rec["id"]).before_start_us
    t = parts_from_store(s.store, s.plant, EQUIPMENT, since, s.clock[0])
    before, after = t.between(since, APPLIED), t.between(APPLIED, s.clock[0])
    assert (len(before), len(after)) == (x["parts_before"], x["parts_after"])
    assert np.all(after.params() == new)  # made under the settings written
    for side, part in (("before", before), ("after", after)):
        good = part.defect == GOOD
        assert x[f"energy_{side}"] == pytest.approx(part.values["energy_kwh"].sum() / good.sum())
        assert x[f"defect_rate_{side}"] == pytest.approx(1 - good.mean())
    assert x["saving"] == pytest.approx(x["energy_before"] - x["energy_after"])
    assert x["saving_fraction"] == pytest.approx(x["saving"] / x["energy_before"])
    # Kept: a later look shows the same figures, not measured again.
    s.clock[0] += HOUR
    assert (await listed(s, rec["id"]))["realised"] == x
