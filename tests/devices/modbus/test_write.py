"""Setpoint writes over Modbus TCP against the real virtual device: encoded as the binding says
(type, word order, scale, offset), refused before touching the device when the plant file does not
allow them, and refused by the device for registers that are not setpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest
from pymodbus.client import AsyncModbusTcpClient

from smartfab.model.plant import Plant
from smartfab.platform.setpoints import SetpointError
from smartfab.virtual.modbus.server import VirtualModbusServer
from tests.devices.bound_plants import EQUIPMENT, modbus_signal
from tests.devices.modbus.plants import connector_for, device_plant
from tests.devices.sinks import running

SIGNALS = [
    modbus_signal("speed", 0, "float32", word_order="little", scale=0.5, offset=10.0)
    | {"writable": True, "range": [0, 500]},
    modbus_signal("pressure", 2, "int16", scale=0.1) | {"writable": True, "range": [-100, 300]},
    modbus_signal("count", 3, "uint32"),
]
SPEED, PRESSURE, COUNT = (f"{EQUIPMENT}/{n}" for n in ("speed", "pressure", "count"))


def writable_plant(port: int = 502) -> Plant:
    return device_plant(port, SIGNALS, input_registers=0)


@pytest.fixture
async def device() -> AsyncIterator[VirtualModbusServer]:
    server = VirtualModbusServer(writable_plant())
    server.set_values(np.arange(3), [100.0, 50.0, 7.0])
    await server.start()
    yield server
    await server.stop()


async def test_a_written_setpoint_is_on_the_device_and_read_back(
    device: VirtualModbusServer,
) -> None:
    connector = connector_for(writable_plant(device.port))
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.state == "connected")
        assert await connector.read(SPEED) == 100.0
        await connector.write(SPEED, 123.5)
        await connector.write(PRESSURE, -12.3)
        assert device.values().tolist() == pytest.approx([123.5, -12.3, 7.0])
        assert await connector.read(SPEED) == 123.5
        assert await connector.read(PRESSURE) == pytest.approx(-12.3)
        # The simulation no longer overwrites what a client wrote; other signals it still sets.
        device.set_values(np.arange(3), [1.0, 2.0, 8.0])
        assert device.values().tolist() == pytest.approx([123.5, -12.3, 8.0])
        # ... and the polls deliver the written value like any other.
        await got.wait_for(lambda: 123.5 in got.points.value.tolist())


async def test_writes_the_plant_file_does_not_allow_are_refused(
    device: VirtualModbusServer,
) -> None:
    connector = connector_for(writable_plant(device.port))
    with pytest.raises(SetpointError, match="connection 'plc' is stopped"):
        await connector.write(SPEED, 1.0)
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.state == "connected")
        with pytest.raises(SetpointError, match=r"600 1 is outside the writable range \[0, 500\]"):
            await connector.write(SPEED, 600)
        with pytest.raises(SetpointError, match="not a writable signal of connection 'plc'"):
            await connector.write(COUNT, 1)
        with pytest.raises(SetpointError, match="nan is not a finite number"):
            await connector.write(SPEED, float("nan"))
    assert device.values().tolist() == [100.0, 50.0, 7.0]
    assert not device.held.any()


async def test_the_device_refuses_writes_to_registers_that_are_not_setpoints(
    device: VirtualModbusServer,
) -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=device.port)
    await client.connect()
    try:
        refused = await client.write_registers(3, [0, 9], device_id=1)  # the counter
        assert refused.isError()
        spanning = await client.write_registers(2, [1, 2], device_id=1)  # setpoint + counter
        assert spanning.isError()
        ok = await client.write_register(2, 42, device_id=1)  # pressure, raw 42 = 4.2
        assert not ok.isError()
    finally:
        client.close()
    assert device.values().tolist() == pytest.approx([100.0, 4.2, 7.0])
