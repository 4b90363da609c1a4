"""Sparkplug B host logic, message by message (no broker): births, aliases, sequence numbers,
rebirth requests and deaths. Over a real broker: test_sparkplug_broker.py."""

from __future__ import annotations

import math

import pytest

from smartfab.devices.mqtt.payload import Columns, Reject
from smartfab.devices.mqtt.sparkplug import (
    REBIRTH_METRIC,
    DataType,
    SparkplugEdge,
    SparkplugHost,
    metric_value,
)
from smartfab.devices.mqtt.sparkplug_b_pb2 import Payload
from smartfab.devices.mqtt.topics import SparkplugTopic, parse_sparkplug
from smartfab.platform.points import Quality

NOW_US = 1_763_000_000_000_000


class Host:
    """A SparkplugHost bound to device ``c.e`` of node ``s/a.l`` (metrics temp -> 1, speed -> 2)
    and the node's own metric ``uptime`` -> 3, with a clock the test moves."""

    def __init__(self) -> None:
        self.time = 100.0
        bindings = {("s", "a.l", "c.e"): {"temp": 1, "speed": 2}, ("s", "a.l", None): {"uptime": 3}}
        self.host = SparkplugHost(bindings, rebirth_interval_s=2.0, clock=lambda: self.time)
        self.problems: list[Reject] = []

    def feed(self, *messages: tuple[str, bytes]) -> Columns:
        out = Columns()
        for topic, payload in messages:
            parsed = parse_sparkplug(topic)
            assert parsed is not None
            self.problems += self.host.handle(parsed, payload, NOW_US, out)
        return out

    def reasons(self) -> list[str]:
        return [p.reason for p in self.problems]


def edge() -> SparkplugEdge:
    return SparkplugEdge("s", "a.l", {"c.e": ["temp", "speed", "unbound"]}, bdseq=7)


def births(e: SparkplugEdge) -> list[tuple[str, bytes]]:
    return e.births(1000, {"c.e": [20.0, math.nan, 1.0]})


def test_birth_binds_aliases_and_delivers_its_values() -> None:
    h, e = Host(), edge()
    out = h.feed(*births(e), e.data("c.e", [2000, 2001], [0, 1], [21.0, 1500.0]))
    assert h.problems == []
    assert out.signal_id == [1, 2, 1, 2]  # birth values (temp, null speed), then data
    assert out.ts == [1_000_000, 1_000_000, 2_000_000, 2_001_000]
    assert out.value[0] == 20.0 and math.isnan(out.value[1]) and out.value[2:] == [21.0, 1500.0]
    assert out.quality == [Quality.GOOD, Quality.BAD, Quality.GOOD, Quality.GOOD]


def test_data_before_birth_asks_for_rebirth_once_per_interval() -> None:
    h, e = Host(), edge()
    e.births(0, {"c.e": [0, 0, 0]})  # born before the host started: the host missed it
    out = h.feed(e.data("c.e", [1], [0], [1.0]), e.data("c.e", [2], [0], [2.0]))
    assert len(out) == 0 and h.reasons() == ["sparkplug_no_birth"] * 2
    assert len(h.host.commands) == 1  # not one per message
    topic, raw = h.host.commands[0]
    assert topic == "spBv1.0/s/NCMD/a.l"
    (metric,) = Payload.FromString(raw).metrics
    assert metric.name == REBIRTH_METRIC and metric.boolean_value
    h.time += 2.5
    h.feed(e.data("c.e", [3], [0], [3.0]))
    assert len(h.host.commands) == 2 and h.host.rebirth_requests == 2
    out = h.feed(*births(e), e.data("c.e", [4], [0], [4.0]))  # the rebirth
    assert out.value[-1] == 4.0


def test_sequence_gap_keeps_the_data_and_asks_for_rebirth() -> None:
    h, e = Host(), edge()
    h.feed(*births(e))
    e.data("c.e", [1], [0], [1.0])  # lost on the way
    out = h.feed(e.data("c.e", [2], [0], [2.0]))
    assert out.value == [2.0]
    assert h.reasons() == ["sparkplug_seq_gap"] and len(h.host.commands) == 1
    assert "seq 3 after 1" in h.problems[0].detail


def test_sequence_wraps_after_255() -> None:
    h, e = Host(), edge()
    h.feed(*births(e))
    out = h.feed(*(e.data("c.e", [i], [0], [float(i)]) for i in range(300)))
    assert len(out) == 300 and h.problems == []


def test_unknown_alias_is_dropped_and_asks_for_rebirth() -> None:
    h, e = Host(), edge()
    h.feed(*births(e))
    p = Payload(timestamp=5, seq=2)
    p.metrics.add(alias=99, datatype=DataType.DOUBLE, double_value=1.0)
    p.metrics.add(alias=e.aliases["c.e"][0], datatype=DataType.DOUBLE, double_value=2.0)
    out = h.feed(("spBv1.0/s/DDATA/a.l/c.e", p.SerializeToString()))
    assert out.value == [2.0] and h.reasons() == ["sparkplug_unknown_alias"]
    assert len(h.host.commands) == 1


def test_deaths_and_births_are_outages_of_their_node_or_device() -> None:
    h, e = Host(), edge()
    h.feed(*births(e))
    assert [(c.key, c.lost) for c in h.host.sources] == [("s/a.l", False), ("s/a.l/c.e", False)]
    h.host.sources.clear()
    out = h.feed(e.device_death("c.e", 5000))
    assert len(out) == 0  # the connector marks the signals bad, as for every outage
    (death,) = h.host.sources
    assert (death.key, death.lost, death.ts_us) == ("s/a.l/c.e", True, 5_000_000)
    assert sorted(death.signal_ids) == [1, 2] and death.what == "Sparkplug device s/a.l/c.e"
    out = h.feed(e.data("c.e", [6], [0], [1.0]))  # a dead device's data: needs a birth
    assert len(out) == 0 and h.reasons() == ["sparkplug_no_birth"]
    h.host.sources.clear()
    h.feed(e.death())  # the node's will: its own and its devices' signals
    (death,) = h.host.sources
    assert (death.key, death.lost) == ("s/a.l", True) and sorted(death.signal_ids) == [1, 2, 3]
    assert death.ts_us == NOW_US  # the will's time is its registration's; arrival counts
    assert "NDEATH (bdSeq 7)" in death.why


def test_death_of_an_older_session_is_ignored() -> None:
    h = Host()
    old, new = edge(), SparkplugEdge("s", "a.l", {"c.e": ["temp"]}, bdseq=8)
    h.feed(*new.births(0, {"c.e": [1.0]}))
    h.host.sources.clear()
    out = h.feed(old.death())
    assert len(out) == 0 and h.reasons() == ["sparkplug_stale_death"]
    assert h.host.sources == []


def test_unbound_devices_and_nodes_are_unknown_topics() -> None:
    h = Host()
    other = SparkplugEdge("s", "a.l", {"x.y": ["temp"]})
    h.feed(*other.births(0, {"x.y": [1.0]}))
    assert h.reasons() == ["unknown_topic"]  # its DBIRTH; the NBIRTH of the node is bound
    with pytest.raises(Reject, match="unknown_topic"):
        h.feed(*SparkplugEdge("s", "z.z", {"d": ["temp"]}).births(0, {"d": [1.0]}))


def test_not_a_payload_is_malformed() -> None:
    with pytest.raises(Reject, match="malformed"):
        Host().feed(("spBv1.0/s/NDATA/a.l", b"\xff\xff\xff"))


@pytest.mark.parametrize(
    ("datatype", "field", "raw", "value"),
    [
        (DataType.INT8, "int_value", 0xFF, -1),
        (DataType.INT8, "int_value", 0xFFFFFFFE, -2),
        (DataType.INT16, "int_value", 0x8000, -32768),
        (DataType.INT32, "int_value", 0xFFFFFFFF, -1),
        (DataType.UINT32, "int_value", 0xFFFFFFFF, 4294967295),
        (DataType.INT64, "long_value", 2**64 - 5, -5),
        (DataType.UINT64, "long_value", 2**63, 2.0**63),
        (DataType.FLOAT, "float_value", 1.5, 1.5),
        (DataType.BOOLEAN, "boolean_value", True, 1.0),
    ],
)
def test_metric_values(datatype: int, field: str, raw: object, value: float) -> None:
    m = Payload.Metric(datatype=datatype, **{field: raw})  # type: ignore[arg-type]
    assert metric_value(m) == value


def test_text_is_not_a_number() -> None:
    assert metric_value(Payload.Metric(datatype=DataType.STRING, string_value="x")) is None


def test_topics() -> None:
    assert parse_sparkplug("spBv1.0/g/DDATA/n/d") == SparkplugTopic("g", "DDATA", "n", "d")
    assert parse_sparkplug("spBv1.0/g/NDATA/n") == SparkplugTopic("g", "NDATA", "n")
    assert parse_sparkplug("spBv1.0/STATE/host") == SparkplugTopic("", "STATE", "host")
    for bad in ("spBv1.0/g/DDATA/n", "spBv1.0/g/NDATA/n/d", "spBv1.0/g/XDATA/n", "a/b/c/d"):
        assert parse_sparkplug(bad) is None
