"""The benchmarks' MQTT load generator and `smartfab bench mqtt` at a tiny size, against a private
Mosquitto."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading

import aiomqtt
import pytest

from smartfab.bench.mqtt import HOST, bench_mqtt, private_mosquitto, publish_qos1

pytestmark = pytest.mark.services


@pytest.fixture(autouse=True)
def _mosquitto_installed() -> None:
    if not (shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")):
        if os.environ.get("CI") == "true":
            pytest.fail("mosquitto is not installed (apt-get install mosquitto)")
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")


def test_publish_qos1_delivers_every_message_once_in_order() -> None:
    # More messages than the window, of sizes whose remaining length takes 1, 2 and 3 bytes.
    sizes = [0, 100, 127, 128, 20_000, 16_384]
    messages = [(f"bench/t{i % 3}", bytes([i % 256]) * sizes[i % len(sizes)]) for i in range(300)]
    received: list[tuple[str, bytes]] = []

    async def subscribe(port: int, subscribed: threading.Event) -> None:
        async with aiomqtt.Client(HOST, port) as client:
            await client.subscribe("bench/#", qos=1)
            subscribed.set()
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                received.append((message.topic.value, message.payload))
                if len(received) == len(messages):
                    return

    with private_mosquitto() as port:
        subscribed = threading.Event()
        subscriber = threading.Thread(target=lambda: asyncio.run(subscribe(port, subscribed)))
        subscriber.start()
        assert subscribed.wait(10)
        publish_qos1(port, messages, window=50)
        subscriber.join(30)
    assert received == messages


def test_bench_mqtt_figures() -> None:
    figures = bench_mqtt(messages=400, records=2, timeout_s=60)
    assert figures["messages"] == 400 and figures["points_per_message"] == 20
    assert figures["raw_messages_per_s"] > 0
    assert all(v > 0 for k, v in figures.items() if k.endswith("_points_per_s")), figures
