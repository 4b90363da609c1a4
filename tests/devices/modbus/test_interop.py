"""The Modbus connector against a Modbus TCP server that is not pymodbus (pyModbusTCP's, from
PyPI): all four tables, bits of registers, 64-bit values, scale and offset, strings (either byte
order), arrays, enumerations, setpoint writes to a coil and to registers, and the server going away
and coming back (one outage, every kind of value marked stale)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from smartfab.model.plant import Plant
from smartfab.platform.points import PointBatch, now_us
from tests.devices.bound_plants import EQUIPMENT, modbus_signal
from tests.devices.modbus.plants import connector_for, device_plant
from tests.devices.mqtt.broker import free_port
from tests.devices.sinks import running

server_module = pytest.importorskip(
    "pyModbusTCP.server", reason="pyModbusTCP (the dev extra) is not installed"
)

SIGNALS = [
    modbus_signal("run", 5, None, table="coil"),
    modbus_signal("auto", 6, None, table="coil") | {"writable": True, "range": [0, 1]},
    modbus_signal("door", 9, None, table="discrete_input"),
    modbus_signal("ready", 1, "uint16", bit=15),
    modbus_signal("count", 2, "uint64", word_order="little"),
    modbus_signal("offset", 6, "int64"),
    modbus_signal("speed", 10, "float64"),
    modbus_signal("temp", 14, "int16", scale=0.1, offset=-50.0)
    | {"writable": True, "range": [-50, 100]},
    modbus_signal("power", 15, "float32") | {"writable": True, "range": [0, 1000]},
    modbus_signal("level", 3, "uint32", table="input", scale=0.01),
    {**modbus_signal("mode", 17, "int16"), "type": "enum", "values": {-1: "fault", 2: "auto"}},
]
# Beside the numbers: kept apart, so that values() above reads the numbers' names by id.
VALUED = [
    {**modbus_signal("product", 20, None), "type": "string", "length": 9},  # 20-24
    {**modbus_signal("lot", 25, None, byte_order="little"), "type": "string", "length": 4},
    {**modbus_signal("profile", 27, "int32", word_order="little", scale=0.1), "type": "array",
     "length": 3},  # 27-32
    {**modbus_signal("spectrum", 5, "float32", table="input"), "type": "array", "length": 2},
]  # fmt: skip
SIZES = {"holding_registers": 40, "input_registers": 10, "coils": 16, "discrete_inputs": 16}
COUNT = 2**48 + 5


def interop_plant(port: int) -> Plant:
    return device_plant(port, SIGNALS + VALUED, **SIZES)


@pytest.fixture
def server() -> Iterator[Any]:
    srv = server_module.ModbusServer("127.0.0.1", port=free_port(), no_block=True)
    bank = srv.data_bank
    bank.set_coils(5, [True, False])
    bank.set_discrete_inputs(9, [True])
    words = [0x8000]  # register 1: bit 15
    words += [5, 0, 0, 1]  # registers 2-5: 2**48 + 5, least significant word first
    words += [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE]  # registers 6-9: -2
    words += [0x4009, 0x21FB, 0x5444, 0x2D18]  # registers 10-13: pi as float64
    words += [715]  # register 14: (21.5 + 50) / 0.1
    bank.set_holding_registers(1, words)
    bank.set_holding_registers(17, [0xFFFF])  # mode -1
    # "HSG-4410A" high byte first, NUL-padded; "AL-7" low byte first
    bank.set_holding_registers(20, [0x4853, 0x472D, 0x3434, 0x3130, 0x4100, 0x4C41, 0x372D])
    # -1.5, 0, 70000.5 as int32 tenths, least significant word first
    bank.set_holding_registers(27, [0xFFF1, 0xFFFF, 0, 0, 0xAE65, 0x000A])
    bank.set_input_registers(3, [0x0001, 0x86A0])  # 100000 * 0.01
    bank.set_input_registers(5, [0x41AC, 0x0000, 0xBF80, 0x0000])  # 21.5, -1.0 as float32
    srv.start()
    yield srv
    srv.stop()


def values(points: PointBatch) -> dict[str, float]:
    """The latest value of each signal by name."""
    names = [s["name"] for s in SIGNALS]
    pairs = zip(points.signal_id.tolist(), points.value.tolist(), strict=True)
    return {names[sid - 100]: v for sid, v in pairs}


async def test_reads_every_table_and_layout(server: Any) -> None:
    connector = connector_for(interop_plant(server.port))
    async with running(connector) as got:
        await got.wait_for(lambda: len(values(got.good)) == len(SIGNALS) and len(got.arrays) >= 2)
    read = values(got.good)
    assert read == pytest.approx({
        "run": 1, "auto": 0, "door": 1, "ready": 1, "count": COUNT, "offset": -2,
        "speed": 3.141592653589793, "temp": 21.5, "power": 0.0, "level": 1000.0, "mode": -1,
    })  # fmt: skip
    texts = got.texts.take(got.texts.ts == got.texts.ts[-1])
    assert sorted(texts.text.tolist()) == ["AL-7", "HSG-4410A"]
    arrays = got.arrays.take(got.arrays.ts == got.arrays.ts[-1])
    rows = sorted(arrays.row(i).tolist() for i in range(len(arrays)))
    assert rows == [[-1.5, 0.0, 70000.5], [21.5, -1.0]]
    assert connector.status.errors == 0


async def test_writes_a_coil_and_registers(server: Any) -> None:
    bank = server.data_bank
    connector = connector_for(interop_plant(server.port))
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.state == "connected")
        await connector.write(f"{EQUIPMENT}/auto", 1)  # FC5
        await connector.write(f"{EQUIPMENT}/temp", -12.3)  # FC6: one register
        await connector.write(f"{EQUIPMENT}/power", 512.25)  # FC16: two registers
        assert await connector.read(f"{EQUIPMENT}/temp") == pytest.approx(-12.3)
    assert bank.get_coils(6) == [True]
    assert bank.get_holding_registers(14) == [377]  # (-12.3 + 50) / 0.1
    assert bank.get_holding_registers(15, 2) == [0x4400, 0x1000]  # 512.25 as float32


async def test_a_server_outage_is_one_outage(server: Any) -> None:
    connector = connector_for(interop_plant(server.port))
    async with running(connector) as got:
        await got.wait_for(lambda: len(got.good) >= len(SIGNALS))
        server.stop()  # its sessions end within a second
        await got.wait_for(lambda: bool(connector.outages), timeout_s=5)
        await asyncio.sleep(0.5)
        server.data_bank.set_coils(5, [False])
        back = now_us()
        server.start()
        await got.wait_for(lambda: not connector.outages, timeout_s=10)
        await got.wait_for(lambda: values(got.good.take(got.good.ts > got.gaps.ts[0]))
                           .get("run") == 0.0)  # fmt: skip
    got.assert_one_outage(connector.signal_ids, back_us=back)
