"""paho's MQTT 5 packet decoding gives the same properties with the shared-tables class."""

from __future__ import annotations

import struct

from paho.mqtt import _packet
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from smartfab.devices.mqtt.paho_properties import SharedTablesProperties, install


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
