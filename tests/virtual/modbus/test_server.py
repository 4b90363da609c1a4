from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest
from pymodbus.client import AsyncModbusTcpClient

from smartfab.devices.modbus.registers import encode
from smartfab.model.plant import Plant
from smartfab.virtual.modbus.server import VirtualModbusServer
from tests.devices.bound_plants import modbus_signal, plant


def two_units() -> Plant:
    """Two connections (units 1 and 2) behind one gateway, as in the demo plant."""
    return plant(
        [
            modbus_signal("t", 0, "float32"),
            modbus_signal("p", 2, "int16", scale=0.1),
            modbus_signal("n", 3, "uint32", word_order="little", table="input"),
            {**modbus_signal("q", 0, "uint16"), "source": {"modbus": {
                "connection": "plc2", "register": 0, "type": "uint16"}}},
        ],
        [
            {"name": "plc", "protocol": "modbus", "host": "127.0.0.1", "port": 502, "unit": 1,
             "holding_registers": 10, "input_registers": 5},
            {"name": "plc2", "protocol": "modbus", "host": "127.0.0.1", "port": 502, "unit": 2,
             "holding_registers": 4},
        ],
    )  # fmt: skip


@pytest.fixture
async def client_and_server() -> AsyncIterator[tuple[AsyncModbusTcpClient, VirtualModbusServer]]:
    server = VirtualModbusServer(two_units())
    server.set_values([0, 1, 2, 3], [21.5, -3.2, 70000, 7])
    await server.start()
    client = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=2, reconnect_delay=0)
    assert await client.connect()
    yield client, server
    client.close()
    await server.stop()


async def test_serves_the_encoded_values_of_every_unit(
    client_and_server: tuple[AsyncModbusTcpClient, VirtualModbusServer],
) -> None:
    client, server = client_and_server
    assert server.units == [1, 2]
    assert server.paths == tuple(f"s/a/l/c/e/{n}" for n in "tpnq")
    holding = await client.read_holding_registers(0, count=3, device_id=1)
    assert holding.registers == [0x41AC, 0x0000, 0xFFE0]  # 21.5 as float32, -32 as int16
    inputs = await client.read_input_registers(3, count=2, device_id=1)
    assert inputs.registers == encode([70000], "uint32", "little")[0].tolist()
    assert (await client.read_holding_registers(0, count=1, device_id=2)).registers == [7]

    server.set_values([0], [-1.0])
    holding = await client.read_holding_registers(0, count=2, device_id=1)
    assert holding.registers == [0xBF80, 0x0000]
    np.testing.assert_allclose(server.values(), [-1.0, -3.2, 70000, 7])


async def test_answers_like_a_device_outside_its_tables_and_to_writes(
    client_and_server: tuple[AsyncModbusTcpClient, VirtualModbusServer],
) -> None:
    client, _ = client_and_server
    past_the_end = await client.read_holding_registers(8, count=5, device_id=1)
    assert past_the_end.isError() and past_the_end.exception_code == 2  # illegal data address
    no_input_table = await client.read_input_registers(0, count=1, device_id=2)
    assert no_input_table.isError() and no_input_table.exception_code == 2
    write = await client.write_register(0, 5, device_id=1)
    assert write.isError()  # the registers are the simulation's, read-only
    assert (await client.read_holding_registers(0, count=1, device_id=1)).registers == [0x41AC]


async def test_stop_drops_clients_and_restart_serves_on_the_same_port() -> None:
    server = VirtualModbusServer(two_units())
    server.set_values([3], [9])
    await server.start()
    port = server.port
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, reconnect_delay=0)
    try:
        assert await client.connect()
        await server.stop()
        assert not server.running
        for _ in range(50):
            if not client.connected:
                break
            await asyncio.sleep(0.02)
        assert not client.connected
        assert not await client.connect()  # nobody listening

        await server.start()
        assert server.port == port
        assert await client.connect()
        assert (await client.read_holding_registers(0, count=1, device_id=2)).registers == [9]
    finally:
        client.close()
        await server.stop()
