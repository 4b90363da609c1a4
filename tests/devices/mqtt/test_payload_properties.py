"""Hostile MQTT JSON payloads: any bytes either decode into points or are rejected whole with
``Reject`` (the columns left as they were); never another exception, and the gathered columns
always become a batch, whose timestamps the writer can then judge."""

from __future__ import annotations

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from smartfab.devices.mqtt.payload import Columns, JsonTopic, Reject, SignalType

RECEIVED_US = 1_794_895_200_000_000
# spindle_temp and power plain numbers; recipe a string, mode an enum, profile an array.
TYPES = {
    4: SignalType("string"), 5: SignalType("enum", {"off": 0, "run": 1}), 6: SignalType("array")
}  # fmt: skip
EDGE_FIELDS = [("values.spindle_temp", 1), ("values.power", 2)]  # the agent's shape
KINDS_FIELDS = [*EDGE_FIELDS, ("values.recipe", 4), ("values.mode", 5), ("values.profile", 6)]
TOPICS = {
    "single": JsonTopic([("value", 7)]),
    "nested": JsonTopic([("values.spindle_temp", 1), ("values.power", 2), ("count", 3)]),
    "edge": JsonTopic(EDGE_FIELDS),
    "kinds": JsonTopic(KINDS_FIELDS, TYPES),
    "text": JsonTopic([("value", 4)], TYPES),
}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),  # what orjson reads
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
timestamps = st.one_of(
    json_scalars,
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300),
    st.sampled_from(["2026-11-17T06:00:00", "0001-01-01T00:00:00+14:00",
                     "9999-12-31T23:59:59-12:00", "2026-13-01", "", "now", "1e3"]),
    st.datetimes().map(lambda d: d.isoformat()),
)  # fmt: skip
records = st.fixed_dictionaries(
    {},
    optional={
        "ts": timestamps,
        "quality": st.sampled_from(["good", "uncertain", "bad", "GOOD", 1]) | json_values,
        "value": json_values,
        "values": st.fixed_dictionaries(
            {},
            optional={
                "spindle_temp": json_values,
                "power": json_scalars,
                "recipe": json_scalars,
                "mode": json_scalars | st.sampled_from(["off", "run"]),
                "profile": json_values
                | st.lists(st.floats() | st.integers(-(2**63), 2**64 - 1), max_size=4),
            },
        ),
        "count": json_scalars,
    },
)
documents = st.one_of(records, st.lists(records, max_size=5), json_values)
payloads = st.one_of(
    documents.map(orjson.dumps),
    st.binary(max_size=64),
    documents.map(orjson.dumps).flatmap(
        lambda b: st.integers(0, len(b)).map(lambda n: b[:n])  # cut short
    ),
    st.sampled_from([b"NaN", b"Infinity", b"1e999", b"-1e999", b'{"value": 1e999}',
                     b"18446744073709551616", b'{"value": 1, "ts": 1e308}', b"\xef\xbb\xbf1"]),
)  # fmt: skip


def _columns(out: Columns) -> list[list[object]]:
    t, a = out.texts, out.arrays
    return [list(c) for c in (out.ts, out.signal_id, out.value, out.quality, t.ts, t.signal_id,
                              t.text, t.quality, a.ts, a.signal_id, a.values, a.lengths,
                              a.quality)]  # fmt: skip


def _decode(topic: JsonTopic, payload: bytes, out: Columns) -> None:
    before = _columns(out)
    try:
        bad, first = topic.decode(payload, RECEIVED_US, out)
    except Reject as exc:
        assert exc.reason and exc.detail
        # (NaN elements compare by identity here: the same objects stay in the lists.)
        assert _columns(out) == before, "a rejected message leaves the columns as they were"
        return
    assert bad >= 0 and (bad == 0) == (first == "")
    assert len(out.ts) == len(out.signal_id) == len(out.value) == len(out.quality)
    assert len(out.arrays.values) == sum(out.arrays.lengths)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(TOPICS)), st.lists(payloads, min_size=1, max_size=4))
def test_any_payload_decodes_or_is_rejected_whole(name: str, messages: list[bytes]) -> None:
    out = Columns()
    for payload in messages:
        _decode(TOPICS[name], payload, out)
    batches = out.batches()  # every timestamp fits the batches' int64 microseconds
    assert sum(len(b) for b in batches) == len(out)
    for batch in batches:
        assert set(batch.signal_id.tolist()) <= {1, 2, 3, 4, 5, 6, 7}
        assert set(batch.quality.tolist()) <= {0, 1, 2}
    assert set(out.texts.signal_id) <= {4} and set(out.arrays.signal_id) <= {6}


def _outcome(topic: JsonTopic, payload: bytes) -> tuple[object, ...]:
    out = Columns()
    try:
        bad, first = topic.decode(payload, RECEIVED_US, out)
    except Reject as exc:
        return ("rejected", exc.reason)
    batch, texts, arrays = out.batch(), out.texts.batch(), out.arrays.batch()
    # In any order (the reference walks the bindings, the agent's path the record's values);
    # values by their bits, so that NaN equals NaN.
    points = zip(batch.ts.tolist(), batch.signal_id.tolist(), batch.value.view(np.int64).tolist(),
                 batch.quality.tolist(), strict=True)  # fmt: skip
    rows = [(int(arrays.ts[i]), arrays.row(i).view(np.int64).tolist(), int(arrays.quality[i]))
            for i in range(len(arrays))]  # fmt: skip
    text = zip(texts.ts.tolist(), texts.text.tolist(), texts.quality.tolist(), strict=True)
    # Which bad value comes first: order again.
    return (bad, bool(first), sorted(points), sorted(text), sorted(rows))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([EDGE_FIELDS, KINDS_FIELDS]), payloads)
def test_the_edge_shape_decodes_as_the_general_path_does(
    fields: list[tuple[str, int]], payload: bytes
) -> None:
    """The edge agent's shape takes a record-at-a-time path; the value-at-a-time path is the
    reference it must agree with, point for point and reject for reject."""
    general = JsonTopic(fields, TYPES)
    general._nested = None  # the reference: the path every other shape takes
    assert _outcome(JsonTopic(fields, TYPES), payload) == _outcome(general, payload)
