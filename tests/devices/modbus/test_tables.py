"""Every kind of value a Modbus device holds, over TCP against the virtual device: the four tables
(coils, discrete inputs, holding and input registers), bits of registers, 64-bit integers and
floats, scale and offset, a second unit id on one connection, and coils written as setpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest
from pymodbus.client import AsyncModbusTcpClient

from smartfab.model.plant import Plant
from smartfab.virtual.modbus.server import VirtualModbusServer
from tests.devices.bound_plants import EQUIPMENT, modbus_signal
from tests.devices.modbus.plants import connector_for, device_plant
from tests.devices.sinks import Collected, running

SIGNALS = [
    modbus_signal("run", 3, None, table="coil"),
    modbus_signal("auto", 17, None, table="coil") | {"writable": True, "range": [0, 1]},
    modbus_signal("door", 0, None, table="discrete_input"),
    modbus_signal("estop", 20, None, table="discrete_input"),
    modbus_signal("status_b0", 0, "uint16", bit=0),
    modbus_signal("status_b3", 0, "uint16", bit=3),
    modbus_signal("alarm_b20", 1, "uint32", bit=20, word_order="little"),
    modbus_signal("energy", 4, "uint64"),
    modbus_signal("delta", 8, "int64"),
    modbus_signal("temp", 12, "int16", scale=0.1, offset=-50.0),
    modbus_signal("level", 0, "float64", table="input"),
    modbus_signal("other_unit", 0, "int32", unit=7),
]
VALUES = [1, 0, 1, 1, 0, 1, 1, 2.0**53, -(2.0**40), 21.5, 0.125, -123456]
SIZES = {"holding_registers": 16, "input_registers": 4, "coils": 24, "discrete_inputs": 32}


def tables_plant(port: int = 502) -> Plant:
    return device_plant(port, SIGNALS, **SIZES)


@pytest.fixture
async def device() -> AsyncIterator[VirtualModbusServer]:
    server = VirtualModbusServer(tables_plant())
    server.set_values(np.arange(len(VALUES)), VALUES)
    await server.start()
    yield server
    await server.stop()


def latest(got: Collected) -> dict[int, float]:
    return dict(zip(got.points.signal_id.tolist(), got.points.value.tolist(), strict=True))


async def test_every_table_bit_and_width_reads_back(device: VirtualModbusServer) -> None:
    connector = connector_for(tables_plant(device.port))
    # Coils and discrete inputs are read like registers, in blocks: one request per table and
    # unit here.
    assert [(b.unit, b.table, b.start, b.count) for b in connector.map.blocks] == [
        (1, "coil", 3, 15), (1, "discrete_input", 0, 21), (1, "holding", 0, 13),
        (1, "input", 0, 4), (7, "holding", 0, 2),
    ]  # fmt: skip
    async with running(connector) as got:
        await got.wait_for(lambda: len(latest(got)) == len(VALUES))
    assert latest(got) == {100 + i: v for i, v in enumerate(VALUES)}


async def test_registers_hold_bits_and_values_as_the_plc_lays_them_out(
    device: VirtualModbusServer,
) -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=device.port)
    await client.connect()
    try:
        holding = (await client.read_holding_registers(0, count=13, device_id=1)).registers
        coils = (await client.read_coils(0, count=24, device_id=1)).bits
        other = (await client.read_holding_registers(0, count=2, device_id=7)).registers
    finally:
        client.close()
    assert holding[0] == 0b1000  # bit 3 set, bit 0 clear
    assert holding[2:4] == [0x10, 0]  # uint32 little word order: bit 20 is bit 4 of word 1
    assert holding[4:8] == [0x0020, 0, 0, 0]  # 2**53, big word order
    assert holding[12] == 715  # (21.5 + 50) / 0.1
    assert [i for i, bit in enumerate(coils[:24]) if bit] == [3]
    assert other == [0xFFFE, 0x1DC0]  # -123456


async def test_a_coil_setpoint_is_written_with_write_single_coil(
    device: VirtualModbusServer,
) -> None:
    connector = connector_for(tables_plant(device.port))
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.state == "connected")
        assert await connector.read(f"{EQUIPMENT}/auto") == 0.0
        await connector.write(f"{EQUIPMENT}/auto", 1)
        assert await connector.read(f"{EQUIPMENT}/auto") == 1.0
        await got.wait_for(lambda: latest(got).get(101) == 1.0)
    assert device.values()[1] == 1.0 and device.held[1]


async def test_the_device_refuses_writes_to_coils_that_are_not_setpoints(
    device: VirtualModbusServer,
) -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=device.port)
    await client.connect()
    try:
        refused = await client.write_coil(3, True, device_id=1)
        taken = await client.write_coils(17, [False], device_id=1)  # FC15 on the setpoint
    finally:
        client.close()
    assert refused.isError() and not taken.isError()
    assert device.values()[0] == 1.0 and device.values()[1] == 0.0
