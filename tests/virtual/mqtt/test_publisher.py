"""The virtual factory over MQTT, as UNS JSON and as Sparkplug B, read back by MqttConnector
through the real Mosquitto; a flood of rebirth requests."""

from __future__ import annotations

import asyncio
import logging
import uuid

import aiomqtt
import numpy as np
import pytest

from smartfab.devices.connector import Backoff
from smartfab.devices.mqtt.connector import MqttConnector
from smartfab.devices.mqtt.sparkplug import rebirth_request
from smartfab.platform.points import PointBatch, Quality, now_us
from smartfab.virtual.factory import VirtualFactory
from smartfab.virtual.mqtt.publisher import Mode, VirtualMqttPublisher
from tests.devices.mqtt.broker import HOST, shared_broker_port
from tests.devices.sinks import running
from tests.virtual.mqtt.plants import mqtt_plant

pytestmark = pytest.mark.services


def rows(points: PointBatch) -> list[tuple[int, int, float]]:
    return sorted(
        zip(points.signal_id.tolist(), points.ts.tolist(), points.value.tolist(), strict=True)
    )


@pytest.mark.parametrize("mode", ["uns", "sparkplug"])
async def test_factory_over_mqtt_reads_back(mode: Mode) -> None:
    site = f"t{uuid.uuid4().hex[:10]}"  # Sparkplug's group: a site of the test's own
    plant = mqtt_plant(site, mode, enterprise=site)
    ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
    start = now_us() - 10_000_000
    factory = VirtualFactory(plant, ids, seed=3, start_us=start)
    publisher = VirtualMqttPublisher(plant, ids, port=shared_broker_port(), mode=mode,
                                     enterprise=site)  # fmt: skip
    await publisher.start()  # Sparkplug: births before the host listens, so it misses them
    connector = MqttConnector.from_plant(plant, "broker", ids, backoff=Backoff(initial_s=0.05))
    try:
        async with running(connector) as got:
            await got.wait_for(lambda: connector.status.state == "connected")
            first, _ = factory.advance(start + 5_000_000)
            await publisher.publish(first)
            if mode == "sparkplug":
                # Data from a node the host saw no birth of: it asks for one, the node rebirths.
                await got.wait_for(lambda: connector.status.extra["rebirth_requests"] >= 1)
                await got.wait_for(lambda: len(got.points) >= len(ids))  # the births' values
                assert connector.rejected["sparkplug_no_birth"] >= 1
            else:
                await got.wait_for(lambda: len(got.points) == len(first))
            before = len(got.points)
            second, _ = factory.advance(now_us())
            await publisher.publish(second)
            await got.wait_for(lambda: len(got.points) == before + len(second))
            if mode == "uns":
                assert rows(got.points) == rows(PointBatch.concat([first, second]))
            else:
                assert rows(got.points.take(np.arange(before, len(got.points)))) == rows(second)
            n = len(got.points)
            await publisher.stop()
            if mode == "sparkplug":  # DDEATHs and NDEATH: every signal BAD
                await got.wait_for(lambda: len(got.points) >= n + 2 * len(ids))
                dead = got.points.take(np.arange(n, len(got.points)))
                assert set(dead.quality.tolist()) == {Quality.BAD}
                assert set(dead.signal_id.tolist()) == set(ids.values())
        assert connector.rejected.get("unknown_topic", 0) == 0
    finally:
        await publisher.stop()


async def test_a_flood_of_rebirth_requests_queues_at_most_100(
    caplog: pytest.LogCaptureFixture,
) -> None:
    site = f"t{uuid.uuid4().hex[:10]}"
    plant = mqtt_plant(site, "sparkplug", enterprise=site)
    ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
    port = shared_broker_port()
    publisher = VirtualMqttPublisher(plant, ids, port=port, mode="sparkplug", enterprise=site)
    await publisher.start()
    try:
        [(node, client)] = publisher._clients.items()  # one line: one edge node
        assert node is not None
        command = rebirth_request(*node, 0)
        peak = 0

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, len(client.messages))
                await asyncio.sleep(0)

        watcher = asyncio.create_task(watch())
        with caplog.at_level(logging.WARNING):
            async with aiomqtt.Client(HOST, port) as flooder:
                for _ in range(3000):
                    await flooder.publish(*command, qos=0)
            for _ in range(500):  # the node answers what it kept
                if not len(client.messages):
                    break
                await asyncio.sleep(0.02)
        watcher.cancel()
        assert len(client.messages) == 0 and peak == 100
        assert any("queue is full" in r.getMessage() for r in caplog.records)  # the flood's rest
    finally:
        await publisher.stop()
