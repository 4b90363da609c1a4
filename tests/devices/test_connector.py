"""The reconnect loop every connector shares (devices/connector.py), against real sockets."""

from __future__ import annotations

import asyncio
import socket

import pytest

from smartfab.devices.connector import Backoff, Connector, PointSink, SignalIds
from smartfab.devices.modbus.connector import ModbusConnector
from smartfab.virtual.modbus.server import VirtualModbusServer
from tests.devices.modbus.plants import FAST, device_plant, ids_of
from tests.devices.sinks import running


async def test_a_device_that_accepts_and_drops_is_one_outage_with_growing_backoff() -> None:
    accepted = 0

    async def drop(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        writer.close()  # accepts the connection, then answers nothing

    flapping = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = flapping.sockets[0].getsockname()[1]
    plant = device_plant(port)
    connector = ModbusConnector.from_plant(
        plant, "plc", ids_of(plant), timeout_s=0.2,
        backoff=Backoff(initial_s=0.1, factor=2.0, max_s=5.0, jitter=0.0),
    )  # fmt: skip
    async with running(connector) as got:
        await asyncio.sleep(2.5)
        # Each failed attempt doubles the wait: 0.1 + 0.2 + 0.4 + 0.8 s plus the attempts'
        # timeouts fit in 2.5 s, a constant 0.1 s backoff would have made over a dozen.
        assert 2 <= accepted <= 6, accepted
        assert len(got.gaps) == 0  # no data has flowed yet: the outage is still going on
        flapping.close()
        await flapping.wait_closed()

        # The device comes back for real on the same port: one gap covers the whole outage.
        device = VirtualModbusServer(plant, port=port)
        await device.start()
        try:
            await got.wait_for(lambda: len(got.points) > 0 and len(got.gaps) == 1)
            assert got.gaps.value[0] >= 2.5
        finally:
            await device.stop()


async def test_an_outage_still_going_on_at_stop_is_recorded_up_to_the_stop() -> None:
    # Nothing listens on the port: the device is down from the start.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    plant = device_plant(port)
    connector = ModbusConnector.from_plant(plant, "plc", ids_of(plant), backoff=FAST)
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.errors >= 3)
        assert len(got.gaps) == 0
    assert connector.outages == {} and connector.status.state == "stopped"
    got.assert_one_outage(connector.signal_ids)
    assert got.gaps.detail[0].startswith(f"modbus connection 'plc' to modbus://127.0.0.1:{port}/1")
    assert "still lost when the connector stopped" in got.gaps.detail[0]


class _Unreachable(Connector):
    """A device that never answers, with a signal of every kind of value."""

    protocol = "test"

    def __init__(self) -> None:
        super().__init__("unreachable", "test://nowhere", FAST)

    @property
    def signal_ids(self) -> SignalIds:
        return SignalIds.of([7, 8, 9, 10], ["number", "text", "array", "text"])

    async def _connect(self) -> None:
        raise ConnectionRefusedError("refused")

    async def _stream(self, emit: PointSink) -> None:
        raise AssertionError("never connected")

    async def _disconnect(self) -> None:
        pass


async def test_an_outage_marks_every_kind_of_value_stale_alike() -> None:
    connector = _Unreachable()
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.errors >= 2)
    got.assert_one_outage(connector.signal_ids)
    assert got.texts.signal_id.tolist() == [8, 10] and got.texts.text.tolist() == ["", ""]
    assert got.arrays.signal_id.tolist() == [9] and got.arrays.lengths.tolist() == [0]
    assert got.points.signal_id.tolist() == [7]


def test_signal_ids_need_one_kind_per_id() -> None:
    with pytest.raises(ValueError, match="2 signal ids but 1 kinds"):
        SignalIds.of([1, 2], ["text"])
    plain = SignalIds.of([3, 4])
    assert plain.number.tolist() == [3, 4] and len(plain) == 2 and len(plain.text) == 0
