"""Events messages (what edge agents forward of their devices' outages): what goes out comes
back, and a broken message is rejected whole with the reason and where."""

from __future__ import annotations

import numpy as np
import pytest

from smartfab.devices.mqtt.payload import Reject, decode_events, json_events
from smartfab.platform.points import EventBatch


def test_events_come_back_as_they_went_out() -> None:
    sent = EventBatch.of(
        [1_700_000_000_123_456, 1_700_000_001_000_000], ["connector:plc", "connector:cnc"],
        "gap", ["connection_lost", "node_lost"], [12.25, np.nan], ["Ä lost; back after 12 s", ""],
    )  # fmt: skip
    got = decode_events(json_events(sent))
    for column in ("ts", "equipment", "kind", "code", "detail"):
        assert getattr(got, column).tolist() == getattr(sent, column).tolist()
    assert np.array_equal(got.value, sent.value, equal_nan=True)
    assert len(decode_events(b"[]")) == 0


GOOD = '{"ts": 1, "equipment": "connector:plc", "kind": "gap", "code": "connection_lost"}'


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("{", "events: not JSON"),
        ("{}", "an array of event objects expected"),
        (f"[{GOOD}, 3]", r"events\[1\]: a int, not an object"),
        ('[{"equipment": "x", "kind": "gap", "code": "c"}]', r"events\[0\]: no ts"),
        ('[{"ts": "yesterday", "equipment": "x", "kind": "gap", "code": "c"}]', "ts 'yesterday'"),
        (GOOD.replace('"connector:plc"', "7").join("[]"), r"events\[0\].equipment: 7"),
        (GOOD.replace('"gap"', '"party"').join("[]"), r"events\[0\].kind: 'party' is no event"),
        (GOOD.replace("}", ', "value": "long"}').join("[]"), r"events\[0\].value: 'long'"),
        (GOOD.replace("}", ', "value": true}').join("[]"), r"events\[0\].value: True"),
        (GOOD.replace("}", ', "detail": 5}').join("[]"), r"events\[0\].detail: 5"),
    ],
)
def test_a_broken_events_message_is_rejected_whole(payload: str, message: str) -> None:
    with pytest.raises(Reject, match=message):
        decode_events(payload.encode())
