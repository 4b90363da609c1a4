"""String, enum and array signals over MQTT: UNS JSON values of each JSON type, Sparkplug B's
text and array data types (packed little-endian, as the standard's own examples), births whose
type contradicts the plant file, and outages that mark every kind BAD."""

from __future__ import annotations

import asyncio
import math
import struct

import aiomqtt
import numpy as np
import orjson
import pytest

from smartfab.devices.connector import Backoff
from smartfab.devices.mqtt.connector import MqttConnector, MqttOptions
from smartfab.devices.mqtt.payload import Columns, JsonTopic, Reject, SignalType
from smartfab.devices.mqtt.sparkplug import (
    DataType,
    SparkplugEdge,
    SparkplugHost,
    array_values,
    metric_datatype,
)
from smartfab.devices.mqtt.sparkplug_b_pb2 import Payload
from smartfab.devices.mqtt.topics import parse_sparkplug
from smartfab.model.plant import Signal
from smartfab.platform.points import Quality, now_us
from tests.devices.mqtt.broker import (
    HOST,
    mqtt_plant,
    mqtt_signal,
    private_broker,
    signal_ids,
    unique_enterprise,
)
from tests.devices.sinks import running

TS = 1_763_000_000_000  # ms
RECIPE = SignalType("string")
MODE = SignalType("enum", {"off": 0, "run": 1, "setup": 2})
PROFILE = SignalType("array")
TYPES = {1: RECIPE, 2: MODE, 3: PROFILE}  # signal 4: a plain number


def kinds_signals(topic: str, field: str = "values.{}") -> list[dict[str, object]]:
    """recipe (string), mode (enum), profile (array of 3) and temp (float) on ``topic``."""
    return [
        mqtt_signal("recipe", topic, field.format("recipe"), type="string"),
        mqtt_signal("mode", topic, field.format("mode"), type="enum",
                    values={0: "off", 1: "run", 2: "setup"}),
        mqtt_signal("profile", topic, field.format("profile"), type="array", length=3),
        mqtt_signal("temp", topic, field.format("temp")),
    ]  # fmt: skip


# --- UNS JSON -----------------------------------------------------------------------------------


def decode(topic: JsonTopic, *docs: object) -> tuple[Columns, list[tuple[int, str]]]:
    out = Columns()
    bad = [topic.decode(orjson.dumps(doc), 0, out) for doc in docs]
    return out, [b for b in bad if b[0]]


@pytest.mark.parametrize("edge_shape", [True, False])
def test_uns_values_of_every_kind(edge_shape: bool) -> None:
    fields = [("values.recipe", 1), ("values.mode", 2), ("values.profile", 3), ("values.temp", 4)]
    topic = JsonTopic(fields, TYPES)
    if not edge_shape:
        topic._nested = None  # the general path, value at a time
    out, bad = decode(
        topic,
        {"ts": TS, "values": {"recipe": "A-17", "mode": 1, "profile": [1, 2.5, True], "temp": 20}},
        {"ts": TS + 1, "values": {"recipe": "B", "mode": "setup", "profile": [0, None, -1]}},
        {"ts": TS + 2, "quality": "uncertain", "values": {"recipe": None, "profile": None}},
    )
    assert bad == []
    texts, arrays, numbers = out.texts.batch(), out.arrays.batch(), out.batch()
    assert texts.text.tolist() == ["A-17", "B", ""] and texts.signal_id.tolist() == [1, 1, 1]
    assert texts.quality.tolist() == [Quality.GOOD, Quality.GOOD, Quality.BAD]  # null: BAD
    assert texts.ts.tolist() == [TS * 1000, (TS + 1) * 1000, (TS + 2) * 1000]
    assert arrays.lengths.tolist() == [3, 3, 0] and arrays.quality.tolist() == [0, 0, 2]
    assert arrays.row(0).tolist() == [1.0, 2.5, 1.0]
    assert arrays.row(1)[0] == 0 and math.isnan(arrays.row(1)[1])  # a null element is NaN
    assert sorted(zip(numbers.signal_id.tolist(), numbers.value.tolist(), strict=True)) == [
        (2, 1.0), (2, 2.0), (4, 20.0)  # an enum's name is its code
    ]  # fmt: skip
    assert [len(b) for b in out.batches()] == [3, 3, 3]


def test_uns_values_of_the_wrong_json_type_are_counted_and_the_rest_kept() -> None:
    topic = JsonTopic([("value", 1)], TYPES)
    out, bad = decode(topic, {"value": 5}, {"value": ["x"]}, "a bare text is its value")
    assert bad == [(1, "value '5' is not a string"), (1, "value \"['x']\" is not a string")]
    assert out.texts.text == ["a bare text is its value"]
    _, bad = decode(JsonTopic([("value", 3)], TYPES), {"value": "1,2,3"}, {"value": [1, "2"]})
    assert [b[1] for b in bad] == [
        "value '1,2,3' is not a list of numbers", "value \"[1, '2']\" is not a list of numbers"
    ]  # fmt: skip
    _, bad = decode(JsonTopic([("value", 2)], TYPES), {"value": "running"}, {"value": [1]})
    assert [b[1] for b in bad] == [
        "value 'running' is none of the enum's names (off, run, setup)",
        "value '[1]' is not a number",
    ]
    # The edge agent's shape: one wrong value sends the message down the general path, which
    # keeps the others.
    edge = JsonTopic([("values.recipe", 1), ("values.temp", 4)], TYPES)
    out, bad = decode(edge, {"values": {"recipe": 17, "temp": 20.5}})
    assert bad == [(1, "value '17' is not a string")] and out.value == [20.5]
    assert out.texts.ts == []


def test_a_rejected_message_takes_back_its_texts_and_arrays() -> None:
    topic = JsonTopic([("values.recipe", 1), ("values.profile", 3)], TYPES)
    out = Columns()
    topic.decode(orjson.dumps({"values": {"recipe": "A", "profile": [1, 2, 3]}}), 0, out)
    good = out.mark()
    message = [{"values": {"recipe": "B", "profile": [4, 5, 6]}}, {"ts": "never"}]
    with pytest.raises(Reject, match="bad_timestamp"):
        topic.decode(orjson.dumps(message), 0, out)
    assert out.mark() == good and out.arrays.values == [1, 2, 3]


def test_signal_types_from_the_plant_model() -> None:
    source = {"mqtt": {"connection": "b", "topic": "t", "field": "v"}}
    enum = Signal(name="m", unit="1", type="enum", values={0: "off", 7: "on"}, source=source)
    assert SignalType.of(enum) == SignalType("enum", {"off": 0, "on": 7})
    assert SignalType.of(Signal(name="x", unit="1", type="int", source=source)) is None
    assert SignalType.of(Signal(name="s", unit="1", type="string", source=source)) == RECIPE
    assert metric_datatype(enum) == DataType.INT32


# --- Sparkplug B --------------------------------------------------------------------------------

# (datatype, bytes_value, elements): packed little-endian by struct, not by the code under test.
ARRAYS = [
    (DataType.INT8_ARRAY, struct.pack("<3b", -23, 123, 0), [-23, 123, 0]),
    (DataType.INT16_ARRAY, struct.pack("<2h", -30000, 30000), [-30000, 30000]),
    (DataType.INT32_ARRAY, struct.pack("<2i", -1, 2**31 - 1), [-1, 2**31 - 1]),
    (DataType.INT64_ARRAY, struct.pack("<2q", -(2**62), 5), [-(2.0**62), 5]),
    (DataType.UINT8_ARRAY, struct.pack("<2B", 23, 250), [23, 250]),
    (DataType.UINT16_ARRAY, struct.pack("<2H", 30, 52000), [30, 52000]),
    (DataType.UINT32_ARRAY, struct.pack("<2I", 52, 3123456789), [52, 3123456789]),
    (DataType.UINT64_ARRAY, struct.pack("<Q", 2**63 + 2), [2.0**63]),
    (DataType.FLOAT_ARRAY, struct.pack("<2f", 1.5, -0.25), [1.5, -0.25]),
    (DataType.DOUBLE_ARRAY, struct.pack("<2d", 1e300, -2.5), [1e300, -2.5]),
    (DataType.DATETIME_ARRAY, struct.pack("<Q", TS), [float(TS)]),
    # The Sparkplug 3.0 specification's example: a uint32 count, then the bits, first one highest.
    (DataType.BOOLEAN_ARRAY, bytes([0x0C, 0, 0, 0, 0x34, 0xD0]),
     [0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1]),
]  # fmt: skip


@pytest.mark.parametrize(("datatype", "raw", "elements"), ARRAYS)
def test_sparkplug_array_types(datatype: int, raw: bytes, elements: list[float]) -> None:
    assert array_values(datatype, raw).tolist() == elements


@pytest.mark.parametrize(
    ("datatype", "raw", "why"),
    [
        (DataType.INT32_ARRAY, b"\x01\x02\x03", "3 bytes are not a whole number of Int32Array"),
        (DataType.BOOLEAN_ARRAY, b"\x09\x00\x00\x00\xff", "fewer than the 9 booleans"),
        (DataType.BOOLEAN_ARRAY, b"\x01\x00\x00\x00", "fewer than the 1 booleans"),
        (DataType.BOOLEAN_ARRAY, b"\x01", "1 bytes, too few for a BooleanArray's 4-byte count"),
        (DataType.STRING_ARRAY, b"a\x00b\x00", "StringArray is not a numeric array type"),
    ],
)
def test_sparkplug_arrays_that_cannot_be_read(datatype: int, raw: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        array_values(datatype, raw)


class Host:
    """A SparkplugHost bound to device ``s/a.l/c.e``: recipe (string, 1), mode (enum, 2),
    profile (array, 3), temp (float, 4)."""

    def __init__(self) -> None:
        names = {"recipe": 1, "mode": 2, "profile": 3, "temp": 4}
        self.host = SparkplugHost({("s", "a.l", "c.e"): names}, TYPES)
        self.problems: list[Reject] = []

    def feed(self, *messages: tuple[str, bytes]) -> Columns:
        out = Columns()
        for topic, payload in messages:
            parsed = parse_sparkplug(topic)
            assert parsed is not None
            self.problems += self.host.handle(parsed, payload, 0, out)
        return out


def typed_edge(
    recipe: int = DataType.STRING, profile: int = DataType.DOUBLE_ARRAY
) -> SparkplugEdge:
    names = ["recipe", "mode", "profile", "temp"]
    datatypes = [recipe, DataType.INT32, profile, DataType.DOUBLE]
    return SparkplugEdge("s", "a.l", {"c.e": names}, datatypes={"c.e": datatypes})


def test_sparkplug_text_enum_and_array_metrics_from_birth_to_death() -> None:
    h, e = Host(), typed_edge()
    out = h.feed(
        *e.births(1000, {"c.e": ["A-17", 1.0, [1.0, 2.0, 3.0], 20.0]}),
        e.data("c.e", [2000] * 4, [0, 1, 2, 3], ["B-2", 2.0, [4.0, 5.5, 6.0], 21.0]),
        e.data("c.e", [3000] * 2, [0, 2], [None, None]),  # null: BAD
    )
    assert h.problems == []
    texts, arrays, numbers = out.texts.batch(), out.arrays.batch(), out.batch()
    assert texts.text.tolist() == ["A-17", "B-2", ""]
    assert texts.quality.tolist() == [Quality.GOOD, Quality.GOOD, Quality.BAD]
    assert arrays.lengths.tolist() == [3, 3, 0] and arrays.row(1).tolist() == [4.0, 5.5, 6.0]
    assert arrays.ts.tolist() == [1_000_000, 2_000_000, 3_000_000]
    assert numbers.signal_id.tolist() == [2, 4, 2, 4] and numbers.value.tolist() == [1, 20, 2, 21]
    h.feed(e.device_death("c.e", 4000))
    (death,) = [c for c in h.host.sources if c.lost]
    assert sorted(death.signal_ids) == [1, 2, 3, 4]


def test_sparkplug_data_reads_arrays_as_their_birth_declared_them() -> None:
    """DATA may leave the data type out: the birth's applies (Int16 elements, not Double)."""
    h = Host()
    birth = Payload(timestamp=1, seq=0)
    birth.metrics.add(name="bdSeq", datatype=DataType.INT64, long_value=0)
    h.feed(("spBv1.0/s/NBIRTH/a.l", birth.SerializeToString()))
    device = Payload(timestamp=1, seq=1)
    device.metrics.add(name="profile", alias=9, datatype=DataType.INT16_ARRAY,
                       bytes_value=struct.pack("<3h", 1, 2, 3))  # fmt: skip
    device.metrics.add(name="mode", alias=10, datatype=DataType.STRING, string_value="run")
    data = Payload(timestamp=2, seq=2)
    data.metrics.add(alias=9, bytes_value=struct.pack("<3h", -1, -2, -3))
    data.metrics.add(alias=10, string_value="setup")  # an enum by its value names
    data.metrics.add(alias=10, string_value="jogging")
    out = h.feed(("spBv1.0/s/DBIRTH/a.l/c.e", device.SerializeToString()),
                 ("spBv1.0/s/DDATA/a.l/c.e", data.SerializeToString()))  # fmt: skip
    assert out.arrays.values == [1, 2, 3, -1, -2, -3]
    assert out.value == [1.0, 2.0]
    (problem,) = h.problems
    assert problem.reason == "wrong_type"
    assert (
        "alias 10 value 'jogging' is none of the enum's names (off, run, setup)" in problem.detail
    )


def test_a_birth_whose_type_contradicts_the_plant_file_is_reported_once_per_birth() -> None:
    h, wrong = Host(), typed_edge(recipe=DataType.DOUBLE, profile=DataType.STRING)
    out = h.feed(
        *wrong.births(1000, {"c.e": [1.0, 1.0, "1,2,3", 20.0]}),
        *(wrong.data("c.e", [2000 + i] * 2, [0, 2], [2.0, "4,5,6"]) for i in range(5)),
    )
    assert [p.reason for p in h.problems] == ["sparkplug_type_mismatch"] * 2  # not per value
    assert h.problems[0].detail == (
        "spBv1.0/s/DBIRTH/a.l/c.e: metric 'recipe' is declared Double, but the plant file's "
        "signal is string; its values are skipped until a birth declares a type that fits"
    )
    assert "metric 'profile' is declared String" in h.problems[1].detail
    assert len(out.texts.ts) == len(out.arrays.ts) == 0 and out.signal_id == [2, 4]
    h.problems.clear()
    right = typed_edge()
    out = h.feed(*right.births(3000, {"c.e": ["A", 0.0, [1, 2, 3], 20.0]}))  # a rebirth
    assert h.problems == [] and out.texts.text == ["A"] and out.arrays.values == [1, 2, 3]
    wrong_number = SparkplugEdge(
        "s", "a.l", {"c.e": ["temp"]}, datatypes={"c.e": [DataType.STRING]}
    )
    h.feed(*wrong_number.births(4000, {"c.e": ["hot"]}))
    assert "metric 'temp' is declared String, but the plant file's signal is a number" in (
        h.problems[0].detail
    )


# --- over a broker --------------------------------------------------------------------------


@pytest.mark.services
async def test_uns_kinds_over_the_broker_and_an_outage_marks_each_kind_bad() -> None:
    ent = unique_enterprise()
    with private_broker() as broker:
        topic = f"{ent}/s/a/l/c/e"
        plant = mqtt_plant(broker.port, kinds_signals(topic))
        ids = signal_ids(plant)
        options = MqttOptions(keepalive_s=2, timeout_s=2)
        connector = MqttConnector.from_plant(
            plant, "broker", ids, options=options, backoff=Backoff(initial_s=0.05, max_s=0.3)
        )
        record = {"recipe": "A-17", "mode": "run", "profile": [1, 2, 3], "temp": 20.5}
        async with running(connector) as got:
            await got.wait_for(lambda: connector.status.state == "connected")
            await publish(broker.port, topic, {"ts": TS, "values": record})
            await got.wait_for(lambda: len(got.arrays) == 1)
            broker.stop()
            await got.wait_for(lambda: connector.status.state != "connected")
            await asyncio.sleep(0.3)
            back = now_us()
            broker.start()
            await got.wait_for(lambda: connector.status.state == "connected", timeout_s=15)
            await publish(broker.port, topic, {"ts": TS + 1, "values": {"recipe": "B"}})
            await got.wait_for(lambda: "B" in got.texts.text.tolist())
    assert connector.rejected == {}
    got.assert_one_outage(connector.signal_ids, back_us=back)
    good = got.texts.take(got.texts.quality == Quality.GOOD)
    assert good.text.tolist() == ["A-17", "B"]
    assert got.arrays.row(0).tolist() == [1, 2, 3]
    assert sorted(got.good.value.tolist()) == [1, 20.5]  # mode "run" is code 1


async def publish(port: int, topic: str, doc: object) -> None:
    async with aiomqtt.Client(HOST, port) as client:
        await client.publish(topic, orjson.dumps(doc), qos=1)


def test_bad_points_of_a_lost_connection_cover_every_kind() -> None:
    plant = mqtt_plant(1883, kinds_signals("e/s/a/l/c/e"))
    ids = signal_ids(plant)
    connector = MqttConnector.from_plant(plant, "broker", ids)
    by_kind = connector.signal_ids
    assert by_kind.text.tolist() == [ids["s/a/l/c/e/recipe"]]
    assert by_kind.array.tolist() == [ids["s/a/l/c/e/profile"]]
    assert sorted(by_kind.number.tolist()) == sorted([ids["s/a/l/c/e/mode"], ids["s/a/l/c/e/temp"]])
    assert np.array_equal(np.sort(np.concatenate([by_kind.number, by_kind.text, by_kind.array])),
                          np.array(sorted(ids.values())))  # fmt: skip
