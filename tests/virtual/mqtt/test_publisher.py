"""The virtual factory over MQTT, as UNS JSON and as Sparkplug B, read back by MqttConnector
through the real Mosquitto; texts, enums and arrays the same way; a flood of rebirth requests."""

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
from smartfab.platform.points import (
    AnyPoints,
    ArrayBatch,
    PointBatch,
    Quality,
    TextBatch,
    now_us,
)
from smartfab.virtual.factory import VirtualFactory
from smartfab.virtual.mqtt.publisher import Mode, VirtualMqttPublisher
from tests.devices.mqtt.broker import HOST, shared_broker_port
from tests.devices.sinks import Collected, running
from tests.virtual.mqtt.plants import KINDS, SIGNALS, mqtt_plant

pytestmark = pytest.mark.services


def rows(*batches: AnyPoints) -> list[tuple[object, ...]]:
    """The points of ``batches`` as (signal, ts, value), sorted: a text as it is, an array as a
    tuple."""
    out: list[tuple[object, ...]] = []
    for b in batches:
        if isinstance(b, PointBatch):
            values: list[object] = b.value.tolist()
        elif isinstance(b, TextBatch):
            values = b.text.tolist()
        else:
            values = [tuple(b.row(i).tolist()) for i in range(len(b))]
        out += zip(b.signal_id.tolist(), b.ts.tolist(), values, strict=True)
    return sorted(out)


def received(got: Collected, since: tuple[int, int, int] = (0, 0, 0)) -> list[AnyPoints]:
    """What the connector emitted, numbers, texts and arrays, after the ``since`` first of each."""
    batches = (got.points, got.texts, got.arrays)
    return [b.take(np.arange(n, len(b))) for b, n in zip(batches, since, strict=True)]


def counts(got: Collected) -> tuple[int, int, int]:
    return len(got.points), len(got.texts), len(got.arrays)


@pytest.mark.parametrize("mode", ["uns", "sparkplug"])
async def test_factory_over_mqtt_reads_back(mode: Mode) -> None:
    """Every kind of value the virtual equipment simulates (numbers, an enum, texts, arrays)."""
    site = f"t{uuid.uuid4().hex[:10]}"  # Sparkplug's group: a site of the test's own
    plant = mqtt_plant(site, mode, enterprise=site, signals=SIGNALS + KINDS)
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
            first = factory.advance_all(start + 5_000_000)[:3]
            assert all(len(b) for b in first)
            for batch in first:
                await publisher.publish(batch)
            if mode == "sparkplug":
                # Data from a node the host saw no birth of: it asks for one, the node rebirths.
                await got.wait_for(lambda: connector.status.extra["rebirth_requests"] >= 1)
                await got.wait_for(lambda: sum(counts(got)) >= len(ids))  # the births' values
                assert connector.rejected["sparkplug_no_birth"] >= 1
            else:
                await got.wait_for(lambda: sum(counts(got)) == sum(map(len, first)))
            before = counts(got)
            second = factory.advance_all(now_us())[:3]
            for batch in second:
                await publisher.publish(batch)
            await got.wait_for(lambda: sum(counts(got)) == sum(before) + sum(map(len, second)))
            if mode == "uns":
                assert rows(*received(got)) == rows(*first, *second)
            else:
                assert rows(*received(got, before)) == rows(*second)
            n = counts(got)
            await publisher.stop()
            if mode == "sparkplug":  # DDEATHs and NDEATH: every signal BAD, of every kind
                await got.wait_for(lambda: sum(counts(got)) >= sum(n) + 2 * len(ids))
                dead = received(got, n)
                assert {q for b in dead for q in b.quality.tolist()} == {Quality.BAD}
                assert {s for b in dead for s in b.signal_id.tolist()} == set(ids.values())
        assert connector.rejected.get("unknown_topic", 0) == 0
        assert "wrong_type" not in connector.rejected
    finally:
        await publisher.stop()


@pytest.mark.parametrize("mode", ["uns", "sparkplug"])
async def test_texts_enums_and_arrays_over_mqtt_read_back(mode: Mode) -> None:
    """Each signal published as its kind says, read back as that kind; the node's end (DDEATHs
    and NDEATH) marks every kind BAD."""
    site = f"t{uuid.uuid4().hex[:10]}"
    plant = mqtt_plant(site, mode, enterprise=site, signals=KINDS)
    ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
    recipe, mode_, profile = ([ids[f"{site}/a/l/c/cnc-{n}/{s}"] for n in (1, 2)]
                              for s in ("product_code", "mode", "spectrum"))  # fmt: skip
    publisher = VirtualMqttPublisher(plant, ids, port=shared_broker_port(), mode=mode,
                                     enterprise=site)  # fmt: skip
    connector = MqttConnector.from_plant(plant, "broker", ids, backoff=Backoff(initial_s=0.05))
    t0 = (now_us() // 1000 - 5000) * 1000  # whole milliseconds: Sparkplug's resolution
    texts = TextBatch.of([t0, t0, t0 + 1000], [recipe[0], recipe[1], recipe[0]],
                         ["A-17", "B-2", "Ä ✓ 𝄞"])  # fmt: skip
    codes = PointBatch.of([t0, t0 + 1000], mode_, [1.0, 2.0])
    arrays = ArrayBatch.of(t0, profile, [[1.0, 2.5, -3.0], [0.0, 1e300, -1e-300]])
    try:
        async with running(connector) as got:
            await got.wait_for(lambda: connector.status.state == "connected")
            await publisher.start()  # Sparkplug: births of no values yet, nulls: BAD points
            for batch in (texts, codes, arrays):
                await publisher.publish(batch)
            await got.wait_for(lambda: len(got.good) == 2 and (got.arrays.quality == 0).sum() == 2)
            await got.wait_for(lambda: (got.texts.quality == Quality.GOOD).sum() == 3)
            n = len(got.texts), len(got.arrays)
            await publisher.stop()
            if mode == "sparkplug":  # DDEATHs and NDEATH: every kind BAD
                await got.wait_for(lambda: len(got.texts) >= n[0] + 4)
                await got.wait_for(lambda: len(got.arrays) >= n[1] + 4)
        assert connector.rejected.get("unknown_topic", 0) == 0
        assert "wrong_type" not in connector.rejected
    finally:
        await publisher.stop()
    good_texts = got.texts.take(got.texts.quality == Quality.GOOD)
    assert sorted(zip(good_texts.signal_id.tolist(), good_texts.ts.tolist(),
                      good_texts.text.tolist(), strict=True)) == sorted(
        zip(texts.signal_id.tolist(), texts.ts.tolist(), texts.text.tolist(), strict=True)
    )  # fmt: skip
    assert rows(got.good) == rows(codes)
    good_arrays = got.arrays.take(got.arrays.quality == Quality.GOOD)
    got_rows = {int(good_arrays.signal_id[i]): good_arrays.row(i).tolist() for i in range(2)}
    assert got_rows == {profile[i]: arrays.row(i).tolist() for i in range(2)}
    assert set(good_arrays.ts.tolist()) == {t0}
    if mode == "sparkplug":
        bad_texts = got.texts.take(got.texts.quality == Quality.BAD)
        assert set(bad_texts.signal_id.tolist()) == set(recipe)
        assert set(bad_texts.text.tolist()) == {""}
        bad_arrays = got.arrays.take(got.arrays.quality == Quality.BAD)
        assert set(bad_arrays.signal_id.tolist()) == set(profile)
        assert len(bad_arrays.values) == 0


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
