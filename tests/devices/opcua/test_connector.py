from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np
import pytest
import pytest_asyncio
from asyncua import ua

from smartfab.devices.connector import Backoff
from smartfab.devices.opcua.connector import BoundNode, BrowsedVariable, OpcUaConnector
from smartfab.devices.opcua.types import ValueType
from smartfab.model.plant import OpcUaConnection, Plant
from smartfab.platform.points import Quality, now_us
from smartfab.virtual.opcua.server import VirtualOpcUaServer
from tests.devices.bound_plants import EQUIPMENT, opcua_connection, opcua_signal, plant
from tests.devices.sinks import Collected, running

pytestmark = pytest.mark.asyncio(loop_scope="module")

TS = 1_700_000_000_000_000
TEXT_NODE = f"ns=2;s={EQUIPMENT}.text"  # on the server, but a string: no plant binds it
FAST = Backoff(initial_s=0.05, max_s=0.3, jitter=0.0)
INT64, BOOL, DOUBLE = ("Int64", "Int64"), ("Boolean", "Boolean"), ("Double", "Double")


def ua_plant(endpoint: str = "opc.tcp://127.0.0.1:4840/") -> Plant:
    signals = [
        opcua_signal("temp", sample_s=0.1),
        opcua_signal("count", "int"),
        opcua_signal("running", "bool"),
    ]
    return plant(signals, [opcua_connection(endpoint, publishing_interval_ms=50)])


def connector_for(
    endpoint: str, extra: list[BoundNode] | None = None, watchdog_s: float = 2.0
) -> OpcUaConnector:
    p = ua_plant(endpoint)
    ids = {ref.path: 10 + i for i, ref in enumerate(p.iter_signals())}
    base = OpcUaConnector.from_plant(p, "ua", ids)
    conn = p.connection("ua")
    assert isinstance(conn, OpcUaConnection)
    nodes = [*base.nodes, *(extra or [])]
    return OpcUaConnector(conn, nodes, watchdog_s=watchdog_s, timeout_s=1.0, backoff=FAST)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server() -> AsyncIterator[VirtualOpcUaServer]:
    server = VirtualOpcUaServer(ua_plant())
    await server.publish([0, 1, 2], [21.5, 7, 1], TS)
    await server.start()
    folder = server.server.get_node(f"ns=1;s={EQUIPMENT}")
    await folder.add_variable(ua.NodeId.from_string(TEXT_NODE), "2:text", "hello")
    yield server
    await server.stop()


def latest(got: Collected, signal_id: int) -> tuple[int, float, int]:
    points = got.points.take(got.points.signal_id == signal_id)
    return int(points.ts[-1]), float(points.value[-1]), int(points.quality[-1])


async def test_delivers_values_with_source_timestamps_and_quality(
    server: VirtualOpcUaServer,
) -> None:
    connector = connector_for(server.endpoint)
    async with running(connector) as got:
        # The subscription starts with the current value of every node.
        await got.wait_for(lambda: {10, 11, 12} <= set(got.points.signal_id.tolist()))
        await server.publish([0, 1, 2], [22.5, 8, 0], TS + 1000, Quality.GOOD)
        await got.wait_for(lambda: 22.5 in got.points.value)
        # Two samples of temp within one publishing interval: its queue (sized from its
        # sample_s) keeps both.
        await server.publish([0, 0, 1], [23.5, 24.5, 9], TS + 2000, [Quality.UNCERTAIN, 0, 2])
        await got.wait_for(lambda: 24.5 in got.points.value and 12 in got.points.signal_id)
    assert latest(got, 10) == (TS + 2000, 24.5, Quality.GOOD)
    assert latest(got, 12) == (TS + 1000, 0.0, Quality.GOOD)
    ts, value, quality = latest(got, 11)
    assert (ts, quality) == (TS + 2000, Quality.BAD) and np.isnan(value)
    temp = got.points.take(got.points.signal_id == 10)
    assert temp.value.tolist()[-3:] == [22.5, 23.5, 24.5]
    assert temp.quality.tolist()[-3:] == [Quality.GOOD, Quality.UNCERTAIN, Quality.GOOD]
    assert connector.status.errors == 0 and connector.status.gaps == 0


async def test_browse_finds_every_variable_with_path_and_type(server: VirtualOpcUaServer) -> None:
    found = await connector_for(server.endpoint).browse()
    assert sorted(found, key=lambda v: v.path) == [
        # With the unit of each EngineeringUnits property (the text node has none).
        BrowsedVariable(
            f"ns=2;s={EQUIPMENT}.count", f"{EQUIPMENT}/count", ValueType(*INT64, unit="1")
        ),
        BrowsedVariable(
            f"ns=2;s={EQUIPMENT}.running", f"{EQUIPMENT}/running", ValueType(*BOOL, unit="1")
        ),
        BrowsedVariable(
            f"ns=2;s={EQUIPMENT}.temp", f"{EQUIPMENT}/temp", ValueType(*DOUBLE, unit="1")
        ),
        BrowsedVariable(TEXT_NODE, f"{EQUIPMENT}/text", ValueType("String", "String")),
    ]
    assert [v.data_type for v in sorted(found, key=lambda v: v.path)] == [
        "Int64", "Boolean", "Double", "String",
    ]  # fmt: skip


async def test_a_missing_node_is_reported_naming_its_signal(
    server: VirtualOpcUaServer, caplog: pytest.LogCaptureFixture
) -> None:
    ghost = BoundNode("s/a/l/c/e/ghost", "ns=2;s=no/such/node", 99)
    connector = connector_for(server.endpoint, [ghost])
    async with running(connector) as got:
        await got.wait_for(lambda: 10 in got.points.signal_id)
    assert 99 not in got.points.signal_id
    assert list(connector.node_errors) == ["s/a/l/c/e/ghost"]
    assert connector.status.last_error.startswith(
        "s/a/l/c/e/ghost: node ns=2;s=no/such/node cannot be read: BadNodeIdUnknown"
    )
    assert any("s/a/l/c/e/ghost" in r.getMessage() for r in caplog.records if r.levelno >= 40)


async def test_a_value_that_is_not_a_number_is_counted_and_logged(
    server: VirtualOpcUaServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="smartfab.devices.opcua.connector")
    wrong = BoundNode("s/a/l/c/e/text", TEXT_NODE, 98)
    connector = connector_for(server.endpoint, [wrong])
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.extra["rejected_values"] >= 1)
        await server.server.write_attribute_value(
            ua.NodeId.from_string(TEXT_NODE), ua.DataValue(ua.Variant("world"))
        )
        await server.publish([0], [30.5], TS + 5000)
        await got.wait_for(lambda: 30.5 in got.points.value)
        await got.wait_for(lambda: connector.status.extra["rejected_values"] >= 2)
    assert 98 not in got.points.signal_id  # the other signals keep flowing, this one never
    assert connector.status.state == "stopped" and connector.status.gaps == 0
    logged = [r.getMessage() for r in caplog.records if "s/a/l/c/e/text" in r.getMessage()]
    assert len(logged) == 1  # once per signal, however often it comes
    assert "'hello'" in logged[0] and TEXT_NODE in logged[0]


async def test_reconnects_after_a_server_restart_with_one_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    own = VirtualOpcUaServer(ua_plant())
    await own.publish([0], [1.0], TS)
    await own.start()
    try:
        connector = connector_for(own.endpoint)
        async with running(connector) as got:
            await got.wait_for(lambda: 1.0 in got.points.value)
            caplog.clear()
            stopped = now_us()
            await own.stop()
            await asyncio.sleep(1.0)
            restarted = now_us()
            await own.publish([0], [2.0], restarted)
            await own.start()
            await got.wait_for(lambda: 2.0 in got.points.value)
        assert_one_gap_covering(got, stopped, restarted)
        got.assert_one_outage(connector.signal_ids, back_us=restarted)
        assert connector.status.gaps == 1
        # One line says it all: no client library errors or tracebacks around it (the server's
        # warnings on its restart are the device's, not the connector's).
        client_side = [r for r in caplog.records if not r.name.startswith("asyncua.server")]
        (line,) = [r for r in client_side if r.levelno >= logging.WARNING]
        assert line.exc_info is None and "opcua connection 'ua' to opc.tcp://" in line.message
        assert " lost: " in line.message and line.message.endswith("reconnecting")
    finally:
        await own.stop()


def assert_one_gap_covering(got: Collected, lost: int, back: int) -> None:
    gaps = got.gaps
    assert len(gaps) == 1
    start, seconds = int(gaps.ts[0]), float(gaps.value[0])
    assert lost <= start <= lost + 3_000_000  # noticed at once, or by the watchdog
    assert start + seconds * 1e6 >= back


class Proxy:
    """A TCP relay that can freeze: a server that still holds the socket but no longer answers."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.port = 0

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[Proxy]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            self.flowing.set()
            server.close()


async def test_a_server_that_stops_answering_is_detected_by_the_watchdog(
    server: VirtualOpcUaServer,
) -> None:
    async with Proxy(server.port).serving() as proxy:
        connector = connector_for(f"opc.tcp://127.0.0.1:{proxy.port}/", watchdog_s=0.5)
        async with running(connector) as got:
            await got.wait_for(lambda: 10 in got.points.signal_id)
            proxy.flowing.clear()
            frozen = now_us()
            await got.wait_for(lambda: connector.status.state == "reconnecting")
            await asyncio.sleep(0.5)
            thawed = now_us()
            proxy.flowing.set()
            await got.wait_for(lambda: connector.status.state == "connected")
            await server.publish([0], [77.0], now_us())
            await got.wait_for(lambda: 77.0 in got.points.value)
        assert_one_gap_covering(got, frozen, thawed)
        assert "not answering: TimeoutError" in got.gaps.detail[0]  # the probe, not the socket


async def test_a_per_part_node_reports_a_repeated_value(server: VirtualOpcUaServer) -> None:
    """An inspection result is an event: a good part after a good part is a sample of its own,
    which a server reports only when asked to report every new source timestamp."""
    node = f"ns=2;s={EQUIPMENT}.count"
    per_part = BoundNode(f"{EQUIPMENT}/count-parts", node, 20, every_sample=True)
    connector = connector_for(server.endpoint, [per_part])
    async with running(connector) as got:
        await got.wait_for(lambda: {11, 20} <= set(got.points.signal_id.tolist()))
        for k in range(3):  # a part at a time, as parts are made
            await server.publish([1], [77], TS + 10_000 + k)
            await got.wait_for(lambda k=k: TS + 10_000 + k in got.points.ts)
        await asyncio.sleep(0.2)  # a few publishing intervals: nothing more comes
    parts = got.points.take((got.points.signal_id == 20) & (got.points.value == 77))
    assert parts.ts.tolist() == [TS + 10_000, TS + 10_001, TS + 10_002]
    changes = got.points.take((got.points.signal_id == 11) & (got.points.value == 77))
    assert changes.ts.tolist() == [TS + 10_000]
