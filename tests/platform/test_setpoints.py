"""Setpoint writes end to end on the demo plant: the real virtual factory's OPC UA server and
Modbus device, the real connectors, and the real audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from smartfab.devices.connector import Backoff, Connector
from smartfab.devices.modbus.connector import ModbusConnector
from smartfab.devices.opcua.connector import OpcUaConnector
from smartfab.model.loader import load_plant
from smartfab.model.plant import Plant
from smartfab.platform.security.audit import AuditLog
from smartfab.platform.security.database import SecurityDB
from smartfab.platform.setpoints import (
    REFUSED,
    WRITE,
    SetpointError,
    UnknownSignalError,
    write_setpoint,
)
from smartfab.virtual.runner import VirtualDevices
from tests.conftest import demo_plant_on_free_ports
from tests.devices.sinks import running

FEED = "shenyang/machining/cnc-line-1/cell-1/cnc-01/feed_override"  # OPC UA, float, [0, 150]
PRESSURE = "shenyang/pressing/press-line-1/cell-1/press-01/pressure_setpoint"  # Modbus float32
SPINDLE = "shenyang/machining/cnc-line-1/cell-1/cnc-01/spindle_speed"  # not writable
FAST = Backoff(initial_s=0.05, max_s=0.3, jitter=0.0)


@dataclass
class Running:
    """What write_setpoint needs of the running ingestion: the plant and its connectors."""

    plant: Plant
    connectors: Mapping[str, Connector] = field(default_factory=dict)


@pytest.fixture
async def factory(tmp_path: Path) -> AsyncIterator[tuple[Running, AuditLog]]:
    plant = load_plant(demo_plant_on_free_ports(tmp_path))
    devices = VirtualDevices(plant, seed=3)
    await devices.start()
    ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
    connectors: dict[str, Connector] = {
        "opcua-factory": OpcUaConnector.from_plant(plant, "opcua-factory", ids, backoff=FAST),
        "modbus-press": ModbusConnector.from_plant(plant, "modbus-press", ids, backoff=FAST),
    }
    try:
        async with running(connectors["opcua-factory"]) as a, running(connectors["modbus-press"]):
            connected = [c.status for c in connectors.values()]
            await a.wait_for(lambda: all(s.state == "connected" for s in connected))
            yield Running(plant, connectors), AuditLog(SecurityDB(tmp_path / "security.sqlite"))
    finally:
        await devices.stop()


async def test_a_setpoint_is_written_read_back_and_audited(
    factory: tuple[Running, AuditLog],
) -> None:
    target, audit = factory
    feed = await write_setpoint(target, FEED, 85.0, "erin", audit)
    pressure = await write_setpoint(target, PRESSURE, 180.5, "erin", audit)
    assert (feed.old, feed.new, feed.unit) == (100.0, 85.0, "%")  # the simulated default, then
    assert (pressure.old, pressure.new, pressure.unit) == (210.0, 180.5, "bar")
    # Read from the device again: the value is there, and the simulation does not undo it.
    assert await target.connectors["opcua-factory"].read(FEED) == 85.0
    assert await target.connectors["modbus-press"].read(PRESSURE) == 180.5
    entries = audit.entries()
    assert [(e.actor, e.action, e.target, e.before, e.after) for e in entries] == [
        ("erin", WRITE, FEED, {"value": 100.0}, {"value": 85.0}),
        ("erin", WRITE, PRESSURE, {"value": 210.0}, {"value": 180.5}),
    ]
    assert [feed.audit_seq, pressure.audit_seq] == [1, 2]
    assert audit.verify().ok


async def test_refused_writes_change_nothing_and_are_audited_with_the_reason(
    factory: tuple[Running, AuditLog],
) -> None:
    target, audit = factory
    with pytest.raises(SetpointError, match=r"260 bar is outside the writable range \[0, 250\]"):
        await write_setpoint(target, PRESSURE, 260, "erin", audit)
    with pytest.raises(SetpointError, match="the signal is not writable"):
        await write_setpoint(target, SPINDLE, 1000, "erin", audit)
    with pytest.raises(UnknownSignalError, match="no/such/signal: no such signal in the plant"):
        await write_setpoint(target, "no/such/signal", 1, "erin", audit)
    stopped = Running(target.plant, {"opcua-factory": target.connectors["opcua-factory"]})
    with pytest.raises(SetpointError, match="connector 'modbus-press' is not running"):
        await write_setpoint(stopped, PRESSURE, 200, "erin", audit)
    assert await target.connectors["modbus-press"].read(PRESSURE) == 210.0
    refused = audit.entries()
    assert [(e.action, e.target, e.after["value"]) for e in refused] == [
        (REFUSED, PRESSURE, 260), (REFUSED, SPINDLE, 1000),
        (REFUSED, "no/such/signal", 1), (REFUSED, PRESSURE, 200),
    ]  # fmt: skip
    assert "outside the writable range" in refused[0].after["reason"]


async def test_a_coil_is_written_through_the_audited_path(
    factory: tuple[Running, AuditLog],
) -> None:
    target, audit = factory
    # The press's automatic mode is a coil: written with FC5, read back with FC1.
    mode = "shenyang/pressing/press-line-1/cell-1/press-01/auto_mode"
    before = await target.connectors["modbus-press"].read(mode)
    result = await write_setpoint(target, mode, 1 - before, "erin", audit)
    assert (result.old, result.new) == (before, 1 - before)
    assert await target.connectors["modbus-press"].read(mode) == 1 - before
    with pytest.raises(SetpointError, match=r"2 1 is outside the writable range \[0, 1\]"):
        await write_setpoint(target, mode, 2, "erin", audit)
    assert [(e.action, e.after["value"]) for e in audit.entries()] == [
        (WRITE, 1 - before), (REFUSED, 2),
    ]  # fmt: skip
