"""One side of VDA 5050 over MQTT: the fleet manager (publishes order and instantActions, reads
every AGV's state, visualization and connection) or an AGV (the other way round).

Every message received is checked against its topic's schema first; one that breaks it is
rejected whole, counted in ``rejected`` (by topic) and logged, and the handler never sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Literal

import aiomqtt

from smartfab.devices.vda5050.messages import (
    FLEET_TOPICS,
    TOPICS,
    Message,
    Topic,
    VdaMessageError,
    decode,
    encode,
    parse_topic,
    topic_name,
)

log = logging.getLogger(__name__)

Role = Literal["fleet", "agv"]
# serial, topic, message
Handler = Callable[[str, Topic, Message], None]


class VdaLink:
    """A connected VDA 5050 endpoint; make one with ``VdaLink.open``."""

    def __init__(self, client: aiomqtt.Client, interface: str, manufacturer: str) -> None:
        self._client = client
        self.interface = interface
        self.manufacturer = manufacturer
        self.rejected: Counter[str] = Counter()
        self.received: Counter[str] = Counter()

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        host: str,
        port: int,
        interface: str,
        manufacturer: str,
        role: Role,
        on_message: Handler,
        *,
        serial: str = "+",
        will: Message | None = None,
        username: str | None = None,
        password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> AsyncIterator[VdaLink]:
        """Connected, subscribed to what ``role`` reads (an AGV: only its own ``serial``), and
        handing each valid message to ``on_message`` until the block ends. ``will``: an AGV's
        ``connection`` message (CONNECTIONBROKEN) that the broker publishes, retained, should
        the AGV vanish without saying goodbye."""
        reads = [t for t in TOPICS if (t in FLEET_TOPICS) == (role == "agv")]
        last_will = None
        if will is not None:
            name = topic_name(interface, manufacturer, serial, "connection")
            last_will = aiomqtt.Will(name, encode("connection", will), qos=1, retain=True)
        client = aiomqtt.Client(
            host, port, protocol=aiomqtt.ProtocolVersion.V5, will=last_will,
            username=username, password=password, tls_context=tls_context,
        )  # fmt: skip
        async with client:
            link = cls(client, interface, manufacturer)
            for topic in reads:
                await client.subscribe(topic_name(interface, manufacturer, serial, topic), qos=1)
            reader = asyncio.create_task(link._read(on_message))
            try:
                yield link
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

    async def publish(self, serial: str, topic: Topic, message: Message) -> None:
        """Send ``message`` (checked against the schema first) on the AGV's ``topic``."""
        payload = encode(topic, message)
        name = topic_name(self.interface, self.manufacturer, serial, topic)
        # connection is retained so that a fleet manager starting later learns who is online
        await self._client.publish(name, payload, qos=1, retain=topic == "connection")

    async def _read(self, on_message: Handler) -> None:
        async for msg in self._client.messages:
            parsed = parse_topic(str(msg.topic))
            if parsed is None:
                continue
            _, serial, topic = parsed
            payload = msg.payload if isinstance(msg.payload, bytes | str) else b""
            try:
                message = decode(topic, payload)
            except VdaMessageError as exc:
                self.rejected[topic] += 1
                log.warning("%s from %s: %s", topic, serial, exc)
                continue
            self.received[topic] += 1
            on_message(serial, topic, message)
