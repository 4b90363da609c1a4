from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua.object_ids import ObjectIdNames
from asyncua.ua.status_codes import StatusCodes

from smartfab.model.plant import Plant
from smartfab.model.units import lookup_unit
from smartfab.platform.points import Quality
from smartfab.virtual.opcua.server import VirtualOpcUaServer
from tests.devices.bound_plants import EQUIPMENT, opcua_connection, opcua_signal, plant

pytestmark = pytest.mark.asyncio(loop_scope="module")

TS = 1_700_000_000_123_456  # epoch µs


def ua_plant() -> Plant:
    return plant(
        [
            opcua_signal("temp", unit="degC", range=(10, 120), description="spindle temperature"),
            opcua_signal("count", "int"),
            opcua_signal("running", "bool"),
            opcua_signal("never"),
            {
                **opcua_signal("other"),
                "source": {"opcua": {"connection": "ua", "node": "ns=3;i=7"}},
            },
        ],
        [opcua_connection()],
    )


async def read(client: Client, node: ua.NodeId) -> tuple[Any, ua.StatusCode, datetime | None]:
    """Value, status and source timestamp of a node, whatever its status."""
    dv = await client.get_node(node).read_data_value(raise_on_bad_status=False)
    assert dv.Value is not None and dv.StatusCode is not None
    return dv.Value.Value, dv.StatusCode, dv.SourceTimestamp


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def served() -> AsyncIterator[tuple[VirtualOpcUaServer, Client]]:
    server = VirtualOpcUaServer(ua_plant(), path="/test/")
    await server.start()
    client = Client(server.endpoint)
    await client.connect()
    yield server, client
    await client.disconnect()
    await server.stop()


async def test_every_bound_signal_is_a_node_with_its_exact_id_in_isa95_folders(
    served: tuple[VirtualOpcUaServer, Client],
) -> None:
    server, client = served
    assert server.endpoint.endswith("/test/")
    assert [n.to_string() for n in server.node_ids] == [
        f"ns=2;s={EQUIPMENT}.temp", f"ns=2;s={EQUIPMENT}.count", f"ns=2;s={EQUIPMENT}.running",
        f"ns=2;s={EQUIPMENT}.never", "ns=3;i=7",
    ]  # fmt: skip
    folders = ["1:s", "1:a", "1:l", "1:c", "1:e"]
    expected = {"temp": "Double", "count": "Int64", "running": "Boolean", "never": "Double"}
    for name, data_type in expected.items():
        node = await client.nodes.objects.get_child([*folders, f"2:{name}"])
        assert node.nodeid == ua.NodeId.from_string(f"ns=2;s={EQUIPMENT}.{name}")
        assert ObjectIdNames[int((await node.read_data_type()).Identifier)] == data_type
    other = await client.nodes.objects.get_child([*folders, "3:other"])
    assert other.nodeid == ua.NodeId.from_string("ns=3;i=7")


async def test_engineering_units_range_and_description(
    served: tuple[VirtualOpcUaServer, Client],
) -> None:
    _, client = served
    temp = client.get_node(f"ns=2;s={EQUIPMENT}.temp")
    eu = await (await temp.get_child("0:EngineeringUnits")).read_value()
    celsius = lookup_unit("degC")
    assert (eu.UnitId, eu.DisplayName.Text) == (celsius.opcua_unit_id, "°C")
    assert eu.NamespaceUri == "http://www.opcfoundation.org/UA/units/un/cefact"
    eu_range = await (await temp.get_child("0:EURange")).read_value()
    assert (eu_range.Low, eu_range.High) == (10, 120)
    assert (await temp.read_description()).Text == "spindle temperature"


async def test_a_node_without_a_published_value_says_so(
    served: tuple[VirtualOpcUaServer, Client],
) -> None:
    _, client = served
    _, status, _ = await read(client, ua.NodeId.from_string(f"ns=2;s={EQUIPMENT}.never"))
    assert status.value == StatusCodes.BadWaitingForInitialData


async def test_published_values_keep_type_timestamp_and_quality(
    served: tuple[VirtualOpcUaServer, Client],
) -> None:
    server, client = served
    await server.publish([0, 1, 2], [21.25, 41.6, 1.0], TS, [Quality.GOOD, Quality.UNCERTAIN, 0])
    temp, count, running = await client.read_values(
        [client.get_node(n) for n in server.node_ids[:3]]
    )
    assert (temp, count, running) == (21.25, 42, True)
    assert type(count) is int and type(running) is bool
    _, status, source_ts = await read(client, server.node_ids[1])
    assert status.is_uncertain()
    assert source_ts == datetime.fromtimestamp(TS // 1_000_000, UTC).replace(
        microsecond=TS % 1_000_000
    )

    await server.publish([0, 1], [math.nan, math.nan], TS + 1, Quality.GOOD)
    temp, status, _ = await read(client, server.node_ids[0])
    assert math.isnan(temp) and status.is_good()  # a double can be NaN
    count, status, _ = await read(client, server.node_ids[1])
    assert count is None and status.is_bad()  # an integer cannot

    await server.publish([2], [0.0], TS + 2, Quality.BAD)
    _, status, _ = await read(client, server.node_ids[2])
    assert status.is_bad()


async def test_many_values_at_once_land_in_order(served: tuple[VirtualOpcUaServer, Client]) -> None:
    server, client = served
    n = 20_000
    slots = np.arange(n) % 2  # temp and count, alternately
    values = np.arange(n, dtype=np.float64)
    started = time.perf_counter()
    await server.publish(slots, values, TS + np.arange(n))
    rate = n / (time.perf_counter() - started)
    temp, count = await client.read_values([client.get_node(n) for n in server.node_ids[:2]])
    assert (temp, count) == (n - 2, n - 1)  # the last sample of each wins
    print(f"publish without subscribers: {rate:,.0f} values/s")


async def test_stops_and_restarts_on_the_same_port_keeping_its_values() -> None:
    server = VirtualOpcUaServer(ua_plant())
    await server.publish([0], [5.5], TS)
    await server.start()
    port = server.port
    try:
        async with Client(server.endpoint) as client:
            assert await client.get_node(server.node_ids[0]).read_value() == 5.5
        await server.stop()
        assert not server.running
        with pytest.raises(OSError):
            await Client(server.endpoint, timeout=1).connect()
        await server.start()
        assert server.port == port
        async with Client(server.endpoint) as client:
            assert await client.get_node(server.node_ids[0]).read_value() == 5.5
    finally:
        await server.stop()
