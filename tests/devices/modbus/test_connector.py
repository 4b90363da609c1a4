from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import numpy as np
import pytest

from smartfab.devices.modbus.connector import ModbusConnector
from smartfab.platform.points import Quality, now_us
from smartfab.virtual.modbus.server import VirtualModbusServer
from tests.devices.bound_plants import modbus_signal
from tests.devices.modbus.plants import SIGNALS, connector_for, device_plant
from tests.devices.sinks import running

VALUES = [21.5, -3.2, 70000.0, 0.125]


@pytest.fixture
async def device() -> AsyncIterator[VirtualModbusServer]:
    server = VirtualModbusServer(device_plant())
    server.set_values(np.arange(4), VALUES)
    await server.start()
    yield server
    await server.stop()


async def test_reads_the_values_the_device_holds(device: VirtualModbusServer) -> None:
    connector = connector_for(device_plant(device.port))
    before = now_us()
    async with running(connector) as got:
        await got.wait_for(lambda: len(got.batches) >= 3)
    first = got.batches[0]
    assert sorted(first.signal_id.tolist()) == [100, 101, 102, 103]
    by_id = dict(zip(first.signal_id.tolist(), first.value.tolist(), strict=True))
    np.testing.assert_allclose([by_id[i] for i in (100, 101, 102, 103)], VALUES)
    assert (first.quality == Quality.GOOD).all()
    assert len(set(first.ts.tolist())) == 1  # one poll, one timestamp
    assert before <= first.ts[0] <= now_us()
    assert connector.status.errors == 0
    assert connector.status.signals == 4


async def test_an_exception_response_costs_only_its_block(
    device: VirtualModbusServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The connection claims more registers than the device has: register 50 is refused.
    far = [*SIGNALS, modbus_signal("far", 50, "uint16")]
    connector = connector_for(device_plant(device.port, far, holding_registers=100))
    async with running(connector) as got:
        await got.wait_for(lambda: len(got.batches) >= 3 and connector.status.errors >= 3)
    assert 104 not in got.points.signal_id  # nothing emitted for the refused block
    assert set(got.points.signal_id.tolist()) == {100, 101, 102, 103}
    assert connector.status.last_error == (
        "unit 1 holding registers 50-50 (s/a/l/c/e/far): exception response 2 (illegal_address)"
    )
    warnings = [r.getMessage() for r in caplog.records if "no points from it" in r.getMessage()]
    assert len(warnings) == 1  # a persistent problem is logged once, counted every poll


@asynccontextmanager
async def peer(answer: Callable[[bytes], bytes]) -> AsyncIterator[int]:
    """A TCP peer on loopback that answers every request with ``answer(request)``; yields its
    port."""
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        while data := await reader.read(260):
            writer.write(answer(data))
            await writer.drain()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for w in writers:
            w.close()
        await server.wait_closed()


async def survives(
    answer: Callable[[bytes], bytes], until: Callable[[ModbusConnector], bool]
) -> ModbusConnector:
    """Run a connector against ``peer(answer)`` until ``until(connector)``; it must emit nothing
    and stop cleanly."""
    async with peer(answer) as port:
        connector = connector_for(device_plant(port), timeout_s=0.2)
        async with running(connector) as got:
            await got.wait_for(lambda: until(connector))
            assert got.batches == []
    return connector


async def test_a_peer_answering_random_bytes_yields_errors_not_points(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(7)
    caplog.set_level(logging.CRITICAL, logger="pymodbus")
    connector = await survives(
        lambda _: bytes(rng.integers(0, 256, int(rng.integers(1, 40))).tolist()),
        lambda c: c.status.errors >= 4,
    )
    assert connector.status.points == 0


def short_answer(request: bytes) -> bytes:
    """A well-formed read response carrying one register fewer than asked for."""
    fields: tuple[int, ...] = struct.unpack(">HHHBBHH", request[:12])
    tid, _, _, unit, function, _, count = fields
    body = bytes([function, 2 * (count - 1)]) + b"\x00\x01" * (count - 1)
    return struct.pack(">HHHB", tid, 0, len(body) + 1, unit) + body


async def test_a_device_answering_the_wrong_length_yields_errors_not_points() -> None:
    connector = await survives(short_answer, lambda c: c.status.errors >= 2)
    assert connector.status.last_error.endswith("registers in the answer")
    assert connector.status.state == "stopped"


async def test_reconnects_after_the_device_went_away_with_one_outage(
    device: VirtualModbusServer, caplog: pytest.LogCaptureFixture
) -> None:
    connector = connector_for(device_plant(device.port))
    async with running(connector) as got:
        await got.wait_for(lambda: len(got.batches) >= 2)
        caplog.clear()
        stopped = now_us()
        await device.stop()
        await asyncio.sleep(0.6)
        device.set_values([0], [99.0])
        restarted = now_us()
        await device.start()
        await got.wait_for(lambda: 99.0 in got.points.value)
        await asyncio.sleep(0.2)
    gaps = got.gaps
    assert len(gaps) == 1
    start, seconds = int(gaps.ts[0]), float(gaps.value[0])
    assert stopped <= start <= stopped + 300_000  # noticed at the next poll
    assert start + seconds * 1e6 >= restarted  # covers the outage
    assert connector.status.gaps == 1
    got.assert_one_outage(connector.signal_ids, back_us=restarted)
    (line,) = [r for r in caplog.records if r.levelno >= logging.WARNING]  # and no traceback
    assert line.exc_info is None and line.message.startswith("plc: modbus connection 'plc' to ")
    assert line.message.endswith("; 4 signals marked bad; reconnecting")
    after = got.good.take(got.good.ts >= restarted)
    assert len(after) >= 4 and 99.0 in after.value
