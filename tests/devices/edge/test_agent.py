"""The edge agent in-process: its UNS messages decode to the points it read, it keeps a batch that
the broker acknowledged without delivering (no subscriber) until someone subscribes, and it reads
the plant's OPC UA and Modbus devices."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import aiomqtt
import numpy as np

from smartfab.config import DEMO_PLANT
from smartfab.devices.edge.agent import (
    EdgeAgent,
    EdgeOptions,
    UnsEncoder,
    edge_signal_ids,
    server_plant,
)
from smartfab.devices.edge.buffer import DiskBuffer
from smartfab.devices.modbus.connector import ModbusConnector
from smartfab.devices.mqtt.connector import MqttConnector
from smartfab.devices.mqtt.payload import Columns, JsonTopic, SignalType
from smartfab.model.loader import load_plant
from smartfab.model.plant import Plant
from smartfab.platform.points import AnyPoints, EventBatch, PointBatch, Quality, now_us
from smartfab.virtual.factory import VirtualFactory
from smartfab.virtual.modbus.server import VirtualModbusServer
from smartfab.virtual.runner import RunnerProcess
from tests.conftest import demo_plant_on_free_ports
from tests.devices.modbus.plants import FAST, device_plant
from tests.devices.mqtt.broker import HOST, shared_broker_port

PLANT = load_plant(DEMO_PLANT)


def factory_points(seconds: int = 20) -> PointBatch:
    ids = edge_signal_ids(PLANT)
    start = (now_us() // 1_000_000 - 600) * 1_000_000
    points, _ = VirtualFactory(PLANT, ids, seed=3, start_us=start).advance(start + seconds * 10**6)
    return points


def topics_of(served: Plant, ids: dict[str, int]) -> dict[str, JsonTopic]:
    """How the ingestion servers decode the topics of ``served`` (``server_plant``'s), with the
    edge's ``ids``."""
    fields: dict[str, list[tuple[str, int]]] = {}
    types: dict[int, SignalType] = {}
    for ref in served.iter_signals():
        b = ref.signal.source.mqtt
        assert b is not None
        fields.setdefault(b.topic, []).append((b.field, ids[ref.path]))
        if (signal_type := SignalType.of(ref.signal)) is not None:
            types[ids[ref.path]] = signal_type
    return {topic: JsonTopic(f, types) for topic, f in fields.items()}


def decoder(enterprise: str) -> dict[str, JsonTopic]:
    """What the ingestion servers read of the demo plant's edge."""
    served = Plant.model_validate(server_plant(PLANT, host=HOST, enterprise=enterprise))
    return topics_of(served, edge_signal_ids(PLANT))


def decode(messages: list[tuple[str, bytes]], topics: dict[str, JsonTopic]) -> PointBatch:
    """The numbers among ``messages`` (every value of the right type)."""
    out = Columns()
    for topic, payload in messages:
        bad, _ = topics[topic].decode(payload, 0, out)
        assert bad == 0
    return out.batch()


def rows(p: PointBatch) -> list[tuple[int, int, float, int]]:
    return sorted(
        zip(p.signal_id.tolist(), p.ts.tolist(), np.nan_to_num(p.value, nan=-1e300).tolist(),
            p.quality.tolist(), strict=True)
    )  # fmt: skip


def test_messages_decode_to_the_points_read() -> None:
    points = factory_points()
    # Quality and missing values travel too: some points uncertain, some bad without a value.
    quality = np.where(np.arange(len(points)) % 7 == 0, Quality.UNCERTAIN, points.quality)
    quality = np.where(np.arange(len(points)) % 11 == 0, Quality.BAD, quality).astype(np.uint8)
    value = np.where(quality == Quality.BAD, np.nan, points.value)
    points = PointBatch(points.ts, points.signal_id, value, quality)
    messages = UnsEncoder(PLANT, edge_signal_ids(PLANT), "acme").encode(points)
    assert len(messages) == 17  # one per equipment
    assert rows(decode(messages, decoder("acme"))) == rows(points)


def test_texts_and_arrays_of_the_demo_plant_decode_as_they_were_read() -> None:
    ids = edge_signal_ids(PLANT)
    start = (now_us() // 1_000_000 - 600) * 1_000_000
    done = VirtualFactory(PLANT, ids, seed=3, start_us=start).advance_all(start + 60 * 10**6)
    assert len(done.texts) and len(done.arrays)  # product codes, lots; spectra
    encoder, topics = UnsEncoder(PLANT, ids, "acme"), decoder("acme")
    for batch in (done.texts, done.arrays):
        out = Columns()
        for topic, payload in encoder.encode(batch):
            assert topics[topic].decode(payload, 0, out) == (0, "")
        (got,) = out.batches()
        order, want = np.lexsort((got.ts, got.signal_id)), np.lexsort((batch.ts, batch.signal_id))
        a, b = got.take(order), batch.take(want)
        assert all(np.array_equal(getattr(a, c), getattr(b, c)) for c in b.__slots__)


async def test_batch_kept_until_a_subscriber_takes_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = shared_broker_port()
    enterprise = f"t{uuid.uuid4().hex[:10]}"
    points = factory_points(5)
    buffer = DiskBuffer(tmp_path)
    buffer.append(points)
    options = EdgeOptions(host=HOST, port=port, enterprise=enterprise, retry_refused_s=0.2,
                          client_id=f"edge-{enterprise}")  # fmt: skip
    agent = EdgeAgent(PLANT, buffer, options, [], edge_signal_ids(PLANT))
    task = asyncio.create_task(agent.run())
    try:
        async with asyncio.timeout(20):
            while agent.stats.refused == 0:  # nobody subscribes to the enterprise's topics yet
                await asyncio.sleep(0.05)
        assert buffer.stats.points == len(points)  # so nothing left the buffer
        received: list[tuple[str, bytes]] = []
        async with aiomqtt.Client(HOST, port) as client:
            await client.subscribe(f"{enterprise}/#", qos=1)
            async with asyncio.timeout(20):
                async for message in client.messages:
                    received.append((message.topic.value, bytes(message.payload)))  # type: ignore[arg-type]
                    if len(received) == 17:  # the batch: one message per equipment
                        break
            while buffer.stats.points:  # deleted once the broker acknowledged all of them
                await asyncio.sleep(0.05)
        assert rows(decode(received, decoder(enterprise))) == rows(points)
    finally:
        agent.stop()
        await asyncio.wait_for(task, 20)
        buffer.close()


async def test_reads_the_plant_devices_and_publishes_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The agent's real sources: the plant's OPC UA and Modbus connections, served by the
    virtual factory's servers in a process of their own."""
    port = shared_broker_port()
    plant_file = demo_plant_on_free_ports(tmp_path)
    plant = load_plant(plant_file)
    ids = edge_signal_ids(plant)
    enterprise = f"t{uuid.uuid4().hex[:10]}"
    topics = decoder(enterprise)
    protocols = {ids[r.path]: r.signal.source.protocol for r in plant.iter_signals()}
    seen: set[str] = set()
    with RunnerProcess(plant_file):
        buffer = DiskBuffer(tmp_path / "edge")
        options = EdgeOptions(host=HOST, port=port, enterprise=enterprise, client_id=enterprise)
        sources = EdgeAgent.local_sources(plant, ids)
        assert {s.protocol for s in sources} == {"modbus", "opcua"}  # one per connection
        agent = EdgeAgent(plant, buffer, options, sources, ids)
        async with aiomqtt.Client(HOST, port) as client:
            await client.subscribe(f"{enterprise}/#", qos=1)
            task = asyncio.create_task(agent.run())
            try:
                async with asyncio.timeout(60):
                    async for message in client.messages:
                        got = decode([(message.topic.value, bytes(message.payload))], topics)  # type: ignore[arg-type]
                        seen.update(protocols[s] for s in got.signal_id.tolist())
                        if seen == {"opcua", "modbus"}:
                            break
            finally:
                agent.stop()
                await asyncio.wait_for(task, 30)
                buffer.close()


async def test_a_device_outage_reaches_the_server_as_bad_points_and_a_gap_event(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The agent records a device's outage the way every connector does, and the server's MQTT
    connector receives it as its own: the device's signals as BAD points without a value when it
    is lost, values once it is back, and then one gap event saying how long it lasted."""
    port = shared_broker_port()
    device = VirtualModbusServer(device_plant())
    device.set_values(np.arange(4), [21.5, 1.5, 7, 0.25])
    await device.start()
    plant = device_plant(device.port)
    ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
    enterprise = f"t{uuid.uuid4().hex[:10]}"
    served = Plant.model_validate(server_plant(plant, host=HOST, port=port, enterprise=enterprise))
    server = MqttConnector.from_plant(served, "broker", ids, backoff=FAST)
    buffer = DiskBuffer(tmp_path / "edge")
    options = EdgeOptions(host=HOST, port=port, enterprise=enterprise, client_id=enterprise)
    source = ModbusConnector.from_plant(plant, "plc", ids, timeout_s=0.5, backoff=FAST)
    agent = EdgeAgent(plant, buffer, options, [source], ids)
    received: list[PointBatch] = []
    events: list[EventBatch] = []
    changed = asyncio.Event()

    async def take_points(batch: AnyPoints) -> None:
        assert isinstance(batch, PointBatch)
        received.append(batch)
        changed.set()

    async def take_events(batch: EventBatch) -> None:
        events.append(batch)
        changed.set()

    async def until(condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(20):
            while not (received and condition()):
                changed.clear()
                await changed.wait()

    def points() -> PointBatch:
        return PointBatch.concat(received)

    listening = asyncio.create_task(server.run(take_points, take_events))
    try:
        async with asyncio.timeout(20):
            while server.status.state != "connected":
                await asyncio.sleep(0.02)
        task = asyncio.create_task(agent.run())
        try:
            await until(lambda: bool((points().value == 21.5).any()))
            await device.stop()
            await until(lambda: int((points().quality == Quality.BAD).sum()) >= 4)
            device.set_values([0], [22.5])
            await device.start()
            await until(lambda: bool(events) and bool((points().value == 22.5).any()))
        finally:
            agent.stop()
            await asyncio.wait_for(task, 30)
            buffer.close()
    finally:
        server.stop()
        await asyncio.wait_for(listening, 10)
        await device.stop()
    bad = points().take(points().quality == Quality.BAD)
    assert sorted(bad.signal_id.tolist()) == [0, 1, 2, 3] and np.isnan(bad.value).all()
    assert len(set(bad.ts.tolist())) == 1  # all at the outage's start
    gap = EventBatch.concat(events)
    assert gap.kind.tolist() == ["gap"] and gap.code.tolist() == ["connection_lost"]
    assert gap.equipment.tolist() == ["connector:plc"]
    assert gap.ts[0] == bad.ts[0] and gap.value[0] > 0  # from the outage's start, its seconds
    assert agent.stats.source_outages == 1 and agent.stats.events_forwarded == 1
    assert buffer.stats.events == 0  # acknowledged, so deleted
