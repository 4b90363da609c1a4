"""The edge agent (`smartfab edge run`): reads the local devices of a plant file with the usual
connectors and forwards their points to an MQTT broker as UNS JSON, losing nothing in between.

The path of a batch: connector -> ``DiskBuffer.append`` (on disk, fsynced) -> forwarder: the oldest
batches, encoded one message per equipment, published with QoS 1 -> once the broker acknowledged
every message (PUBACK) -> ``DiskBuffer.ack`` deletes them. So while the broker is unreachable the
queue grows on disk, and when it returns the backlog goes out in order, oldest first. A crash
between PUBACK and the delete re-sends a batch: every point carries its source timestamp and the
stores keep one point per (signal, ts), so it is stored once.

The agent only opens outbound connections (to its devices and to the broker): nothing needs to
reach into the plant network.

A :class:`Replayable` source (the virtual plant's ``VirtualSource``, which stands in for devices)
keeps its position in the buffer with each batch, so that a restarted agent continues where the
last batch safe on disk ended. That makes what "the devices produced" exactly reproducible, which
the fault tests compare the stores against.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import aiomqtt
import numpy as np
import orjson

from smartfab.devices.connector import Backoff, Connector, PointSink
from smartfab.devices.edge.buffer import DiskBuffer
from smartfab.devices.modbus.connector import ModbusConnector
from smartfab.devices.mqtt.payload import json_events, json_values
from smartfab.devices.mqtt.topics import (
    DEFAULT_ENTERPRISE,
    uns_binding,
    uns_events_topic,
    uns_topic,
)
from smartfab.devices.opcua.connector import OpcUaConnector
from smartfab.errors import SmartfabError
from smartfab.model.plant import Plant
from smartfab.platform.points import (
    AnyPoints,
    EventBatch,
    EventKind,
    PointBatch,
    Quality,
    TextBatch,
)

log = logging.getLogger(__name__)

_QUALITY_TEXT = {int(Quality.UNCERTAIN): "uncertain", int(Quality.BAD): "bad"}


def edge_signal_ids(plant: Plant) -> dict[str, int]:
    """The agent's own signal ids: the ids travel no further than the agent, the broker sees
    topics and names, and the server's store assigns its own."""
    return {ref.path: i for i, ref in enumerate(plant.iter_signals())}


class UnsEncoder:
    """Batches of points as UNS JSON messages: per equipment, on ``enterprise/<equipment path>``,
    an array of ``{"ts": ms, "values": {signal: value}}`` records, one per sample time and
    quality (``"quality"`` is given when not good). A value is a number (NaN: null), a string (a
    BAD one "") or a list of numbers (a BAD one empty), so each point comes back as it was. What
    ``MqttConnector`` reads with the bindings of ``server_plant``."""

    def __init__(self, plant: Plant, signal_ids: Mapping[str, int], enterprise: str) -> None:
        size = max(signal_ids.values(), default=-1) + 1
        self._owner = np.full(size, -1, np.intp)  # signal id -> equipment number, -1: unknown
        self._name: list[str] = [""] * size
        equipment: dict[str, int] = {}
        for ref in plant.iter_signals():
            sid = signal_ids.get(ref.path)
            if sid is None:
                continue
            self._owner[sid] = equipment.setdefault(ref.owner.path, len(equipment))
            self._name[sid] = ref.signal.name
        self._topics = [uns_topic(path, enterprise) for path in equipment]

    def encode(self, points: AnyPoints) -> list[tuple[str, bytes]]:
        known = (points.signal_id >= 0) & (points.signal_id < len(self._owner))
        owner = np.where(known, self._owner[np.where(known, points.signal_id, 0)], -1)
        if not (owner >= 0).all():  # only the agent makes ids: a bug, not a device's doing
            raise SmartfabError(f"{int((owner < 0).sum())} points of signals the agent lacks")
        order = np.lexsort((points.quality, points.ts, owner))
        owner, points = owner[order], points.take(order)
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]).tolist()
        ts_ms = (points.ts / 1000).tolist()  # float ms keep the microseconds exactly
        quality = points.quality.tolist()
        names = [self._name[s] for s in points.signal_id.tolist()]
        values = json_values(points)
        out = []
        for start, end in zip(starts, [*starts[1:], len(owner)], strict=True):
            records: list[dict[str, Any]] = []
            key: tuple[float, int] | None = None
            current: dict[str, object] = {}
            for i in range(start, end):
                if (ts_ms[i], quality[i]) != key:
                    key = (ts_ms[i], quality[i])
                    current = {}
                    record: dict[str, Any] = {"ts": ts_ms[i], "values": current}
                    if quality[i]:
                        record["quality"] = _QUALITY_TEXT[quality[i]]
                    records.append(record)
                current[names[i]] = values[i]
            out.append((self._topics[int(owner[start])], orjson.dumps(records)))
        return out


def _why_lost(client: aiomqtt.Client) -> BaseException | None:
    """Why the client's connection ended, if it did. Retrieving it also keeps asyncio from
    logging it as an exception nobody retrieved when the client is left."""
    gone = client._disconnected
    return gone.exception() if gone.done() and not gone.cancelled() else None


def _slices(batch: AnyPoints, budget: int) -> list[AnyPoints]:
    """``batch`` in slices of about ``budget`` points, where an array's element and 16 characters
    of a text count as a point more each (a slice goes over by less than its largest point)."""
    if isinstance(batch, PointBatch):
        weight = np.ones(len(batch), np.int64)
    elif isinstance(batch, TextBatch):
        weight = 1 + np.fromiter(map(len, batch.text), np.int64, len(batch)) // 16
    else:
        weight = 1 + batch.lengths
    part = (np.cumsum(weight) - 1) // budget  # of the slice where each point ends
    starts = np.flatnonzero(np.r_[True, part[1:] != part[:-1]]).tolist()
    if len(starts) <= 1:
        return [batch]
    return [batch.take(np.arange(a, b)) for a, b in zip(starts, [*starts[1:], len(batch)],
                                                       strict=True)]  # fmt: skip


def server_plant(
    plant: Plant,
    *,
    host: str,
    port: int = 1883,
    enterprise: str = DEFAULT_ENTERPRISE,
    shared_group: str | None = None,
    client_id: str | None = None,
    session_expiry_s: int = 0,
) -> dict[str, Any]:
    """The plant as the ingestion servers see it (a plant file's content): every signal the
    agent publishes bound to its UNS topic on one MQTT connection ``broker``."""
    data = plant.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    published = set(_published(plant))
    for area in data["site"].get("areas", []):
        for line in area.get("lines", []):
            for cell in line.get("cells", []):
                for eq in cell.get("equipment", []):
                    path = "/".join((plant.site.name, area["name"], line["name"], cell["name"],
                                     eq["name"]))  # fmt: skip
                    for sig in eq.get("signals", []):
                        signal_path = f"{path}/{sig['name']}"
                        if signal_path in published:
                            topic, fld = uns_binding(signal_path, enterprise)
                            binding = {"connection": "broker", "topic": topic, "field": fld}
                            sig["source"] = {"mqtt": binding}
                        sig.pop("sim", None)  # the server simulates nothing
                        # and writes no setpoints: those go to the device, through the edge
                        sig.pop("writable", None)
                    # Nor does it optimise a process: approving parameters writes setpoints.
                    eq.pop("process", None)
    broker: dict[str, Any] = {
        "name": "broker", "protocol": "mqtt", "host": host, "port": port,
        "events_topic": uns_events_topic(plant.site.name, enterprise),
    }  # fmt: skip
    if shared_group:
        broker["shared_group"] = shared_group
    if client_id:
        broker["client_id"] = client_id
    if session_expiry_s:
        broker["session_expiry_s"] = session_expiry_s
    data["connections"] = [broker]
    return data


def _published(plant: Plant) -> list[str]:
    """Paths of the signals an agent on ``plant`` publishes: those read from a local device, and
    the simulated ones (the virtual source)."""
    return [
        ref.path
        for ref in plant.iter_signals()
        if ref.signal.sim is not None or ref.signal.source.protocol in ("opcua", "modbus")
    ]


def cursor_key(source_name: str) -> str:
    """Where the buffer keeps a replayable source's position."""
    return f"cursor:{source_name}"


@runtime_checkable
class Replayable(Protocol):
    """A source that can start again from a position (the virtual plant's, see
    ``smartfab.virtual.source``): the agent keeps ``cursor_us`` on disk with each of its batches,
    so when a batch is emitted it must say where the source restarts once that batch is safe. A
    source emitting several batches for one step (numbers, texts, arrays) moves it to the step's
    end only before the last of them; a restart then repeats the step's earlier batches, which
    the stores keep once."""

    cursor_us: int


@dataclass
class EdgeOptions:
    """How the agent reaches its broker."""

    host: str = "127.0.0.1"
    port: int = 1883
    enterprise: str = DEFAULT_ENTERPRISE
    client_id: str = field(default_factory=lambda: f"smartfab-edge-{socket.gethostname()}")
    username: str | None = None
    password: str | None = None
    qos: int = 1
    keepalive_s: int = 10
    timeout_s: float = 10.0  # connect; and a PUBACK that takes longer counts as a lost broker
    max_points: int = 20_000  # points per forwarding round (messages stay well below 1 MB)
    drain_s: float = 10.0  # on stop: time to forward what is buffered before leaving it on disk
    retry_refused_s: float = 1.0  # wait after a batch the broker would not deliver


@dataclass
class EdgeStats:
    points_in: int = 0  # from the sources, all on disk
    points_forwarded: int = 0  # acknowledged by the broker
    messages: int = 0
    broker_outages: int = 0
    source_outages: int = 0  # of the devices read (recorded by their connectors)
    events_forwarded: int = 0  # their gap events, acknowledged by the broker
    refused: int = 0  # messages the broker acknowledged without taking them (e.g. no subscriber)
    broker_connected: bool = False
    last_error: str = ""


class EdgeAgent:
    """Sources -> ``buffer`` -> broker. ``run`` until ``stop`` (or, with ``exit_when_done``,
    until every source finished and the buffer is empty)."""

    def __init__(
        self,
        plant: Plant,
        buffer: DiskBuffer,
        options: EdgeOptions,
        sources: Sequence[Connector],
        signal_ids: Mapping[str, int],
        *,
        backoff: Backoff | None = None,
    ) -> None:
        self.buffer, self.options, self.sources = buffer, options, list(sources)
        self.stats = EdgeStats()
        self._encoder = UnsEncoder(plant, signal_ids, options.enterprise)
        self._events_topic = uns_events_topic(plant.site.name, options.enterprise)
        self._backoff = backoff or Backoff()
        self._wake = asyncio.Event()
        self._draining = asyncio.Event()
        self._pubacks: dict[int, asyncio.Future[int]] = {}  # message id -> its reason code

    @classmethod
    def local_sources(cls, plant: Plant, signal_ids: Mapping[str, int]) -> list[Connector]:
        """A connector per OPC UA and Modbus connection of the plant."""
        out: list[Connector] = []
        for conn in plant.connections:
            if conn.protocol == "opcua":
                out.append(OpcUaConnector.from_plant(plant, conn.name, signal_ids))
            elif conn.protocol == "modbus":
                out.append(ModbusConnector.from_plant(plant, conn.name, signal_ids))
        return out

    def stop(self) -> None:
        """Stop reading the devices; ``run`` then forwards the backlog for up to ``drain_s``."""
        for source in self.sources:
            source.stop()
        self._draining.set()
        self._wake.set()

    async def run(self, exit_when_done: bool = False) -> None:
        tasks = [
            asyncio.create_task(s.run(self._sink(s), self._event), name=f"edge-source-{s.name}")
            for s in self.sources
        ]
        forwarder = asyncio.create_task(self._forward(), name="edge-forwarder")
        try:
            if exit_when_done and tasks:
                done: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*tasks))
                either: set[asyncio.Future[Any]] = {done, forwarder}
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                self._draining.set()
                self._wake.set()
            await self._draining.wait()
            for source in self.sources:
                source.stop()
            await asyncio.gather(*tasks)
            try:
                await asyncio.wait_for(asyncio.shield(forwarder), self.options.drain_s)
            except TimeoutError:
                log.warning(
                    "edge: %d points still buffered on disk; they go out at the next start",
                    self.buffer.stats.points,
                )
        finally:
            forwarder.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(forwarder, *tasks, return_exceptions=True)

    # --- sources -> disk ---------------------------------------------------------------------
    def _sink(self, source: Connector) -> PointSink:
        async def take(batch: AnyPoints) -> None:
            # A replayable source's position goes to disk with its own batch, in one transaction.
            keep = (
                {cursor_key(source.name): str(source.cursor_us)}
                if isinstance(source, Replayable)
                else None
            )
            # Back-pressure: the connector waits for the disk, so nothing is held only in memory.
            await asyncio.to_thread(self.buffer.append, batch, keep)
            self.stats.points_in += len(batch)
            self._wake.set()

        return take

    async def _event(self, batch: EventBatch) -> None:
        # A source's outage reaches the servers as the servers' own connectors record theirs
        # (see Connector): its signals' BAD points when it starts, forwarded like any point, and
        # its gap event when it ends, which waits on disk like them and goes out on the site's
        # events topic.
        self.stats.source_outages += int((batch.kind == EventKind.GAP).sum())
        await asyncio.to_thread(self.buffer.append_events, batch)
        self._wake.set()

    # --- disk -> broker ----------------------------------------------------------------------
    async def _forward(self) -> None:
        o, next_delay = self.options, self._backoff.delays()
        while True:
            try:
                async with self._client() as client:
                    self.stats.broker_connected = True
                    next_delay = self._backoff.delays()
                    log.info("edge: connected to %s:%d", o.host, o.port)
                    if await self._send_backlog(client):
                        return
            except aiomqtt.MqttError as exc:
                self.stats.broker_outages += self.stats.broker_connected
                self.stats.last_error = str(exc)
                log.warning("edge: broker %s:%d: %s; buffering on disk", o.host, o.port, exc)
            finally:
                self.stats.broker_connected = False
            left = self.buffer.stats
            if self._draining.is_set() and not (left.points or left.events):
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._draining.wait(), next_delay())

    def _client(self) -> aiomqtt.Client:
        o = self.options
        client = aiomqtt.Client(
            o.host,
            o.port,
            identifier=o.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,  # for the reason code in PUBACK
            username=o.username,
            password=o.password,
            keepalive=o.keepalive_s,
            timeout=o.timeout_s,
            max_inflight_messages=1000,  # paho's default of 20 would pace us by round trips
            logger=log,
        )
        # aiomqtt's publish drops the PUBACK's reason code, which says whether anyone took the
        # message: the agent publishes through paho and hears every PUBACK here first.
        aiomqtt_on_publish: Callable[..., None] | None = client._client.on_publish

        def on_publish(c: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
            future = self._pubacks.pop(mid, None)
            if future is not None and not future.done():
                future.set_result(int(getattr(reason, "value", 0)))
            if aiomqtt_on_publish is not None:
                aiomqtt_on_publish(c, userdata, mid, reason, props)

        client._client.on_publish = on_publish
        return client

    async def _publish(self, client: aiomqtt.Client, messages: list[tuple[str, bytes]]) -> int:
        """Publish ``messages`` with QoS 1 and wait for every PUBACK; the number of them whose
        reason code was not success. Raises MqttError when the broker is lost meanwhile."""
        loop = asyncio.get_running_loop()
        futures = []
        for topic, payload in messages:
            info = client._client.publish(topic, payload, qos=self.options.qos)
            if info.rc != 0:
                raise aiomqtt.MqttCodeError(info.rc, "could not publish") from _why_lost(client)
            future: asyncio.Future[int] = loop.create_future()
            if info.is_published():  # QoS 0
                future.set_result(0)
            else:
                self._pubacks[info.mid] = future
            futures.append(future)
        everything = asyncio.gather(*futures)
        lost = asyncio.shield(client._disconnected)
        either: set[asyncio.Future[Any]] = {everything, lost}
        done, _ = await asyncio.wait(
            either, timeout=self.options.timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        lost.cancel()  # only this wait's view of it: the client's own future stays
        if everything not in done:
            everything.cancel()
            self._pubacks.clear()
            raise aiomqtt.MqttError(
                "the broker went away before acknowledging every message"
            ) from _why_lost(client)
        return sum(code >= 0x10 for code in everything.result())

    async def _send_backlog(self, client: aiomqtt.Client) -> bool:
        """Forward until the connection fails (raises) or, draining, the buffer is empty (True)."""
        o = self.options
        while True:
            self._wake.clear()
            events = await asyncio.to_thread(self.buffer.peek_events)
            if events is not None:
                last_event, batch = events
                if await self._delivered(client, [(self._events_topic, json_events(batch))]):
                    await asyncio.to_thread(self.buffer.ack_events, last_event)
                    self.stats.events_forwarded += len(batch)
                continue
            chunk = await asyncio.to_thread(self.buffer.peek, o.max_points)
            if chunk is None:
                if self._draining.is_set():
                    return True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)
                continue
            last, batches = chunk
            # A batch larger than a round (a source that read a long span at once) goes out in
            # slices, so that no message outgrows the brokers' and servers' payload limits.
            messages = [
                m
                for batch in batches
                for piece in _slices(batch, o.max_points)
                for m in self._encoder.encode(piece)
            ]
            if not await self._delivered(client, messages):
                continue
            await asyncio.to_thread(self.buffer.ack, last)
            self.stats.points_forwarded += sum(len(b) for b in batches)

    async def _delivered(self, client: aiomqtt.Client, messages: list[tuple[str, bytes]]) -> bool:
        """Publish ``messages``; whether the broker took every one (else, after a pause, the
        caller keeps them to try again)."""
        refused = await self._publish(client, messages)
        if refused:
            # "No matching subscribers" (0x10) above all: no worker has subscribed yet, or a
            # restarted broker forgot the workers' shared subscriptions until they subscribe
            # again. The broker would drop the message, so the batch stays here for later.
            self.stats.refused += refused
            log.warning(
                "edge: the broker took %d of %d messages without delivering them (no "
                "subscriber, or refused); keeping them, trying again",
                refused, len(messages),
            )  # fmt: skip
            await asyncio.sleep(self.options.retry_refused_s)
            return False
        self.stats.messages += len(messages)
        return True
