"""Sparkplug B, as a host application sees it: births, data, deaths, sequence numbers, aliases
and rebirth requests, turned into points.

Per edge node the host keeps the sequence number of its last message (0..255, wrapping; every
message of the node and its devices counts except NDEATH) and, per node and device, the aliases
its last BIRTH bound to metric names. A DATA message with a sequence gap still delivers its values
(they are valid; a message was lost, not these), but the node is asked to rebirth so that the
host's picture of it is whole again. A DATA message whose alias no BIRTH declared, or from a node
or device not born since the host started, yields nothing for those metrics and also asks for a
rebirth (``NCMD`` with ``Node Control/Rebirth`` = true); requests to one node are at most one per
``rebirth_interval_s``, so a burst of DATA does not become a burst of requests. NDEATH (the
node's MQTT will) and DDEATH mark every signal bound under the node or device BAD: a point without
a value, so that nobody reads its last value as current. An NDEATH whose ``bdSeq`` differs from the
node's last NBIRTH is the will of an older session and is ignored.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from smartfab.devices.mqtt.payload import Columns, Reject
from smartfab.devices.mqtt.sparkplug_b_pb2 import Payload
from smartfab.devices.mqtt.topics import SPARKPLUG_NAMESPACE, SparkplugTopic
from smartfab.platform.points import Quality

Metric = Payload.Metric

REBIRTH_METRIC = "Node Control/Rebirth"
BDSEQ_METRIC = "bdSeq"


class DataType:
    """Sparkplug B metric data types (Metric.datatype) that smartfab reads or writes."""

    INT8, INT16, INT32, INT64 = 1, 2, 3, 4
    UINT8, UINT16, UINT32, UINT64 = 5, 6, 7, 8
    FLOAT, DOUBLE, BOOLEAN, STRING, DATETIME = 9, 10, 11, 12, 13


# Signed integers travel as two's complement in an unsigned field; the width says where the sign is.
_SIGNED_BITS = {DataType.INT8: 8, DataType.INT16: 16, DataType.INT32: 32, DataType.INT64: 64}

DeviceKey = tuple[str, str, str | None]  # group, edge node, device (None: the node itself)
NodeKey = tuple[str, str]
Command = tuple[str, bytes]  # topic, payload to publish


@dataclass(frozen=True, slots=True)
class SourceChange:
    """An edge node or device died (``lost``) or was born again."""

    key: str  # "group/edge" or "group/edge/device"
    what: str
    lost: bool
    ts_us: int
    why: str = ""
    signal_ids: tuple[int, ...] = ()  # those the death silences


def metric_value(metric: Metric) -> float | None:
    """The metric's value as a number, or None when it is not numeric (text, bytes, ...)."""
    kind = metric.WhichOneof("value")
    if kind == "double_value":
        return metric.double_value
    if kind == "float_value":
        return metric.float_value
    if kind == "int_value" or kind == "long_value":
        v: int = metric.int_value if kind == "int_value" else metric.long_value
        bits = _SIGNED_BITS.get(metric.datatype)
        if bits is not None:
            v &= (1 << bits) - 1
            if v >> (bits - 1):
                v -= 1 << bits
        return float(v)
    if kind == "boolean_value":
        return float(metric.boolean_value)
    return None


def rebirth_request(group: str, edge: str, now_ms: int) -> Command:
    """The NCMD asking an edge node to publish its births again."""
    payload = Payload(timestamp=now_ms)
    payload.metrics.add(
        name=REBIRTH_METRIC, timestamp=now_ms, datatype=DataType.BOOLEAN, boolean_value=True
    )
    return f"{SPARKPLUG_NAMESPACE}/{group}/NCMD/{edge}", payload.SerializeToString()


@dataclass
class _Device:
    bound: Mapping[str, int]  # metric name -> signal id, from the plant's bindings
    aliases: dict[int, int] = field(default_factory=dict)  # alias -> signal id (-1: not bound)
    born: bool = False


@dataclass
class _Node:
    devices: dict[str | None, _Device]
    seq: int | None = None  # of the last message; None until a birth
    bdseq: int | None = None
    born: bool = False
    rebirth_at: float = -math.inf  # monotonic time of the last rebirth request


class SparkplugHost:
    """Turns the Sparkplug messages of the bound edge nodes into points.

    ``bindings`` maps (group, edge node, device or None) to {metric name: signal id}.
    ``handle`` appends a message's points to columns and returns the problems it had (each counted
    by the caller under its reason); rebirth requests to publish collect in ``commands``.
    """

    def __init__(
        self,
        bindings: Mapping[DeviceKey, Mapping[str, int]],
        *,
        rebirth_interval_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._nodes: dict[NodeKey, _Node] = {}
        for (group, edge, device), metrics in bindings.items():
            node = self._nodes.setdefault((group, edge), _Node(devices={}))
            node.devices[device] = _Device(dict(metrics))
        for node in self._nodes.values():
            node.devices.setdefault(None, _Device({}))  # the node's own metrics (bdSeq, ...)
        self.rebirth_interval_s = rebirth_interval_s
        self._clock = clock
        self.commands: list[Command] = []
        self.sources: list[SourceChange] = []  # deaths and births, in order, for the connector
        self.rebirth_requests = 0

    def knows(self, topic: SparkplugTopic) -> bool:
        node = self._nodes.get(topic.node)
        return node is not None and topic.device in node.devices

    def handle(
        self, topic: SparkplugTopic, raw: bytes, received_us: int, out: Columns
    ) -> list[Reject]:
        """Raises ``Reject`` for a message that is not a Sparkplug payload or whose edge node
        nothing binds. A bound node's device that nothing binds is an ``unknown_topic`` problem,
        after its sequence number was counted (the node's other messages need it)."""
        if topic.kind in ("NCMD", "DCMD", "STATE"):
            return []  # commands (our own rebirth requests among them) and host states
        node = self._nodes.get(topic.node)
        if node is None:
            raise Reject(
                "unknown_topic", f"no signal bound to edge node {topic.group}/{topic.edge}"
            )
        try:
            payload = Payload.FromString(raw)
        except DecodeError as exc:
            raise Reject("malformed", f"not a Sparkplug B payload ({exc})") from None
        problems: list[Reject] = []
        if topic.kind != "NDEATH":
            self._sequence(topic, node, payload, problems)
        device = node.devices.get(topic.device)
        if device is None:
            problems.append(Reject("unknown_topic", f"no signal bound to device {topic}"))
            return problems
        kind = topic.kind
        if kind in ("NBIRTH", "DBIRTH"):
            self.sources.append(SourceChange(_key(topic), _what(topic), False, received_us))
        if kind == "NBIRTH":
            node.born, node.bdseq = True, _bdseq(payload.metrics)
            node.rebirth_at = -math.inf
            for d in node.devices.values():  # devices are born again after their node
                d.born = False
                d.aliases.clear()
        if kind in ("NBIRTH", "DBIRTH"):
            device.born = True
            device.aliases = {
                m.alias: device.bound.get(m.name, -1)
                for m in payload.metrics
                if m.HasField("alias")
            }
            self._values(topic, payload, device, received_us, out, problems, birth=True)
        elif kind in ("NDATA", "DDATA"):
            if not (node.born and device.born):
                self._rebirth(topic, node)
                problems.append(Reject("sparkplug_no_birth", f"{topic} before its birth"))
                return problems
            self._values(topic, payload, device, received_us, out, problems, birth=False)
        elif kind == "DDEATH":
            device.born = False
            ts = _us(payload.timestamp) if payload.HasField("timestamp") else received_us
            self.sources.append(SourceChange(
                _key(topic), _what(topic), True, ts, "sent DDEATH",
                tuple(device.bound.values()),
            ))  # fmt: skip
        elif kind == "NDEATH":
            bdseq = _bdseq(payload.metrics)
            if bdseq is not None and node.bdseq is not None and bdseq != node.bdseq:
                problems.append(Reject(
                    "sparkplug_stale_death",
                    f"{topic} with bdSeq {bdseq}, the node's birth had {node.bdseq}; ignored",
                ))  # fmt: skip
                return problems
            node.born, node.seq = False, None
            for d in node.devices.values():
                d.born = False
            # The will was registered when the node connected: its timestamp is not the death's.
            self.sources.append(SourceChange(
                _key(topic), _what(topic), True, received_us,
                f"sent NDEATH (bdSeq {bdseq}): its MQTT session ended",
                tuple(sid for d in node.devices.values() for sid in d.bound.values()),
            ))  # fmt: skip
        return problems

    def _sequence(
        self, topic: SparkplugTopic, node: _Node, payload: Payload, problems: list[Reject]
    ) -> None:
        if not payload.HasField("seq") or payload.seq > 255:
            problems.append(Reject("malformed", f"{topic} without a sequence number 0..255"))
            return
        seq, last = payload.seq, node.seq
        node.seq = seq
        if topic.kind == "NBIRTH" or last is None:
            return
        if seq != (last + 1) % 256:
            problems.append(Reject(
                "sparkplug_seq_gap", f"{topic}: seq {seq} after {last}, messages lost"
            ))  # fmt: skip
            self._rebirth(topic, node)

    def _values(
        self,
        topic: SparkplugTopic,
        payload: Payload,
        device: _Device,
        received_us: int,
        out: Columns,
        problems: list[Reject],
        *,
        birth: bool,
    ) -> None:
        default_ts = _us(payload.timestamp) if payload.HasField("timestamp") else received_us
        aliases, bound = device.aliases, device.bound
        unknown = 0
        for m in payload.metrics:
            if m.HasField("alias") and not birth:
                sid = aliases.get(m.alias)
                if sid is None:
                    unknown += 1
                    continue
            else:
                sid = bound.get(m.name, -1)
            if sid < 0:
                continue  # a metric the plant does not use
            if m.is_null:
                value, quality = math.nan, Quality.BAD
            else:
                v = metric_value(m)
                if v is None:
                    problems.append(Reject(
                        "not_a_number", f"{topic}: metric {m.name or m.alias} is not a number"
                    ))  # fmt: skip
                    continue
                value, quality = v, Quality.GOOD
            out.ts.append(_us(m.timestamp) if m.HasField("timestamp") else default_ts)
            out.signal_id.append(sid)
            out.value.append(value)
            out.quality.append(quality)
        if unknown:
            problems.append(Reject(
                "sparkplug_unknown_alias", f"{topic}: {unknown} metric aliases no birth declared"
            ))  # fmt: skip
            self._rebirth(topic, self._nodes[topic.node])

    def _rebirth(self, topic: SparkplugTopic, node: _Node) -> None:
        now = self._clock()
        if now - node.rebirth_at < self.rebirth_interval_s:
            return
        node.rebirth_at = now
        self.rebirth_requests += 1
        self.commands.append(rebirth_request(topic.group, topic.edge, round(time.time() * 1000)))


def _bdseq(metrics: Iterable[Metric]) -> int | None:
    for m in metrics:
        if m.name == BDSEQ_METRIC:
            v = metric_value(m)
            return None if v is None or not math.isfinite(v) else int(v)
    return None


_MAX_US = 2**63 - 1


def _us(ms: int) -> int:
    """Epoch µs of a Sparkplug timestamp (uint64 ms). One beyond int64 µs cannot be a time: it
    becomes the largest, which the writer rejects as a future timestamp (counted, not stored)."""
    return min(ms * 1000, _MAX_US)


def _key(topic: SparkplugTopic) -> str:
    return "/".join(p for p in (topic.group, topic.edge, topic.device) if p is not None)


def _what(topic: SparkplugTopic) -> str:
    kind = "device" if topic.device is not None else "edge node"
    return f"Sparkplug {kind} {_key(topic)}"


class SparkplugEdge:
    """The edge-node side of Sparkplug B: builds one node's messages, with its sequence numbers
    (one counter for the node and all its devices), its ``bdSeq`` (one per MQTT session, shared
    by the NBIRTH and the NDEATH will that announce the session's start and end) and aliases
    (numbered across the node, as the standard requires them unique per node).

    ``devices`` maps each device to its metric names; every metric is a Double."""

    def __init__(
        self, group: str, edge: str, devices: Mapping[str, Iterable[str]], bdseq: int = 0
    ) -> None:
        self.group, self.edge, self.bdseq = group, edge, bdseq % 256
        self.devices = {d: list(metrics) for d, metrics in devices.items()}
        self.aliases: dict[str, list[int]] = {}
        alias = 1
        for d, metrics in self.devices.items():
            self.aliases[d] = list(range(alias, alias + len(metrics)))
            alias += len(metrics)
        self._seq = -1

    def topic(self, kind: str, device: str | None = None) -> str:
        return str(SparkplugTopic(self.group, kind, self.edge, device))

    def _next_seq(self, birth: bool = False) -> int:
        self._seq = 0 if birth else (self._seq + 1) % 256
        return self._seq

    def death(self) -> Command:
        """NDEATH, registered as the session's MQTT will before connecting."""
        payload = Payload()
        payload.metrics.add(name=BDSEQ_METRIC, datatype=DataType.INT64, long_value=self.bdseq)
        return self.topic("NDEATH"), payload.SerializeToString()

    def births(self, now_ms: int, latest: Mapping[str, Iterable[float]]) -> list[Command]:
        """NBIRTH, then a DBIRTH per device with its metrics' names, aliases and ``latest``
        values (NaN: null), which restart the sequence at 0."""
        node = Payload(timestamp=now_ms, seq=self._next_seq(birth=True))
        node.metrics.add(name=BDSEQ_METRIC, datatype=DataType.INT64, long_value=self.bdseq)
        node.metrics.add(name=REBIRTH_METRIC, datatype=DataType.BOOLEAN, boolean_value=False)
        out = [(self.topic("NBIRTH"), node.SerializeToString())]
        for device, names in self.devices.items():
            p = Payload(timestamp=now_ms, seq=self._next_seq())
            for name, alias, value in zip(names, self.aliases[device], latest[device], strict=True):
                m = p.metrics.add(
                    name=name, alias=alias, timestamp=now_ms, datatype=DataType.DOUBLE
                )
                if math.isnan(value):
                    m.is_null = True
                else:
                    m.double_value = value
            out.append((self.topic("DBIRTH", device), p.SerializeToString()))
        return out

    def data(
        self, device: str, ts_ms: Iterable[int], index: Iterable[int], values: Iterable[float]
    ) -> Command:
        """DDATA of ``device``: the values of its metrics number ``index`` (by alias)."""
        aliases = self.aliases[device]
        p = Payload(timestamp=round(time.time() * 1000), seq=self._next_seq())
        for t, i, v in zip(ts_ms, index, values, strict=True):
            p.metrics.add(alias=aliases[i], timestamp=t, datatype=DataType.DOUBLE, double_value=v)
        return self.topic("DDATA", device), p.SerializeToString()

    def device_death(self, device: str, now_ms: int) -> Command:
        p = Payload(timestamp=now_ms, seq=self._next_seq())
        return self.topic("DDEATH", device), p.SerializeToString()
