"""The virtual factory's samples published to an MQTT broker, as UNS JSON or as Sparkplug B: how
a plant whose equipment (or edge gateways) talk MQTT looks to smartfab.

UNS: one message per equipment and publish call on ``enterprise/site/area/line/cell/equipment``,
an array of ``{"ts": ms, "values": {signal: value, ...}}`` records, one per sample time. A value
is a number (an enum's code), a string or a list of numbers, as the signal's type says; a value
that is missing or BAD is null.

Sparkplug B: one edge node per line (its own MQTT session, with the NDEATH as its will) and one
device per equipment (see ``smartfab.devices.mqtt.topics``); NBIRTH and DBIRTHs with aliases and
the latest values when connecting and when a host asks for a rebirth (NCMD), then a DDATA per
equipment and publish call, by alias. Metrics are typed from their signals
(``smartfab.devices.mqtt.sparkplug.metric_datatype``): numbers Double, enums Int32, strings
String, arrays DoubleArray. Every simulated signal is published, whatever its plant
binding: the virtual factory stands in for the equipment, not for one protocol of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Literal

import aiomqtt
import numpy as np
import orjson

from smartfab.devices.mqtt.payload import json_values
from smartfab.devices.mqtt.sparkplug import REBIRTH_METRIC, SparkplugEdge, metric_datatype
from smartfab.devices.mqtt.sparkplug_b_pb2 import Payload
from smartfab.devices.mqtt.topics import DEFAULT_ENTERPRISE, sparkplug_ids, uns_topic
from smartfab.model.plant import Plant
from smartfab.platform.points import AnyPoints, PointBatch, Quality

log = logging.getLogger(__name__)

# NCMDs waiting to be answered, at most: anyone may publish on NCMD, and a flood of them beyond
# this is dropped (by aiomqtt) rather than queued; every rebirth sends the same births anyway.
_MAX_COMMANDS = 100

Mode = Literal["uns", "sparkplug"]


class VirtualMqttPublisher:
    """Publishes points of the runner's signal ids (``signal_ids``: plant path -> id) to the broker
    at ``host:port``. ``start`` connects (and, for Sparkplug, publishes the births), ``publish``
    sends a batch, ``stop`` disconnects (Sparkplug: DDEATHs and NDEATH first)."""

    def __init__(
        self,
        plant: Plant,
        signal_ids: Mapping[str, int],
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        mode: Mode = "uns",
        enterprise: str = DEFAULT_ENTERPRISE,
        qos: int = 1,
    ) -> None:
        self.host, self.port, self.mode, self.qos = host, port, mode, qos
        size = max(signal_ids.values(), default=-1) + 1
        # Per runner signal id: its equipment's number (-1: not simulated) and its place there.
        self._owner = np.full(size, -1, np.intp)
        self._slot = np.zeros(size, np.intp)
        # The latest value of each signal, for births: numbers here, texts and arrays in _other.
        self._latest = np.full(size, np.nan)
        self._other: dict[int, object] = {}
        equipment: dict[str, list[str]] = {}
        members: dict[str, list[int]] = {}
        datatypes: dict[str, list[int]] = {}
        for ref in plant.iter_signals():
            if ref.signal.sim is None or ref.path not in signal_ids:
                continue
            names = equipment.setdefault(ref.owner.path, [])
            sid = signal_ids[ref.path]
            self._owner[sid] = list(equipment).index(ref.owner.path)
            self._slot[sid] = len(names)
            names.append(ref.signal.name)
            members.setdefault(ref.owner.path, []).append(sid)
            datatypes.setdefault(ref.owner.path, []).append(metric_datatype(ref.signal))
        self._equipment = list(equipment)
        self._names = [equipment[e] for e in self._equipment]
        self._members = [members[e] for e in self._equipment]
        self._topics = [uns_topic(e, enterprise) for e in self._equipment]
        # Sparkplug: equipment number -> (its edge node, its device id).
        self._edges: dict[tuple[str, str], SparkplugEdge] = {}
        self._device: list[tuple[SparkplugEdge, str]] = []
        nodes: dict[tuple[str, str], dict[str, list[str]]] = {}
        types: dict[tuple[str, str], dict[str, list[int]]] = {}
        for e, names in zip(self._equipment, self._names, strict=True):
            group, edge, device = sparkplug_ids(e)
            nodes.setdefault((group, edge), {})[device] = names
            types.setdefault((group, edge), {})[device] = datatypes[e]
        self._edges = {
            k: SparkplugEdge(k[0], k[1], devs, datatypes=types[k]) for k, devs in nodes.items()
        }
        for e in self._equipment:
            group, edge, device = sparkplug_ids(e)
            self._device.append((self._edges[(group, edge)], device))
        self._clients: dict[tuple[str, str] | None, aiomqtt.Client] = {}
        self._listeners: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if self.mode == "uns":
            client = aiomqtt.Client(self.host, self.port)
            await client.__aenter__()
            self._clients[None] = client
            return
        for key, edge in self._edges.items():
            topic, will = edge.death()
            client = aiomqtt.Client(
                self.host, self.port, will=aiomqtt.Will(topic, will, qos=1),
                identifier=f"smartfab-virtual-{edge.group}-{edge.edge}",
                max_queued_incoming_messages=_MAX_COMMANDS,
            )  # fmt: skip
            await client.__aenter__()
            self._clients[key] = client
            await client.subscribe(edge.topic("NCMD"), qos=1)
            await self._births(client, edge)
            self._listeners.append(asyncio.create_task(self._commands(client, edge)))

    async def stop(self) -> None:
        for task in self._listeners:
            task.cancel()
        for task in self._listeners:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._listeners.clear()
        for key, client in self._clients.items():
            with contextlib.suppress(aiomqtt.MqttError):
                if key is not None:  # a clean end of a Sparkplug session is announced
                    edge = self._edges[key]
                    now = _now_ms()
                    for device in edge.devices:
                        await client.publish(*edge.device_death(device, now), qos=1)
                    await client.publish(*edge.death(), qos=1)
                await client.__aexit__(None, None, None)
        self._clients.clear()

    async def publish(self, points: AnyPoints) -> None:
        """Publish the samples of simulated signals among ``points`` (numbers, texts or arrays:
        each signal's values are of its own kind)."""
        known = points.signal_id < len(self._owner)
        points = points.take(known)
        owner = self._owner[points.signal_id]
        points = points.take(owner >= 0)
        owner = owner[owner >= 0]
        if not len(points):
            return
        order = np.lexsort((points.ts, owner))
        owner, points = owner[order], points.take(order)
        values = _values(points)
        if isinstance(points, PointBatch):
            self._latest[points.signal_id] = points.value
        else:  # time-ordered: the last one of a signal stays
            self._other.update(zip(points.signal_id.tolist(), values, strict=True))
        ts_ms = (points.ts / 1000).tolist()  # float ms keep the microseconds exactly
        slots = self._slot[points.signal_id].tolist()
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]).tolist()
        for start, end in zip(starts, [*starts[1:], len(owner)], strict=True):
            eq = int(owner[start])
            mine = slice(start, end)
            if self.mode == "uns":
                await self._publish_uns(eq, ts_ms[mine], slots[mine], values[mine])
            else:
                edge, device = self._device[eq]
                key = (edge.group, edge.edge)
                whole_ms = [int(t) for t in ts_ms[mine]]  # Sparkplug's are whole milliseconds
                msg = edge.data(device, whole_ms, slots[mine], values[mine])
                await self._clients[key].publish(*msg, qos=self.qos)

    async def _publish_uns(
        self, eq: int, ts_ms: list[float], slots: list[int], values: list[object]
    ) -> None:
        names = self._names[eq]
        records: list[dict[str, object]] = []
        last = None
        for t, slot, v in zip(ts_ms, slots, values, strict=True):
            if t != last:
                current: dict[str, object] = {}
                records.append({"ts": t, "values": current})
                last = t
            current[names[slot]] = v
        await self._clients[None].publish(self._topics[eq], orjson.dumps(records), qos=self.qos)

    async def _births(self, client: aiomqtt.Client, edge: SparkplugEdge) -> None:
        latest = {
            device: [
                self._other.get(sid, self._latest[sid])
                for sid in self._members[self._equipment_index(edge, device)]
            ]
            for device in edge.devices
        }
        for topic, payload in edge.births(_now_ms(), latest):
            await client.publish(topic, payload, qos=1)

    def _equipment_index(self, edge: SparkplugEdge, device: str) -> int:
        return self._device.index((edge, device))

    async def _commands(self, client: aiomqtt.Client, edge: SparkplugEdge) -> None:
        """Answer rebirth requests of host applications."""
        with contextlib.suppress(aiomqtt.MqttError):
            async for message in client.messages:
                try:
                    payload = Payload.FromString(bytes(message.payload))  # type: ignore[arg-type]
                except Exception:  # noqa: BLE001 (anyone may publish anything on NCMD)
                    log.warning("%s: NCMD that is not a Sparkplug payload; ignored", edge.edge)
                    continue
                if any(m.name == REBIRTH_METRIC and m.boolean_value for m in payload.metrics):
                    log.info("%s/%s: rebirth requested", edge.group, edge.edge)
                    await self._births(client, edge)


def _values(points: AnyPoints) -> list[object]:
    """Each point's value as published: a number, a text or a list of numbers; None for a
    missing number (NaN) and for a BAD text or array (it has no value, quality is not sent)."""
    values = json_values(points)
    if isinstance(points, PointBatch):
        return values
    bad = (points.quality == Quality.BAD).tolist()
    return [None if b else v for v, b in zip(values, bad, strict=True)]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
