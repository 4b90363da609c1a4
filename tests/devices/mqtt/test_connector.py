"""MqttConnector against a real Mosquitto: UNS JSON, rejections, broker restart, shared
subscriptions, flow control. Sparkplug B over the broker is in test_sparkplug_broker.py."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

import aiomqtt
import numpy as np
import orjson
import pytest
from pydantic import ValidationError

from smartfab.devices.connector import Backoff
from smartfab.devices.mqtt.connector import MqttConnector, MqttOptions
from smartfab.errors import SmartfabError
from smartfab.platform.points import Quality, now_us
from tests.devices.mqtt.broker import (
    HOST,
    mqtt_plant,
    mqtt_signal,
    private_broker,
    signal_ids,
    unique_enterprise,
)
from tests.devices.sinks import running

pytestmark = pytest.mark.services
TS = 1_763_000_000_000  # ms


def uns_connector(
    port: int, enterprise: str, options: MqttOptions | None = None, **connection: Any
) -> tuple[MqttConnector, dict[str, int]]:
    """Signal ``temp`` on a topic of its own; ``speed`` and ``load`` among the ``values`` of the
    equipment's topic; ``connection``: settings of the plant's MQTT connection."""
    eq = f"{enterprise}/s/a/l/c/e"
    p = mqtt_plant(port, [
        mqtt_signal("temp", f"{eq}/temp"),
        mqtt_signal("speed", eq, "values.speed"),
        mqtt_signal("load", eq, "values.load"),
    ], **connection)  # fmt: skip
    ids = signal_ids(p)
    fast = Backoff(initial_s=0.05, max_s=0.3)
    return MqttConnector.from_plant(p, "broker", ids, options=options, backoff=fast), ids


async def publish(port: int, *messages: tuple[str, bytes], qos: int = 1) -> None:
    async with aiomqtt.Client(HOST, port) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=qos)


@pytest.mark.parametrize("version", ["5", "3.1.1"])
async def test_one_point_per_message(shared_broker: int, version: str) -> None:
    ent = unique_enterprise()
    connector, ids = uns_connector(shared_broker, ent, MqttOptions(version=version))  # type: ignore[arg-type]
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.state == "connected")
        await publish(shared_broker,
            (f"{ent}/s/a/l/c/e/temp", orjson.dumps({"ts": TS, "value": 21.5})),
            (f"{ent}/s/a/l/c/e/temp", b"22"),  # a bare number, stamped on arrival
        )  # fmt: skip
        await got.wait_for(lambda: len(got.points) == 2)
    pts = got.points
    assert list(pts.signal_id) == [ids["s/a/l/c/e/temp"]] * 2
    assert list(pts.value) == [21.5, 22.0]
    assert pts.ts[0] == TS * 1000 and pts.ts[1] > TS * 1000
    assert list(pts.quality) == [Quality.GOOD] * 2
    assert connector.rejected == {}


async def test_many_points_per_message(shared_broker: int) -> None:
    ent = unique_enterprise()
    connector, ids = uns_connector(shared_broker, ent)
    eq = f"{ent}/s/a/l/c/e"
    records = [
        {"ts": TS, "values": {"speed": 1200, "load": 40.5}},
        {"ts": TS + 1000, "values": {"speed": 1300}},  # publish on change: load unchanged
        {"ts": "2025-11-13T02:13:22Z", "values": {"load": None}, "quality": "bad"},
    ]
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.state == "connected")
        await publish(shared_broker,
            (eq, orjson.dumps(records)),
            (f"{eq}/temp", orjson.dumps([{"ts": TS, "value": 1}, {"ts": TS + 1, "value": 2}])),
        )  # fmt: skip
        await got.wait_for(lambda: len(got.points) == 6)
    pts = got.points
    speed, load, temp = ids["s/a/l/c/e/speed"], ids["s/a/l/c/e/load"], ids["s/a/l/c/e/temp"]
    assert list(pts.signal_id) == [speed, load, speed, load, temp, temp]
    assert list(pts.ts[:3] // 1000) == [TS, TS, TS + 1000]
    assert pts.ts[3] == 1_763_000_002_000_000  # the ISO time, in µs
    assert list(pts.value[:3]) == [1200, 40.5, 1300] and math.isnan(pts.value[3])
    assert pts.quality[3] == Quality.BAD and list(pts.quality[:3]) == [Quality.GOOD] * 3
    assert list(pts.value[4:]) == [1, 2]
    assert len(got.batches) <= 2  # a message's points travel together


async def test_bad_messages_are_counted_and_ingestion_goes_on(shared_broker: int) -> None:
    ent = unique_enterprise()
    options = MqttOptions(max_payload_bytes=200)
    connector, ids = uns_connector(shared_broker, ent, options)
    eq = f"{ent}/s/a/l/c/e"
    good = (f"{eq}/temp", orjson.dumps({"ts": TS, "value": 5.0}))
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.state == "connected")
        await publish(shared_broker,
            (f"{eq}/temp", b"{not json"),
            (f"{eq}/temp", orjson.dumps({"ts": TS, "value": 1.0, "pad": "x" * 300})),
            (f"{eq}/nope", orjson.dumps({"ts": TS, "value": 1.0})),
            (f"{eq}/temp", orjson.dumps({"ts": "yesterday", "value": 1.0})),
            (f"{eq}/temp", orjson.dumps({"ts": TS, "speed": 1.0})),
            (eq, orjson.dumps({"ts": TS, "values": {"speed": "fast", "load": 3}})),
            (f"{eq}/temp", orjson.dumps(["a"])),
            good,
        )  # fmt: skip
        await got.wait_for(lambda: connector.status.extra["messages"] == 8)
    assert connector.rejected == {
        "malformed": 2, "oversized": 1, "unknown_topic": 1, "bad_timestamp": 1, "no_value": 1,
        "wrong_type": 1,
    }  # fmt: skip
    assert connector.status.extra["rejected_malformed"] == 2
    pts = got.points
    assert list(pts.signal_id) == [ids["s/a/l/c/e/load"], ids["s/a/l/c/e/temp"]]
    assert list(pts.value) == [3, 5.0]


@pytest.mark.parametrize("kept_session", [False, True])
async def test_broker_restart_reconnects_and_records_the_outage(kept_session: bool) -> None:
    ent = unique_enterprise()
    with private_broker() as broker:
        kept = {"client_id": ent, "session_expiry_s": 60} if kept_session else {}
        options = MqttOptions(keepalive_s=2, timeout_s=2, **kept)  # type: ignore[arg-type]
        connector, _ = uns_connector(broker.port, ent, options)
        topic = f"{ent}/s/a/l/c/e/temp"
        async with running(connector) as got:
            await got.wait_for(lambda: connector.status.state == "connected")
            await publish(broker.port, (topic, b"1"))
            await got.wait_for(lambda: len(got.points) == 1)
            broker.stop()
            await got.wait_for(lambda: connector.status.state != "connected")
            await asyncio.sleep(0.5)  # a few failed attempts while it is down
            back = now_us()
            broker.start()
            await got.wait_for(lambda: connector.status.state == "connected", timeout_s=15)
            await publish(broker.port, (topic, b"2"))
            await got.wait_for(lambda: len(got.good) == 2)
    assert list(got.good.value) == [1, 2]
    if kept_session:
        # The broker keeps what is published meanwhile: no data is lost, so no signal is BAD
        # (a BAD point would sit between values that arrive later); the lost connection is
        # still one gap event.
        assert len(got.points) == 2 and len(got.gaps) == 1
    else:
        got.assert_one_outage(connector.signal_ids, back_us=back)
    assert connector.status.gaps == 1


async def test_shared_subscription_splits_the_messages(shared_broker: int) -> None:
    ent = unique_enterprise()
    options = MqttOptions(shared_group=f"workers-{ent}")
    a, _ = uns_connector(shared_broker, ent, options)
    b, _ = uns_connector(shared_broker, ent, options)
    n = 400
    topic = f"{ent}/s/a/l/c/e/temp"
    async with running(a) as got_a, running(b) as got_b:
        await got_a.wait_for(lambda: a.status.state == b.status.state == "connected")
        await publish(shared_broker, *((topic, str(i).encode()) for i in range(n)))
        await got_a.wait_for(lambda: len(got_a.points) + len(got_b.points) == n)
        await asyncio.sleep(0.2)  # nothing more (no message delivered twice)
    values = np.concatenate([got_a.points.value, got_b.points.value])
    assert sorted(values) == list(range(n))
    assert len(got_a.points) > n // 5 and len(got_b.points) > n // 5  # both took a share


# --- flow control: what has arrived but is not stored stays bounded --------------------------

WINDOW_BROKER = """listener {port} 127.0.0.1
allow_anonymous true
max_inflight_messages 30
max_queued_messages 0
"""


@pytest.mark.parametrize(("version", "window"), [("5", 50), ("3.1.1", 30)])
async def test_qos1_messages_beyond_the_window_wait_at_the_broker_until_stored(
    version: str, window: int
) -> None:
    """Nothing is stored: the broker sends the window (MQTT 5: the connection's
    ``receive_maximum``; 3.1.1: the broker's ``max_inflight_messages``) and keeps the rest; once
    storing resumes, every message the broker acknowledged to the publisher arrives."""
    ent = unique_enterprise()
    with private_broker(WINDOW_BROKER) as broker:
        connector, _ = uns_connector(broker.port, ent, version=version, receive_maximum=50)
        storing = asyncio.Event()

        async def stored() -> None:  # the writer's hook: nothing is stored until ``storing``
            await storing.wait()

        connector.stored = stored
        n = 600
        topic = f"{ent}/s/a/l/c/e/temp"
        async with running(connector) as got:
            await got.wait_for(lambda: connector.status.state == "connected")
            await publish(broker.port, *((topic, str(i).encode()) for i in range(n)))
            await got.wait_for(lambda: len(got.points) == window)
            await asyncio.sleep(0.5)  # time for more, were the broker to send them
            assert len(got.points) == window and connector._inbox is not None
            assert connector._inbox.qsize() == 0
            storing.set()
            await got.wait_for(lambda: len(got.points) == n)
    assert sorted(got.points.value) == list(range(n))
    assert connector.rejected == {}


async def test_qos0_messages_beyond_the_receive_maximum_are_dropped_and_counted(
    shared_broker: int, caplog: pytest.LogCaptureFixture
) -> None:
    """QoS 0 has no flow control: with the bus full (the sink waits), at most
    ``receive_maximum`` messages wait; the flood beyond is dropped, counted and logged once."""
    ent = unique_enterprise()
    connector, _ = uns_connector(shared_broker, ent, qos=0, receive_maximum=100)
    n = 3000
    eq = f"{ent}/s/a/l/c/e"
    messages = [
        (f"{eq}/temp", orjson.dumps({"ts": TS + i, "value": i})) if i % 2
        else (eq, orjson.dumps({"ts": TS + i, "values": {"speed": i}}))
        for i in range(n)
    ]  # fmt: skip
    with caplog.at_level(logging.WARNING, "smartfab.devices.mqtt.connector"):
        async with running(connector) as got:
            await got.wait_for(lambda: connector.status.state == "connected")
            got.flowing.clear()
            await publish(shared_broker, *messages, qos=0)
            inbox = connector._inbox
            assert inbox is not None

            def accounted() -> float:
                return (
                    connector.status.extra["messages"] + inbox.qsize()
                    + connector.rejected.get("overflow", 0)
                )  # fmt: skip

            await got.wait_for(lambda: accounted() == n)
            assert inbox.qsize() == 100  # full, and no more
            assert connector.status.extra["messages"] <= 100  # the batch waiting for the bus
            dropped = connector.rejected["overflow"]
            got.flowing.set()
            await got.wait_for(lambda: len(got.points) == n - dropped)
    assert connector.status.extra["messages"] == n - dropped
    assert connector.status.extra["rejected_overflow"] == dropped
    assert connector.rejected == {"overflow": dropped}
    overflows = [r for r in caplog.records if "overflow" in r.getMessage()]
    assert len(overflows) == 1  # one warning, although both topics overflowed


def test_receive_maximum_is_an_mqtt_two_byte_integer() -> None:
    for bad in (0, 65536):
        with pytest.raises(ValidationError, match="receive_maximum"):
            uns_connector(1883, "e", receive_maximum=bad)
        with pytest.raises(SmartfabError, match="receive_maximum"):
            uns_connector(1883, "e", MqttOptions(receive_maximum=bad))
    connector, _ = uns_connector(1883, "e", receive_maximum=65535)
    assert connector.options.receive_maximum == 65535
