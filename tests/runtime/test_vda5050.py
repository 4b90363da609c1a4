"""The running server's VDA 5050 traffic over the real broker: the live warehouse's AGVs publish
schema-valid states, the fleet side's orders reach them and show in their states, an operator's
pause reaches the AGV as an instant action and comes back in its state, an instant action is
acted on at once, a message breaking its schema is rejected and counted and changes nothing; a
broker that is down leaves the warehouse running."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import aiomqtt
import orjson
import pytest

from smartfab.devices.vda5050 import messages as m
from smartfab.model.plant import MqttConnection, Plant, StorageZone
from smartfab.runtime.vda5050 import ZoneBridge
from smartfab.virtual.warehouse.live import LiveWarehouse, LiveZones
from tests.devices.mqtt.broker import HOST, PORT, free_port, shared_broker_port
from tests.virtual.warehouse.plants import LIGHT, with_zones

ZONE = "shenyang/logistics/central"
ROUND_S = 0.3
SPEED = 4.0  # simulated seconds a second: transport tasks come often enough for a short test


def fleet_plant(
    demo: Plant,
    manufacturer: str,
    connection: MqttConnection | None = None,
    *,
    virtual_agvs: bool = True,
) -> Plant:
    """The demo plant with a light demand, a topic tree of the test's own and, if given, the
    fleet's broker connection."""

    def zone(z: StorageZone) -> StorageZone:
        assert z.fleet is not None
        fleet = z.fleet.model_copy(update={
            "manufacturer": manufacturer, "connection": connection.name if connection else None,
            "virtual_agvs": virtual_agvs,
        })  # fmt: skip
        return z.model_copy(update={"demand": LIGHT, "fleet": fleet})

    conns = [*demo.connections, connection] if connection else demo.connections
    return with_zones(demo, zone).model_copy(update={"connections": conns})


def started(plant: Plant) -> tuple[LiveZones, LiveWarehouse]:
    # The plant's clock from 09:30 on: the least the live warehouse simulates before it shows.
    tz = ZoneInfo(plant.site.timezone)
    base, t0 = datetime(2026, 12, 7, 9, 30, tzinfo=tz).timestamp(), time.time()
    zones = LiveZones(lambda: plant)
    live = zones.get(ZONE, clock=lambda: base + time.time() - t0, speed=SPEED)
    return zones, live


@pytest.fixture(scope="module")
def running(demo_plant: Plant) -> tuple[str, LiveZones, LiveWarehouse]:
    manufacturer = f"t{uuid.uuid4().hex[:8]}"
    return manufacturer, *started(fleet_plant(demo_plant, manufacturer))


@contextlib.asynccontextmanager
async def _bridged(zones: LiveZones, round_s: float = ROUND_S) -> AsyncIterator[ZoneBridge]:
    bridge = ZoneBridge(zones, ZONE, round_s)
    task = asyncio.create_task(bridge.run())
    try:
        yield bridge
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        live = zones.running(ZONE)
        if bridge.broker is not None and bridge.broker.port == PORT and live is not None:
            # The AGVs' retained goodbyes cleared: the shared broker keeps no test's leftovers.
            fleet = live.sim.fleet_model
            async with aiomqtt.Client(HOST, PORT) as client:
                for agv in fleet.agvs:
                    name = m.topic_name("uagv", fleet.manufacturer, agv.serial, "connection")
                    await client.publish(name, b"", qos=1, retain=True)


async def _until(
    client: aiomqtt.Client, done: Callable[[str, bytes], bool], seconds: float = 15
) -> None:
    async with asyncio.timeout(seconds):
        async for msg in client.messages:
            if done(str(msg.topic), bytes(msg.payload)):  # type: ignore[arg-type]
                return


async def test_every_agv_publishes_schema_valid_states(
    running: tuple[str, LiveZones, LiveWarehouse],
) -> None:
    port = shared_broker_port()
    manufacturer, zones, live = running
    serials = {a.serial for a in live.sim.fleet_model.agvs}
    states: dict[str, m.Message] = {}

    def seen(topic: str, payload: bytes) -> None:
        states[topic.split("/")[3]] = m.decode("state", payload)  # raises if not valid

    async with aiomqtt.Client(HOST, port) as client:
        await client.subscribe(f"uagv/v2/{manufacturer}/+/state", qos=1)
        async with _bridged(zones):
            await _until(client, lambda t, p: seen(t, p) or set(states) == serials)
            # the fleet side has heard them: every AGV online, states counted
            async with asyncio.timeout(5):
                while (live.vda5050 or {}).get("online") != len(serials):
                    await asyncio.sleep(0.1)
    for serial, state in states.items():
        assert state["serialNumber"] == serial and state["manufacturer"] == manufacturer
        pos = state["agvPosition"]
        assert pos["mapId"] == "central" and pos["x"] >= 0 and pos["y"] >= 0
        assert 0 <= state["batteryState"]["batteryCharge"] <= 100
    block = live.snapshot()["vda5050"]
    assert block["connected"] is False  # the bridge has stopped
    assert block["agvs"] == len(serials) and block["received"]["state"] >= len(serials)
    assert block["received"]["connection"] >= len(serials) and block["rejected"] == {}


async def test_an_order_of_the_fleet_side_shows_in_its_agvs_state(
    running: tuple[str, LiveZones, LiveWarehouse],
) -> None:
    port = shared_broker_port()
    manufacturer, zones, _ = running
    sent: dict[str, set[str]] = {}  # serial -> order ids sent to it
    shown: list[m.Message] = []

    def seen(topic: str, payload: bytes) -> bool:
        _, serial, kind = m.parse_topic(topic) or ("", "", "")
        if kind == "order":
            sent.setdefault(serial, set()).add(m.decode("order", payload)["orderId"])
            return False
        state = m.decode("state", payload)
        if state["orderId"] in sent.get(serial, set()):
            shown.append(state)
            return True
        return False

    async with aiomqtt.Client(HOST, port) as client:
        await client.subscribe(f"uagv/v2/{manufacturer}/+/order", qos=1)
        await client.subscribe(f"uagv/v2/{manufacturer}/+/state", qos=1)
        async with _bridged(zones) as bridge:
            await _until(client, seen)
    state = shown[0]
    assert bridge.orders_sent >= 1
    # the order's first node is where the AGV stood; what it still has to drive is ahead
    assert state["lastNodeId"].startswith("n")
    assert all(n["sequenceId"] > state["lastNodeSequenceId"] for n in state["nodeStates"])


async def test_a_message_breaking_its_schema_is_rejected_counted_and_not_applied(
    running: tuple[str, LiveZones, LiveWarehouse],
) -> None:
    port = shared_broker_port()
    manufacturer, zones, live = running
    serial = live.sim.fleet_model.agvs[0].serial
    bad = m.order(m.Header(manufacturer, serial)("order"), "BROKEN", 0, [(0, 0)], map_id="x")
    del bad["nodes"]
    order_ids: list[str] = []
    async with aiomqtt.Client(HOST, port) as client:
        await client.subscribe(f"uagv/v2/{manufacturer}/{serial}/state", qos=1)
        async with _bridged(zones) as bridge:
            await _until(client, lambda t, p: True)  # the AGV is on the broker
            before = dict(bridge.status()["agv_rejected"])
            await client.publish(f"uagv/v2/{manufacturer}/{serial}/order", orjson.dumps(bad), 1)
            async with asyncio.timeout(10):
                while bridge.status()["agv_rejected"].get("order", 0) <= before.get("order", 0):
                    await asyncio.sleep(0.05)

            def two_states(t: str, p: bytes) -> bool:
                order_ids.append(m.decode("state", p)["orderId"])
                return len(order_ids) >= 2

            await _until(client, two_states)
    assert bridge.status()["agv_rejected"]["order"] == before.get("order", 0) + 1
    assert "BROKEN" not in order_ids


async def test_an_operators_pause_reaches_the_agv_and_comes_back_in_its_state(
    running: tuple[str, LiveZones, LiveWarehouse],
) -> None:
    port = shared_broker_port()
    manufacturer, zones, live = running
    serial = live.sim.fleet_model.agvs[1].serial
    name = live.sim.fleet_model.agvs[1].name
    paused: list[m.Message] = []
    sent: list[m.Message] = []

    def seen(topic: str, payload: bytes) -> bool:
        if topic.endswith("/instantActions"):
            sent.append(m.decode("instantActions", payload))
        if not topic.endswith("/state"):
            return False
        state = m.decode("state", payload)
        if state.get("paused"):
            paused.append(state)
        return bool(paused)

    async with aiomqtt.Client(HOST, port) as client:
        await client.subscribe(f"uagv/v2/{manufacturer}/{serial}/+", qos=1)
        async with _bridged(zones) as bridge:
            async with asyncio.timeout(10):
                while not (live.vda5050 or {}).get("connected"):
                    await asyncio.sleep(0.05)
            await asyncio.to_thread(live.instant_action, serial, "startPause")
            await _until(client, seen)
            # the fleet side reads it from the AGV's state: the planner holds it, the page shows
            async with asyncio.timeout(5):
                while not live.sim.manager.paused.get(name):
                    await asyncio.sleep(0.05)
            (agv,) = [a for a in (await asyncio.to_thread(live.snapshot))["agvs"]
                      if a["serial"] == serial]  # fmt: skip
            assert live.sim.planner.state(name).held
            await asyncio.to_thread(live.instant_action, serial, "stopPause")
            await _until(client, lambda t, p: t.endswith("/state")
                         and m.decode("state", p)["paused"] is False)  # fmt: skip
            assert bridge.status()["agv_rejected"] == {}
    (action,) = sent[0]["actions"]
    assert action["actionType"] == "startPause"
    assert {"actionId": action["actionId"], "actionType": "startPause",
            "actionStatus": "FINISHED"} in paused[0]["actionStates"]  # fmt: skip
    assert agv["state"] == "paused" and agv["paused"]


async def test_an_instant_action_is_acted_on_at_once_and_a_bad_one_rejected(
    running: tuple[str, LiveZones, LiveWarehouse],
) -> None:
    """A round of 5 s: the state answering a stateRequest comes well before the next."""
    port = shared_broker_port()
    manufacturer, zones, live = running
    serial = live.sim.fleet_model.agvs[2].serial
    topic = f"uagv/v2/{manufacturer}/{serial}/instantActions"
    head = m.Header(f"{manufacturer}-test", serial)
    bad = m.instant_actions(head("instantActions"), [m.action("bad", "startPause")])
    del bad["actions"][0]["blockingType"]
    ask = m.instant_actions(head("instantActions"), [m.action("ask", "stateRequest"),
                                                     m.action("odd", "fly")])  # fmt: skip
    answer: list[m.Message] = []

    def answered(t: str, p: bytes) -> bool:
        state = m.decode("state", p)
        if {a["actionId"] for a in state["actionStates"]} >= {"ask", "odd"}:
            answer.append(state)
        return bool(answer)

    async with aiomqtt.Client(HOST, port) as client:
        await client.subscribe(f"uagv/v2/{manufacturer}/{serial}/state", qos=1)
        async with _bridged(zones, round_s=5.0) as bridge:
            await _until(client, lambda t, p: True)  # its first state
            await client.publish(topic, orjson.dumps(bad), qos=1)
            async with asyncio.timeout(5):
                while bridge.status()["agv_rejected"].get("instantActions", 0) < 1:
                    await asyncio.sleep(0.05)
            t0 = time.monotonic()
            await client.publish(topic, m.encode("instantActions", ask), qos=1)
            await _until(client, answered, 4)
            waited = time.monotonic() - t0
    assert waited < 2.0
    by_id = {a["actionId"]: a for a in answer[0]["actionStates"]}
    assert by_id["ask"]["actionStatus"] == "FINISHED" and by_id["odd"]["actionStatus"] == "FAILED"
    assert "bad" not in by_id and answer[0]["paused"] is False  # the bad one changed nothing


async def test_a_broker_that_is_down_leaves_the_warehouse_running(
    demo_plant: Plant, caplog: pytest.LogCaptureFixture
) -> None:
    nobody = MqttConnection(name="agv-broker", protocol="mqtt", host=HOST, port=free_port())
    plant = fleet_plant(demo_plant, f"t{uuid.uuid4().hex[:8]}", nobody)
    zones, live = started(plant)
    with caplog.at_level(logging.WARNING, "smartfab.runtime.vda5050"):
        async with _bridged(zones):
            async with asyncio.timeout(10):
                while live.vda5050 is None:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)  # retries, quietly
            snap = await asyncio.to_thread(live.snapshot)
    assert snap["agvs"] and snap["vda5050"]["connected"] is False
    assert snap["vda5050"]["broker"] == f"{HOST}:{nobody.port}"
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1


async def test_a_real_agv_in_place_of_the_virtual_ones(demo_plant: Plant) -> None:
    """With ``virtual_agvs: false`` only the fleet side is on the broker: what a real AGV sends
    there is what it counts."""
    port = shared_broker_port()
    manufacturer = f"t{uuid.uuid4().hex[:8]}"
    zones, live = started(fleet_plant(demo_plant, manufacturer, virtual_agvs=False))
    serial = live.sim.fleet_model.agvs[0].serial
    hello = m.connection(m.Header(manufacturer, serial)("connection"), "ONLINE")
    async with aiomqtt.Client(HOST, port) as real:
        await real.subscribe(f"uagv/v2/{manufacturer}/+/state", qos=1)
        async with _bridged(zones) as bridge:
            async with asyncio.timeout(10):
                while not bridge.connected:
                    await asyncio.sleep(0.05)
            topic = f"uagv/v2/{manufacturer}/{serial}/connection"
            await real.publish(topic, m.encode("connection", hello), qos=1)
            async with asyncio.timeout(10):
                while bridge.status()["online"] < 1:
                    await asyncio.sleep(0.05)
            # rounds go by, and no virtual AGV speaks
            with pytest.raises(TimeoutError):
                await _until(real, lambda t, p: True, 4 * ROUND_S)
            status = bridge.status()
    assert status["online"] == 1 and status["agvs"] == len(live.sim.fleet_model.agvs)
    assert "state" not in status["received"] and status["agv_rejected"] == {}
