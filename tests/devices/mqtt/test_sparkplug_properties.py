"""Hostile Sparkplug B payloads: random bytes and mutations of valid births, data and deaths
either yield points (with the problems counted) or are rejected with ``Reject``; never another
exception, and the gathered columns always become a batch (every timestamp fits int64 µs)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smartfab.devices.mqtt.payload import Columns, Reject, SignalType
from smartfab.devices.mqtt.sparkplug import (
    BDSEQ_METRIC,
    DataType,
    DeviceKey,
    SparkplugEdge,
    SparkplugHost,
)
from smartfab.devices.mqtt.sparkplug_b_pb2 import Payload
from smartfab.devices.mqtt.topics import SparkplugTopic

RECEIVED_US = 1_794_895_200_000_000
NOW_MS = RECEIVED_US // 1000
METRICS = {"press": ["force", "stroke"], "oven": ["temp"], "line": ["recipe", "profile", "mode"]}
BINDINGS: dict[DeviceKey, dict[str, int]] = {
    ("plant", "edge-1", d): {m: i for i, m in enumerate(ms, 10 * k)}
    for k, (d, ms) in enumerate(METRICS.items())
}
# The line's recipe is a string (20), its profile an array (21), its mode an enum (22).
TYPES = {20: SignalType("string"), 21: SignalType("array"), 22: SignalType("enum", {"on": 1})}
DATATYPES = {"line": [DataType.STRING, DataType.DOUBLE_ARRAY, DataType.INT32]}


def _valid_messages() -> list[tuple[str, bytes]]:
    edge = SparkplugEdge("plant", "edge-1", METRICS, bdseq=3, datatypes=DATATYPES)
    latest: dict[str, list[object]] = {
        "press": [1.0, float("nan")],
        "oven": [20.0],
        "line": ["A", [1.0, 2.0], 1],
    }
    out = [edge.death(), *edge.births(NOW_MS, latest)]
    out.append(edge.data("press", [NOW_MS, NOW_MS + 1], [0, 1], [2.0, 3.0]))
    out.append(edge.data("oven", [NOW_MS], [0], [21.0]))
    out.append(edge.data("line", [NOW_MS] * 3, [0, 1, 2], ["B", [3.0, -1.0], None]))
    out.append(edge.device_death("oven", NOW_MS))
    # Metrics of every type, by name, with extreme timestamps and values.
    p = Payload(timestamp=2**64 - 1, seq=5)
    p.metrics.add(name="force", datatype=DataType.INT8, int_value=2**32 - 1, timestamp=2**64 - 1)
    p.metrics.add(name="stroke", datatype=DataType.INT64, long_value=2**64 - 1)
    p.metrics.add(name="force", datatype=DataType.FLOAT, float_value=float("inf"))
    p.metrics.add(name="stroke", datatype=DataType.STRING, string_value="x")
    p.metrics.add(
        name="profile", datatype=DataType.BOOLEAN_ARRAY, bytes_value=b"\x09\0\0\0\xff\x80"
    )
    p.metrics.add(name="profile", datatype=DataType.INT16_ARRAY, bytes_value=b"\x01\0\x02")
    p.metrics.add(name="recipe", datatype=DataType.INT32, int_value=5)
    p.metrics.add(name="mode", datatype=DataType.STRING, string_value="on")
    p.metrics.add(name=BDSEQ_METRIC, datatype=DataType.DOUBLE, double_value=float("nan"))
    out.append((edge.topic("DDATA", "press"), p.SerializeToString()))
    death = Payload()
    death.metrics.add(name=BDSEQ_METRIC, datatype=DataType.DOUBLE, double_value=float("inf"))
    out.append((edge.topic("NDEATH"), death.SerializeToString()))
    return out


VALID = _valid_messages()
KINDS = ["NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH", "NCMD", "STATE"]


def _topic(text: str) -> SparkplugTopic:
    _, group, kind, edge, *device = text.split("/")
    return SparkplugTopic(group, kind, edge, device[0] if device else None)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(VALID))[1])
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        if kind == "flip" and at < len(raw):
            raw[at] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=6))
        elif kind == "delete":
            del raw[at : at + draw(st.integers(1, 6))]
        else:
            del raw[at:]
    return bytes(raw)


topics = st.one_of(
    st.sampled_from(VALID).map(lambda m: _topic(m[0])),
    st.builds(
        SparkplugTopic,
        st.sampled_from(["plant", "other"]),
        st.sampled_from(KINDS),
        st.sampled_from(["edge-1", "edge-2"]),
        st.sampled_from([None, "press", "oven", "line", "nobody"]),
    ),
)
messages = st.one_of(
    st.sampled_from(VALID).map(lambda m: (_topic(m[0]), m[1])),
    st.tuples(topics, mutated()),
    st.tuples(topics, st.binary(max_size=80)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(messages, min_size=1, max_size=8))
def test_any_payload_yields_points_or_is_rejected(
    sequence: list[tuple[SparkplugTopic, bytes]],
) -> None:
    host = SparkplugHost(BINDINGS, TYPES, rebirth_interval_s=0.0)
    out = Columns()
    for topic, raw in sequence:
        n = len(out)
        try:
            problems = host.handle(topic, raw, RECEIVED_US, out)
        except Reject as exc:
            assert exc.reason and exc.detail
            assert len(out) == n, "a rejected message appends nothing"
            continue
        assert all(isinstance(p, Reject) and p.reason for p in problems)
        assert len(out.ts) == len(out.signal_id) == len(out.value) == len(out.quality)
        assert len(out.arrays.values) == sum(out.arrays.lengths)
    batch, texts, arrays = out.batch(), out.texts.batch(), out.arrays.batch()
    assert set(batch.signal_id.tolist()) <= {0, 1, 10, 22}
    assert set(texts.signal_id.tolist()) <= {20} and set(arrays.signal_id.tolist()) <= {21}
    for command_topic, payload in host.commands:  # rebirth requests are valid Sparkplug
        assert "/NCMD/" in command_topic and Payload.FromString(payload).metrics
