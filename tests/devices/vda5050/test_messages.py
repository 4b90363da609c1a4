"""VDA 5050 messages against the standard's schemas, and both ends over a real broker: a message
breaking its schema is rejected whole and counted."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest

from smartfab.devices.vda5050 import messages as m
from smartfab.devices.vda5050.link import VdaLink
from tests.devices.mqtt.broker import shared_broker_port


def test_an_order_has_nodes_and_edges_with_alternating_sequence_ids() -> None:
    head = m.Header("acme", "A1")
    pick = m.action("a1", "pick", stationType="rack")
    order = m.order(head("order"), "o1", 0, [(0, 0), (1.5, 0), (1.5, 1.5)], map_id="central",
                    released=2, actions={2: [pick]})  # fmt: skip
    payload = m.encode("order", order)
    back = m.decode("order", payload)
    assert [n["sequenceId"] for n in back["nodes"]] == [0, 2, 4]
    assert [e["sequenceId"] for e in back["edges"]] == [1, 3]
    assert [n["released"] for n in back["nodes"]] == [True, True, False]
    assert back["edges"][0]["startNodeId"] == back["nodes"][0]["nodeId"]
    assert back["nodes"][2]["actions"][0]["actionType"] == "pick"
    assert head("order")["headerId"] == 1 and head("state")["headerId"] == 0


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda o: o.pop("orderId"), "orderId"),
        (lambda o: o["nodes"][0].pop("released"), "released"),
        (lambda o: o.update(orderUpdateId="one"), "orderUpdateId"),
        (lambda o: o.update(timestamp="yesterday"), "timestamp"),
    ],
)
def test_a_message_breaking_the_schema_is_rejected(change: object, why: str) -> None:
    order = m.order(m.Header("acme", "A1")("order"), "o1", 0, [(0, 0), (1, 0)], map_id="z")
    change(order)  # type: ignore[operator]
    with pytest.raises(m.VdaMessageError) as err:
        m.decode("order", orjson.dumps(order))
    assert why in str(err.value)
    with pytest.raises(m.VdaMessageError, match="not JSON"):
        m.decode("state", b"{nope")


def test_topics() -> None:
    name = m.topic_name("uagv", "acme", "A1", "state")
    assert name == "uagv/v2/acme/A1/state"
    assert m.parse_topic(name) == ("acme", "A1", "state")
    assert m.parse_topic("uagv/v1/acme/A1/state") is None


async def test_fleet_and_agv_over_a_broker_reject_and_count_bad_messages() -> None:
    port = shared_broker_port()
    manufacturer = f"t{uuid.uuid4().hex[:8]}"  # a topic tree of this test's own
    at_agv: list[m.Message] = []
    at_fleet: list[tuple[str, str]] = []
    got = asyncio.Event()

    def agv_got(serial: str, topic: str, msg: m.Message) -> None:
        at_agv.append(msg)
        got.set()

    def fleet_got(serial: str, topic: str, msg: m.Message) -> None:
        at_fleet.append((serial, topic))
        got.set()

    async with (
        VdaLink.open("127.0.0.1", port, "uagv", manufacturer, "agv", agv_got, serial="A1") as agv,
        VdaLink.open("127.0.0.1", port, "uagv", manufacturer, "fleet", fleet_got) as fleet,
    ):
        head = m.Header(manufacturer, "A1")
        # a broken order straight onto the topic: the AGV rejects and counts it
        raw = m.order(head("order"), "bad", 0, [(0, 0)], map_id="z")
        del raw["nodes"]
        topic = m.topic_name("uagv", manufacturer, "A1", "order")
        await fleet._client.publish(topic, orjson.dumps(raw), qos=1)
        await fleet.publish("A1", "order", m.order(head("order"), "good", 0, [(0, 0)], map_id="z"))
        await agv.publish("A1", "connection", m.connection(head("connection"), "ONLINE"))
        while not (at_agv and at_fleet):
            got.clear()
            await asyncio.wait_for(got.wait(), 10)
        assert [o["orderId"] for o in at_agv] == ["good"]
        assert agv.rejected["order"] == 1 and agv.received["order"] == 1
        assert at_fleet == [("A1", "connection")]
