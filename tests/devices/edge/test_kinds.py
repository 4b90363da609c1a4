"""The edge agent with string, enum and array signals: its UNS messages decode to the points it
read, of every kind, and none is lost while the broker is down (it restarts mid-stream)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from smartfab.devices.connector import Backoff, Connector, PointSink, SignalIds
from smartfab.devices.edge.agent import (
    EdgeAgent,
    EdgeOptions,
    UnsEncoder,
    _slices,
    server_plant,
)
from smartfab.devices.edge.buffer import DiskBuffer
from smartfab.devices.mqtt.connector import MqttConnector
from smartfab.devices.mqtt.payload import Columns, JsonTopic, SignalType
from smartfab.model.plant import Plant
from smartfab.platform.points import AnyPoints, ArrayBatch, PointBatch, Quality, TextBatch
from tests.devices.bound_plants import plant
from tests.devices.mqtt.broker import HOST, private_broker
from tests.devices.sinks import running

T0 = 1_763_000_000_000_000  # µs


def kinds_plant() -> Plant:
    """Equipment s/a/l/c/e with temp (float), recipe (string), mode (enum) and profile (array
    of 3), each a quantity of the virtual equipment: what an agent publishes."""
    virtual = {"virtual": True}
    return plant([
        {"name": "temp", "sim": "temp", "source": virtual},
        {"name": "recipe", "type": "string", "sim": "recipe", "source": virtual},
        {"name": "mode", "type": "enum", "values": {0: "off", 1: "run"}, "sim": "mode",
         "source": virtual},
        {"name": "profile", "type": "array", "length": 3, "sim": "profile", "source": virtual},
    ], [])  # fmt: skip


PLANT = kinds_plant()
IDS = {ref.path: i for i, ref in enumerate(PLANT.iter_signals())}
TEMP, RECIPE, MODE, PROFILE = (IDS[f"s/a/l/c/e/{n}"] for n in ("temp", "recipe", "mode", "profile"))


def points(k: int) -> list[AnyPoints]:
    """Round ``k`` of the source: a point of each signal, some of them uncertain or BAD."""
    ts = T0 + k * 1_000_000
    quality = Quality.BAD if k % 5 == 4 else Quality.UNCERTAIN if k % 3 == 2 else Quality.GOOD
    bad = quality == Quality.BAD
    return [
        PointBatch.of(ts, [TEMP, MODE], [np.nan if bad else 20 + k / 8, k % 2], quality),
        TextBatch.of(ts, RECIPE, "" if bad else f"R-{k} ✓", quality),
        ArrayBatch.of(ts, PROFILE, np.empty((1, 0)) if bad else [[k, -k, k / 3]], quality),
    ]


def served(enterprise: str, port: int = 1883, **options: Any) -> Plant:
    return Plant.model_validate(
        server_plant(PLANT, host=HOST, port=port, enterprise=enterprise, **options)
    )


def decode(messages: list[tuple[str, bytes]], enterprise: str) -> list[AnyPoints]:
    """What the ingestion servers read from ``messages``."""
    fields: dict[str, list[tuple[str, int]]] = {}
    types: dict[int, SignalType] = {}
    for ref in served(enterprise).iter_signals():
        b = ref.signal.source.mqtt
        assert b is not None
        fields.setdefault(b.topic, []).append((b.field, IDS[ref.path]))
        if (signal_type := SignalType.of(ref.signal)) is not None:
            types[IDS[ref.path]] = signal_type
    topics = {topic: JsonTopic(f, types) for topic, f in fields.items()}
    out = Columns()
    for topic, payload in messages:
        assert topics[topic].decode(payload, 0, out) == (0, "")
    return out.batches()


def rows(batches: list[AnyPoints]) -> list[tuple[object, ...]]:
    """Every point as (kind, signal, ts, value, quality), in order; NaN as None."""
    out: list[tuple[object, ...]] = []
    for b in batches:
        if isinstance(b, PointBatch):
            values: list[object] = [None if v != v else v for v in b.value.tolist()]
        elif isinstance(b, TextBatch):
            values = b.text.tolist()
        else:
            values = [
                tuple(None if v != v else v for v in b.row(i).tolist()) for i in range(len(b))
            ]
        kind = type(b).__name__
        out += zip([kind] * len(b), b.signal_id.tolist(), b.ts.tolist(), values,
                   b.quality.tolist(), strict=True)  # fmt: skip
    return sorted(out, key=repr)


def test_messages_decode_to_the_points_read_of_every_kind() -> None:
    encoder = UnsEncoder(PLANT, IDS, "acme")
    read = [b for k in range(12) for b in points(k)]
    messages = [m for b in read for m in encoder.encode(b)]
    assert {topic for topic, _ in messages} == {"acme/s/a/l/c/e"}
    assert rows(decode(messages, "acme")) == rows(read)
    # A BAD text and array travel as "" and [] with their quality, a missing number as null.
    record = orjson.loads(encoder.encode(points(4)[2])[0][1])
    assert record == [{"ts": (T0 + 4_000_000) / 1000, "values": {"profile": []}, "quality": "bad"}]


def test_long_texts_and_arrays_go_out_in_smaller_slices() -> None:
    """A round's budget counts an array's elements and a text's characters (16 a point), so
    that a message of them stays as small as one of as many numbers."""
    ts = T0 + np.arange(100)
    numbers = PointBatch.of(ts, np.full(100, TEMP), np.ones(100))
    assert _slices(numbers, 100) == [numbers]
    arrays = ArrayBatch.of(ts, PROFILE, np.ones((100, 999)))  # 1000 points' worth each
    pieces = _slices(arrays, 20_000)
    assert [len(p) for p in pieces] == [20] * 5
    assert np.array_equal(ArrayBatch.concat(pieces).values, arrays.values)  # type: ignore[arg-type]
    texts = TextBatch.of(ts, RECIPE, ["x" * 160] * 100)  # 11 points' worth each
    assert [len(p) for p in _slices(texts, 110)] == [10] * 10


class Rounds(Connector):
    """A device that gives ``points(k)`` for k in 0 .. n-1, one round every ``period_s``, then
    stops."""

    protocol = "test"

    def __init__(self, n: int, period_s: float) -> None:
        super().__init__("rounds", "test:rounds")
        self.n, self.period_s = n, period_s

    @property
    def signal_ids(self) -> SignalIds:
        return SignalIds.of([TEMP, RECIPE, MODE, PROFILE], ["number", "text", "number", "array"])

    async def _connect(self) -> None:
        pass

    async def _disconnect(self) -> None:
        pass

    async def _stream(self, emit: PointSink) -> None:
        for k in range(self.n):
            for batch in points(k):
                await emit(batch)
            await self._sleep(self.period_s)
        self.stop()


@pytest.mark.services
async def test_no_text_or_array_is_lost_while_the_broker_restarts(tmp_path: Path) -> None:
    """The agent buffers on disk while its broker is down and forwards the backlog once it is
    back; the server side (MqttConnector on the same broker) then holds every point the device
    gave, texts and arrays alike, exactly once."""
    enterprise = f"t{uuid.uuid4().hex[:10]}"
    n = 60
    with private_broker() as broker:
        connector = MqttConnector.from_plant(
            served(enterprise, broker.port), "broker", IDS, backoff=Backoff(0.05, max_s=0.3)
        )
        buffer = DiskBuffer(tmp_path / "edge")
        options = EdgeOptions(host=HOST, port=broker.port, enterprise=enterprise, keepalive_s=2,
                              timeout_s=2, retry_refused_s=0.1, client_id=enterprise)  # fmt: skip
        source = Rounds(n, period_s=0.05)
        agent = EdgeAgent(PLANT, buffer, options, [source], IDS, backoff=Backoff(0.05, max_s=0.3))
        async with running(connector) as got:
            await got.wait_for(lambda: connector.status.state == "connected")
            task = asyncio.create_task(agent.run(exit_when_done=True))
            try:
                await got.wait_for(lambda: len(got.texts) >= 5)
                broker.stop()
                await got.wait_for(lambda: not agent.stats.broker_connected)
                await got.wait_for(lambda: buffer.stats.points > 0)  # what comes meanwhile
                await asyncio.sleep(0.5)
                broker.start()
                await asyncio.wait_for(task, 60)
                await got.wait_for(lambda: len(got.arrays) >= n, timeout_s=20)
            finally:
                agent.stop()
                await asyncio.wait_for(task, 30)
                buffer.close()
    assert agent.stats.broker_outages >= 1 and agent.stats.points_forwarded == 4 * n
    # The server's own outage (its connection to the broker) marks its signals BAD once: those
    # points are the server's, not the device's.
    outage = int(got.gaps.ts[0])
    kept = [b.take(b.ts != outage) for b in (got.points, got.texts, got.arrays)]
    # A batch part of which the broker could not deliver (no subscriber yet) is sent again
    # whole: the stores keep one point per signal and time.
    assert sorted(set(rows(kept)), key=repr) == rows([b for k in range(n) for b in points(k)])
