"""Two per-packet costs of paho-mqtt 2 in a receiving client, cut; nothing else in paho changes.

* MQTT 5 properties: paho decodes every received PUBLISH into a new ``Properties``, whose
  constructor rebuilds three constant tables (about 30 ``list.index`` calls) and whose ``unpack``
  first clears every known property name with a string replace each. Profiled in an ingestion
  worker taking ~1,600 messages/s, that was a quarter of its event-loop thread, the thread every
  message passes through. :class:`SharedTablesProperties` behaves the same (it is a
  ``Properties``; the tables are the same objects, never changed after construction) and
  :func:`install` makes paho's packet decoder use it.
* One packet per wake-up: ``loop_read``, which aiomqtt calls each time the socket is readable,
  reads a single packet (its ``max_packets`` argument is ignored), so every message cost a turn
  of the event loop and a poll of the socket; under load the worker's turns went to that rather
  than to decoding and storing, and its throughput swung by a third from run to run.
  :func:`read_in_bursts` makes it read what has arrived, up to a bound.
"""

from __future__ import annotations

from functools import partial

from paho.mqtt import _packet
from paho.mqtt.client import Client
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

_TEMPLATE = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
_ATTRIBUTES = tuple(name.replace(" ", "") for name in _TEMPLATE.names)


class SharedTablesProperties(Properties):
    """A ``Properties`` sharing the constant tables of one template."""

    def __init__(self, packetType: int) -> None:
        self.packetType = packetType
        self.types = _TEMPLATE.types
        self.names = _TEMPLATE.names
        self.properties = _TEMPLATE.properties

    def clear(self) -> None:
        for name in _ATTRIBUTES:
            self.__dict__.pop(name, None)


def install() -> None:
    """Make paho's packet decoding build :class:`SharedTablesProperties` (idempotent)."""
    _packet.Properties = SharedTablesProperties  # type: ignore[misc,attr-defined]


def _read_burst(client: Client, max_packets: int) -> MQTTErrorCode:
    """paho's ``loop_read`` reading up to ``max_packets`` packets instead of one."""
    for _ in range(max_packets):
        if client._sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        rc = client._packet_read()
        if rc > 0:
            return client._loop_rc_handle(rc)
        if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
            break
    return MQTTErrorCode.MQTT_ERR_SUCCESS


def read_in_bursts(client: Client, max_packets: int = 100) -> None:
    """Make ``client.loop_read`` read what has arrived, up to ``max_packets`` packets."""
    client.loop_read = partial(_read_burst, client, max_packets)  # type: ignore[method-assign]
