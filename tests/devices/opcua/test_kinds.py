"""Enumerations, strings and arrays over OPC UA: the virtual server serves them as OPC UA servers
do (Int32 of an Enumeration data type, String, a Double array of ValueRank 1), and the connector
delivers them as numbers, TextBatch and ArrayBatch columns."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import numpy as np
import pytest
import pytest_asyncio
from asyncua import ua
from asyncua.client.client import Client

from smartfab.devices.connector import Backoff
from smartfab.devices.opcua.connector import BoundNode, OpcUaConnector
from smartfab.devices.opcua.types import ValueType
from smartfab.model.plant import OpcUaConnection, Plant
from smartfab.platform.points import Quality, now_us
from smartfab.virtual.opcua.server import VirtualOpcUaServer
from tests.devices.bound_plants import EQUIPMENT, opcua_connection, opcua_signal, plant
from tests.devices.sinks import running

pytestmark = pytest.mark.asyncio(loop_scope="module")

TS = 1_700_000_000_000_000
FAST = Backoff(initial_s=0.05, max_s=0.3, jitter=0.0)
MODES = {0: "off", 1: "automatic", 5: "setup"}


def kinds_plant(endpoint: str = "opc.tcp://127.0.0.1:4840/") -> Plant:
    signals = [
        opcua_signal("temp"),
        opcua_signal("mode", "enum", values=MODES),
        opcua_signal("product", "string", length=16),
        opcua_signal("spectrum", "array", length=4, unit="mm/s"),
        opcua_signal("lot", "string"),
    ]
    return plant(signals, [opcua_connection(endpoint, publishing_interval_ms=50)])


def connector_for(endpoint: str, extra: list[BoundNode] | None = None) -> OpcUaConnector:
    p = kinds_plant(endpoint)
    ids = {ref.path: 20 + i for i, ref in enumerate(p.iter_signals())}
    base = OpcUaConnector.from_plant(p, "ua", ids)
    conn = p.connection("ua")
    assert isinstance(conn, OpcUaConnection)
    nodes = [*base.nodes, *(extra or [])]
    return OpcUaConnector(conn, nodes, timeout_s=1.0, backoff=FAST)


async def publish_first_values(server: VirtualOpcUaServer, ts: int) -> None:
    await server.publish([0, 1], [21.5, 5], ts)
    await server.publish_texts([2, 4], ["HSG-4410", "AL6061-000017"], ts)
    await server.publish_arrays([3], [0.5, 1.5, 2.5, 3.5], [0, 4], ts)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server() -> AsyncIterator[VirtualOpcUaServer]:
    server = VirtualOpcUaServer(kinds_plant())
    await publish_first_values(server, TS)
    await server.start()
    yield server
    await server.stop()


async def test_every_kind_arrives_in_its_own_columns(server: VirtualOpcUaServer) -> None:
    connector = connector_for(server.endpoint)
    assert connector.signal_ids.number.tolist() == [20, 21]
    assert connector.signal_ids.text.tolist() == [22, 24]
    assert connector.signal_ids.array.tolist() == [23]
    async with running(connector) as got:
        # The subscription starts with the current value of every node.
        await got.wait_for(lambda: len(got.texts) >= 2 and len(got.arrays) >= 1)
        await server.publish_texts([2], ["FLG-2205"], TS + 1000, Quality.UNCERTAIN)
        await server.publish_arrays([3, 3], [9.0, 8.0, 7.0, 6.0, 1.0, 2.0, 3.0, 4.0], [0, 4, 8],
                                    TS + 2000)  # fmt: skip
        await server.publish([1], [1], TS + 2000)
        await got.wait_for(lambda: len(got.texts) >= 3 and len(got.arrays) >= 3)
        await got.wait_for(lambda: 1.0 in got.points.take(got.points.signal_id == 21).value)
    texts = got.texts
    assert sorted(zip(texts.signal_id.tolist(), texts.text.tolist(), strict=True)) == [
        (22, "FLG-2205"), (22, "HSG-4410"), (24, "AL6061-000017"),
    ]  # fmt: skip
    last = texts.take(texts.text == "FLG-2205")
    assert last.ts.tolist() == [TS + 1000] and last.quality.tolist() == [Quality.UNCERTAIN]
    arrays = got.arrays
    assert arrays.signal_id.tolist() == [23, 23, 23]
    assert [arrays.row(i).tolist() for i in range(3)] == [
        [0.5, 1.5, 2.5, 3.5], [9.0, 8.0, 7.0, 6.0], [1.0, 2.0, 3.0, 4.0],
    ]  # fmt: skip
    assert arrays.ts.tolist() == [TS, TS + 2000, TS + 2000]
    mode = got.points.take(got.points.signal_id == 21)
    assert mode.value.tolist() == [5.0, 1.0]  # an enumeration is its code, a number
    assert connector.status.errors == 0


async def test_a_bad_value_of_any_kind_carries_no_value(server: VirtualOpcUaServer) -> None:
    connector = connector_for(server.endpoint)
    async with running(connector) as got:
        await got.wait_for(lambda: len(got.arrays) >= 1 and len(got.texts) >= 2)
        await server.publish_arrays([3], [], [0, 0], TS + 3000, Quality.BAD)
        await server.publish_texts([4], [""], TS + 3000, Quality.BAD)
        await got.wait_for(
            lambda: (
                (got.arrays.quality == Quality.BAD).any()
                and (got.texts.quality == Quality.BAD).any()
            )
        )
    bad = got.arrays.take(got.arrays.quality == Quality.BAD)
    assert bad.lengths.tolist() == [0] and bad.ts.tolist() == [TS + 3000]
    assert got.texts.take(got.texts.quality == Quality.BAD).text.tolist() == [""]
    await publish_first_values(server, TS + 4000)


async def test_a_value_of_another_kind_is_counted_and_logged_never_emitted(
    server: VirtualOpcUaServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="smartfab.devices.opcua.connector")
    product = f"ns=2;s={EQUIPMENT}.product"
    spectrum = f"ns=2;s={EQUIPMENT}.spectrum"
    wrong = [
        BoundNode("s/a/l/c/e/as_array", product, 97, kind="array"),  # a String
        BoundNode("s/a/l/c/e/as_text", spectrum, 98, kind="text"),  # a Double array
        BoundNode("s/a/l/c/e/as_number", spectrum, 99),
    ]
    connector = connector_for(server.endpoint, wrong)
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.extra["rejected_values"] >= 3)
        await got.wait_for(lambda: len(got.arrays) >= 1)
    emitted = {*got.points.signal_id.tolist(), *got.texts.signal_id.tolist(),
               *got.arrays.signal_id.tolist()}  # fmt: skip
    assert emitted.isdisjoint({97, 98, 99}) and {20, 22, 23} <= emitted
    messages = [r.getMessage() for r in caplog.records]
    assert any("as_array" in m and "one-dimensional array of numbers" in m for m in messages)
    assert any("as_text" in m and "not a text" in m for m in messages)
    assert any("as_number" in m and "not a number" in m for m in messages)


async def test_an_array_of_another_length_is_delivered_for_the_writer_to_judge() -> None:
    # A server whose node holds 6 elements where the plant says 4: the connector does not cut or
    # pad it (the writer refuses it with its reason) and does not fail.
    longer = kinds_plant().model_dump(mode="json")
    signals = longer["site"]["areas"][0]["lines"][0]["cells"][0]["equipment"][0]["signals"]
    signals[3]["length"] = 6
    own = VirtualOpcUaServer(Plant.model_validate(longer))
    await own.publish_arrays([3], np.arange(6.0), [0, 6], TS)
    await own.start()
    try:
        connector = connector_for(own.endpoint)
        async with running(connector) as got:
            await got.wait_for(lambda: len(got.arrays) >= 1)
        assert got.arrays.lengths.tolist() == [6] and connector.status.errors == 0
    finally:
        await own.stop()


async def test_an_outage_marks_numbers_texts_and_arrays_stale() -> None:
    own = VirtualOpcUaServer(kinds_plant())
    await publish_first_values(own, TS)
    await own.start()
    try:
        connector = connector_for(own.endpoint)
        async with running(connector) as got:
            await got.wait_for(lambda: len(got.arrays) >= 1)
            await own.stop()
            await got.wait_for(lambda: connector.status.state == "reconnecting")
            restarted = now_us()
            await own.publish_texts([2], ["BACK-0001"], restarted)
            await own.start()
            await got.wait_for(lambda: "BACK-0001" in got.texts.text)
        got.assert_one_outage(connector.signal_ids, back_us=restarted)
        outage = got.gaps.ts[0]
        bad_texts = got.texts.take(got.texts.ts == outage)
        assert sorted(bad_texts.signal_id.tolist()) == [22, 24]
        assert got.arrays.take(got.arrays.ts == outage).lengths.tolist() == [0]
    finally:
        await own.stop()


async def test_the_served_nodes_have_the_types_opc_ua_servers_give_them(
    server: VirtualOpcUaServer,
) -> None:
    async with Client(server.endpoint) as client:
        mode = client.get_node(f"ns=2;s={EQUIPMENT}.mode")
        enum_type = client.get_node(await mode.read_data_type())
        assert await mode.read_data_type_as_variant_type() == ua.VariantType.Int32
        enum_values = await (await enum_type.get_child("0:EnumValues")).read_value()
        assert {v.Value: v.DisplayName.Text for v in enum_values} == MODES
        spectrum = client.get_node(f"ns=2;s={EQUIPMENT}.spectrum")
        assert await spectrum.read_value_rank() == 1
        assert await spectrum.read_array_dimensions() == [4]
        product = client.get_node(f"ns=2;s={EQUIPMENT}.product")
        assert await product.read_data_type_as_variant_type() == ua.VariantType.String


async def test_browse_shows_rank_dimensions_and_enumeration_names(
    server: VirtualOpcUaServer,
) -> None:
    found = {v.path.rsplit("/", 1)[1]: v for v in await connector_for(server.endpoint).browse()}
    spectrum = found["spectrum"].type
    assert spectrum == ValueType("Double", "Double", 1, (4,), unit="mm/s")
    assert found["spectrum"].data_type == "Double[4]"  # not plain Double
    mode = found["mode"].type
    assert isinstance(mode, ValueType) and mode.builtin == "Int32" and mode.enum == MODES
    assert found["mode"].data_type == "modeEnum (Int32 enumeration 0 off, 1 automatic, 5 setup)"
    assert found["product"].data_type == found["lot"].data_type == "String"
    assert found["temp"].data_type == "Double"
