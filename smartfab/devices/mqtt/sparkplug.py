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

Metric data types and the plant's signal types: a number signal (float, int, bool) reads the
numeric types (Int8 .. UInt64, Float, Double, Boolean, DateTime as epoch ms); an enum signal
those, or String/Text holding the name of one of its values; a string signal String, Text and
UUID; an array signal the Sparkplug 3.0 array types Int8Array .. DoubleArray, BooleanArray and
DateTimeArray, whose elements travel packed, little-endian, in ``bytes_value`` (BooleanArray: a
uint32 count, then the bits, the first in the first byte's highest bit). StringArray has no
signal type to go to. A BIRTH declares each metric's type: one that contradicts the bound
signal's type is reported (``sparkplug_type_mismatch``: the topic, the metric, both types) and
that metric's values are skipped until a BIRTH declares a type that fits, so the report comes
once per birth, not once per value. DATA may leave the type out: the BIRTH's then applies, which
array values need to be read at all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError

from smartfab.devices.mqtt.payload import Columns, Reject, SignalType
from smartfab.devices.mqtt.sparkplug_b_pb2 import Payload
from smartfab.devices.mqtt.topics import SPARKPLUG_NAMESPACE, SparkplugTopic
from smartfab.model.plant import Signal
from smartfab.platform.points import Float64Array, Quality

Metric = Payload.Metric

REBIRTH_METRIC = "Node Control/Rebirth"
BDSEQ_METRIC = "bdSeq"


class DataType:
    """Sparkplug B metric data types (Metric.datatype) that smartfab reads or writes."""

    INT8, INT16, INT32, INT64 = 1, 2, 3, 4
    UINT8, UINT16, UINT32, UINT64 = 5, 6, 7, 8
    FLOAT, DOUBLE, BOOLEAN, STRING, DATETIME, TEXT, UUID = 9, 10, 11, 12, 13, 14, 15
    INT8_ARRAY, INT16_ARRAY, INT32_ARRAY, INT64_ARRAY = 22, 23, 24, 25
    UINT8_ARRAY, UINT16_ARRAY, UINT32_ARRAY, UINT64_ARRAY = 26, 27, 28, 29
    FLOAT_ARRAY, DOUBLE_ARRAY, BOOLEAN_ARRAY, STRING_ARRAY, DATETIME_ARRAY = 30, 31, 32, 33, 34


DATATYPE_NAMES = {
    0: "Unknown", 1: "Int8", 2: "Int16", 3: "Int32", 4: "Int64", 5: "UInt8", 6: "UInt16",
    7: "UInt32", 8: "UInt64", 9: "Float", 10: "Double", 11: "Boolean", 12: "String",
    13: "DateTime", 14: "Text", 15: "UUID", 16: "DataSet", 17: "Bytes", 18: "File",
    19: "Template", 20: "PropertySet", 21: "PropertySetList", 22: "Int8Array",
    23: "Int16Array", 24: "Int32Array", 25: "Int64Array", 26: "UInt8Array", 27: "UInt16Array",
    28: "UInt32Array", 29: "UInt64Array", 30: "FloatArray", 31: "DoubleArray",
    32: "BooleanArray", 33: "StringArray", 34: "DateTimeArray",
}  # fmt: skip

# Signed integers travel as two's complement in an unsigned field; the width says where the sign is.
_SIGNED_BITS = {DataType.INT8: 8, DataType.INT16: 16, DataType.INT32: 32, DataType.INT64: 64}
_NUMBER_TYPES = frozenset({*range(DataType.INT8, DataType.BOOLEAN + 1), DataType.DATETIME})
_TEXT_TYPES = frozenset({DataType.STRING, DataType.TEXT, DataType.UUID})
# The elements of the numeric array types as NumPy reads them from bytes_value (little-endian).
_ARRAY_ELEMENTS: dict[int, np.dtype[Any]] = {
    DataType.INT8_ARRAY: np.dtype("<i1"), DataType.INT16_ARRAY: np.dtype("<i2"),
    DataType.INT32_ARRAY: np.dtype("<i4"), DataType.INT64_ARRAY: np.dtype("<i8"),
    DataType.UINT8_ARRAY: np.dtype("<u1"), DataType.UINT16_ARRAY: np.dtype("<u2"),
    DataType.UINT32_ARRAY: np.dtype("<u4"), DataType.UINT64_ARRAY: np.dtype("<u8"),
    DataType.FLOAT_ARRAY: np.dtype("<f4"), DataType.DOUBLE_ARRAY: np.dtype("<f8"),
    DataType.DATETIME_ARRAY: np.dtype("<u8"),  # epoch ms
}  # fmt: skip
_ARRAY_TYPES = frozenset({*_ARRAY_ELEMENTS, DataType.BOOLEAN_ARRAY})

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


def array_values(datatype: int, raw: bytes) -> Float64Array:
    """The elements of an array metric's ``bytes_value``; ValueError when they cannot be read."""
    if datatype == DataType.BOOLEAN_ARRAY:
        if len(raw) < 4:
            raise ValueError(f"{len(raw)} bytes, too few for a BooleanArray's 4-byte count")
        count = int.from_bytes(raw[:4], "little")
        bits = np.unpackbits(np.frombuffer(raw, np.uint8, offset=4))
        if bits.shape[0] < count:
            raise ValueError(f"{len(raw)} bytes hold fewer than the {count} booleans they announce")
        return bits[:count].astype(np.float64)
    element = _ARRAY_ELEMENTS.get(datatype)
    if element is None:
        raise ValueError(f"{DATATYPE_NAMES.get(datatype, datatype)} is not a numeric array type")
    if len(raw) % element.itemsize:
        raise ValueError(
            f"{len(raw)} bytes are not a whole number of {DATATYPE_NAMES[datatype]} elements"
        )
    return np.frombuffer(raw, element).astype(np.float64)


def fits(datatype: int, signal_type: SignalType | None) -> bool:
    """Whether a metric of ``datatype`` can feed a signal of ``signal_type`` (None: a plain
    number); an undeclared type (0) is judged by the values that come."""
    if datatype == 0:
        return True
    kind = "number" if signal_type is None else signal_type.kind
    if kind == "text":
        return datatype in _TEXT_TYPES
    if kind == "array":
        return datatype in _ARRAY_TYPES
    enum = signal_type is not None and signal_type.codes is not None
    return datatype in _NUMBER_TYPES or (enum and datatype in _TEXT_TYPES)


def metric_datatype(signal: Signal) -> int:
    """The Sparkplug type an edge node publishes a signal as (every plain number a Double)."""
    return {"enum": DataType.INT32, "string": DataType.STRING,
            "array": DataType.DOUBLE_ARRAY}.get(signal.type, DataType.DOUBLE)  # fmt: skip


def set_value(metric: Metric, datatype: int, value: object) -> None:
    """``value`` into ``metric`` as one of the types ``metric_datatype`` gives (or Int64,
    Boolean); None and a NaN number are null."""
    metric.datatype = datatype
    if value is None or (isinstance(value, float) and math.isnan(value)):
        metric.is_null = True
    elif datatype == DataType.DOUBLE:
        metric.double_value = float(value)  # type: ignore[arg-type]
    elif datatype == DataType.STRING:
        metric.string_value = str(value)
    elif datatype == DataType.DOUBLE_ARRAY:
        metric.bytes_value = np.asarray(value, np.float64).astype("<f8").tobytes()
    elif datatype == DataType.INT32:
        metric.int_value = int(value) & 0xFFFFFFFF  # type: ignore[call-overload]
    elif datatype == DataType.INT64:
        metric.long_value = int(value) & 0xFFFFFFFFFFFFFFFF  # type: ignore[call-overload]
    elif datatype == DataType.BOOLEAN:
        metric.boolean_value = bool(value)
    else:
        raise ValueError(f"cannot write a {DATATYPE_NAMES.get(datatype, datatype)} metric")


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
    # What DATA by name reads: ``bound`` without the metrics whose birth declared a type their
    # signal cannot take.
    named: Mapping[str, int]
    aliases: dict[int, int] = field(default_factory=dict)  # alias -> signal id (-1: not bound)
    # Signal id -> the data type its metric's last birth declared (signals that are not plain
    # numbers: DATA without a type is read as that).
    declared: dict[int, int] = field(default_factory=dict)
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

    ``bindings`` maps (group, edge node, device or None) to {metric name: signal id},
    ``types`` the signals that are not plain numbers to their type. ``handle`` appends a
    message's points to columns and returns the problems it had (each counted by the caller
    under its reason); rebirth requests to publish collect in ``commands``.
    """

    def __init__(
        self,
        bindings: Mapping[DeviceKey, Mapping[str, int]],
        types: Mapping[int, SignalType] | None = None,
        *,
        rebirth_interval_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._nodes: dict[NodeKey, _Node] = {}
        for (group, edge, device), metrics in bindings.items():
            node = self._nodes.setdefault((group, edge), _Node(devices={}))
            node.devices[device] = _Device(dict(metrics), dict(metrics))
        for node in self._nodes.values():
            node.devices.setdefault(None, _Device({}, {}))  # the node's own metrics (bdSeq, ...)
        self._types: Mapping[int, SignalType] = types or {}
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
            self._declare(topic, payload, device, problems)
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

    def _declare(
        self, topic: SparkplugTopic, payload: Payload, device: _Device, problems: list[Reject]
    ) -> None:
        """A birth's aliases and data types; a type that contradicts the bound signal's is
        reported and unbinds the metric until the next birth."""
        named, device.declared = dict(device.bound), {}
        for m in payload.metrics:
            sid = device.bound.get(m.name, -1)
            if sid < 0:
                continue
            signal_type = self._types.get(sid)
            if not fits(m.datatype, signal_type):
                del named[m.name]
                wanted = "a number" if signal_type is None else signal_type.data_type
                problems.append(Reject(
                    "sparkplug_type_mismatch",
                    f"{topic}: metric {m.name!r} is declared "
                    f"{DATATYPE_NAMES.get(m.datatype, m.datatype)}, but the plant file's signal "
                    f"is {wanted}; its values are skipped until a birth declares a type that fits",
                ))  # fmt: skip
            elif signal_type is not None:
                device.declared[sid] = m.datatype
        device.named = named
        device.aliases = {
            m.alias: named.get(m.name, -1) for m in payload.metrics if m.HasField("alias")
        }

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
        aliases, named, types = device.aliases, device.named, self._types
        unknown = 0
        for m in payload.metrics:
            if m.HasField("alias") and not birth:
                sid = aliases.get(m.alias)
                if sid is None:
                    unknown += 1
                    continue
            else:
                sid = named.get(m.name, -1)
            if sid < 0:
                continue  # a metric the plant does not use (or whose birth's type does not fit)
            ts = _us(m.timestamp) if m.HasField("timestamp") else default_ts
            signal_type = types.get(sid) if types else None
            if signal_type is not None:
                problem = _other_value(m, sid, signal_type, device, ts, out)
                if problem is not None:
                    problems.append(Reject("wrong_type", f"{topic}: metric {_name(m)} {problem}"))
                continue
            if m.is_null:
                value, quality = math.nan, Quality.BAD
            else:
                v = metric_value(m)
                if v is None:
                    problems.append(
                        Reject("wrong_type", f"{topic}: metric {_name(m)} is not a number")
                    )
                    continue
                value, quality = v, Quality.GOOD
            out.ts.append(ts)
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


def _other_value(
    m: Metric, sid: int, signal_type: SignalType, device: _Device, ts: int, out: Columns
) -> str | None:
    """Append the value of a metric bound to a signal that is not a plain number; why not, when
    the value does not fit the signal."""
    kind = signal_type.kind
    if m.is_null:
        out.add_bad(kind, ts, sid)
        return None
    field = m.WhichOneof("value")
    if kind == "text":
        if field != "string_value":
            return f"holds no text ({field or 'no value'})"
        out.texts.add(ts, sid, m.string_value, _GOOD)
        return None
    if kind == "array":
        datatype = m.datatype if m.HasField("datatype") else device.declared.get(sid, 0)
        if field != "bytes_value":
            return f"holds no array ({field or 'no value'})"
        try:
            values = array_values(datatype, m.bytes_value)
        except ValueError as exc:
            return f"holds no array that can be read: {exc}"
        out.arrays.add(ts, sid, values.tolist(), _GOOD)
        return None
    if field == "string_value":  # an enum's value name
        code = signal_type.code(m.string_value)
        if code is None:
            return (
                f"value {m.string_value[:40]!r} is none of the enum's names ({signal_type.names()})"
            )
        out.add_number(ts, sid, float(code), _GOOD)
        return None
    v = metric_value(m)
    if v is None:
        return "is not a number"
    out.add_number(ts, sid, v, _GOOD)
    return None


def _name(m: Metric) -> str:
    return repr(m.name) if m.name else f"alias {m.alias}"


_GOOD = int(Quality.GOOD)


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

    ``devices`` maps each device to its metric names; ``datatypes`` (per device, one per metric,
    see ``metric_datatype``) their types, by default Double. A value is a number, a text or a
    sequence of numbers as its type wants; None, and a NaN number, are null."""

    def __init__(
        self,
        group: str,
        edge: str,
        devices: Mapping[str, Iterable[str]],
        bdseq: int = 0,
        datatypes: Mapping[str, Sequence[int]] | None = None,
    ) -> None:
        self.group, self.edge, self.bdseq = group, edge, bdseq % 256
        self.devices = {d: list(metrics) for d, metrics in devices.items()}
        self.datatypes = {
            d: list((datatypes or {}).get(d, [DataType.DOUBLE] * len(metrics)))
            for d, metrics in self.devices.items()
        }
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

    def births(self, now_ms: int, latest: Mapping[str, Iterable[object]]) -> list[Command]:
        """NBIRTH, then a DBIRTH per device with its metrics' names, aliases, types and
        ``latest`` values, which restart the sequence at 0."""
        node = Payload(timestamp=now_ms, seq=self._next_seq(birth=True))
        node.metrics.add(name=BDSEQ_METRIC, datatype=DataType.INT64, long_value=self.bdseq)
        node.metrics.add(name=REBIRTH_METRIC, datatype=DataType.BOOLEAN, boolean_value=False)
        out = [(self.topic("NBIRTH"), node.SerializeToString())]
        for device, names in self.devices.items():
            p = Payload(timestamp=now_ms, seq=self._next_seq())
            metrics = zip(names, self.aliases[device], self.datatypes[device], latest[device],
                          strict=True)  # fmt: skip
            for name, alias, datatype, value in metrics:
                m = p.metrics.add(name=name, alias=alias, timestamp=now_ms)
                set_value(m, datatype, value)
            out.append((self.topic("DBIRTH", device), p.SerializeToString()))
        return out

    def data(
        self, device: str, ts_ms: Iterable[int], index: Iterable[int], values: Iterable[object]
    ) -> Command:
        """DDATA of ``device``: the values of its metrics number ``index`` (by alias)."""
        aliases, datatypes = self.aliases[device], self.datatypes[device]
        p = Payload(timestamp=round(time.time() * 1000), seq=self._next_seq())
        for t, i, v in zip(ts_ms, index, values, strict=True):
            set_value(p.metrics.add(alias=aliases[i], timestamp=t), datatypes[i], v)
        return self.topic("DDATA", device), p.SerializeToString()

    def device_death(self, device: str, now_ms: int) -> Command:
        p = Payload(timestamp=now_ms, seq=self._next_seq())
        return self.topic("DDEATH", device), p.SerializeToString()
