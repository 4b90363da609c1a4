"""paho with its per-packet costs cut (``paho_speedups``) receives the same as without."""

from __future__ import annotations

import struct
import time
import uuid
from collections.abc import Callable

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from smartfab.devices.mqtt.paho_speedups import SharedTablesProperties, install, read_in_bursts


def _publish_packet(properties: Properties, payload: bytes) -> bytes:
    """The variable part of a QoS 1 PUBLISH (topic, packet id, properties) and its payload."""
    topic = b"acme/plant1/line1/cnc1"
    head = struct.pack("!H", len(topic)) + topic + struct.pack("!H", 7)
    return head + properties.pack() + payload


def _decoded(packet: bytes) -> tuple[dict[str, object], bytes]:
    decoded = _packet.decode_publish(0x32, packet, MQTTProtocolVersion.MQTTv5)
    assert decoded.properties is not None
    return decoded.properties.json(), decoded.payload


def test_decoded_properties_are_the_same() -> None:
    sent = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    sent.ContentType = "application/json"
    sent.MessageExpiryInterval = 60
    sent.UserProperty = ("site", "plant1")
    sent.UserProperty = ("line", "line1")
    with_properties = _publish_packet(sent, b'{"value": 1}')
    without = _publish_packet(Properties(PacketTypes.PUBLISH), b"2")  # type: ignore[no-untyped-call]

    original = _packet.Properties
    try:
        _packet.Properties = original
        expected = [_decoded(with_properties), _decoded(without)]
        install()
        assert _packet.Properties is SharedTablesProperties
        # Twice each, alternating: nothing of one packet's properties stays for the next.
        got = [_decoded(p) for p in (with_properties, without, with_properties, without)]
    finally:
        _packet.Properties = original
    assert got == expected * 2
    assert expected[0][0] == {
        "ContentType": "application/json",
        "MessageExpiryInterval": 60,
        "UserProperty": [("site", "plant1"), ("line", "line1")],
    }


@pytest.mark.services
def test_a_burst_read_takes_every_packet_that_has_arrived(shared_broker: int) -> None:
    topic = f"smartfab-test/burst/{uuid.uuid4().hex}"
    received: list[bytes] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_message = lambda client, userdata, message: received.append(message.payload)
    sub.connect("127.0.0.1", shared_broker)
    _loop_until(sub, lambda: sub.is_connected())
    granted: list[object] = []
    sub.on_subscribe = lambda *args: granted.append(args)
    sub.subscribe(topic)
    _loop_until(sub, lambda: bool(granted))
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect("127.0.0.1", shared_broker)
    _loop_until(pub, lambda: pub.is_connected())
    sent = [pub.publish(topic, str(i).encode()) for i in range(50)]
    _loop_until(pub, lambda: all(info.is_published() for info in sent))
    pub.disconnect()
    time.sleep(0.5)  # all 50 are in the subscriber's socket by now

    sub.loop_read()
    assert len(received) == 1  # paho's own: one packet per call
    read_in_bursts(sub, max_packets=20)
    sub.loop_read()
    assert len(received) == 21  # up to the bound
    sub.loop_read()
    sub.loop_read()
    assert received == [str(i).encode() for i in range(50)]  # then the rest, in order
    sub.disconnect()


def _loop_until(client: mqtt.Client, done: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "the broker did not answer in time"
        client.loop(0.05)
