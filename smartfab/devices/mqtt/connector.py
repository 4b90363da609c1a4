"""MQTT connector: subscribes to a broker, decodes UNS JSON and Sparkplug B messages, and emits
them as columnar batches, per gathering of the messages that arrived together a PointBatch of
the numbers and, when there are any, a TextBatch of the strings and an ArrayBatch of the arrays.

Nothing a publisher sends stops ingestion: a message that is too large, not decodable, on a topic
nothing binds, or breaking Sparkplug's rules is counted under its reason (``rejected`` and the
status' ``extra["rejected_<reason>"]``), logged with the reason (a warning the first time a reason
shows on a topic, debug after that, so that a misbehaving publisher cannot flood the log), and the
next message is read. A lost broker raises from ``_stream`` so that ``Connector.run`` reconnects
and records the gap. A connection with an ``events_topic`` also takes the events smartfab edge
agents publish there (their devices' outages) and hands them on like its own.

QoS 1 and 2 messages are acknowledged by hand, not on arrival: with the runtime's ``stored`` hook
only once the batch holding them is stored, so a worker killed between receiving and storing
loses nothing (with a kept session the broker sends them again when it is back; a duplicate is
stored once).

What has arrived but is not yet stored is bounded, so that a flood makes the broker hold messages
instead of this process growing: for QoS 1 and 2 the connector announces a Receive Maximum (MQTT
5 flow control; with 3.1.1 the broker's own limit, Mosquitto's ``max_inflight_messages``, decides)
and the broker sends no more unacknowledged messages than that, keeping the rest until acknowledged
ones make room. QoS 0 has no flow control: a message that finds as many waiting in the inbox is
dropped and counted as ``overflow``.

Options the plant model's ``MqttConnection`` does not hold (yet) are ``MqttOptions``: protocol
version 3.1.1 or 5, an MQTT 5 shared subscription group (``$share/GROUP/...``: the broker gives each
message to one of the group's workers, so adding workers adds throughput), QoS, credentials,
payload limit and a persistent session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import uuid
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from smartfab.devices.connector import Backoff, Connector, PointSink, SignalIds
from smartfab.devices.mqtt import paho_speedups
from smartfab.devices.mqtt.payload import Columns, JsonTopic, Reject, SignalType, decode_events
from smartfab.devices.mqtt.sparkplug import DeviceKey, SparkplugHost
from smartfab.devices.mqtt.topics import (
    covering_filters,
    parse_sparkplug,
    parse_sparkplug_binding,
    shared,
    validate_topic,
)
from smartfab.errors import SmartfabError
from smartfab.model.plant import MqttConnection, Plant
from smartfab.platform.points import EventBatch, now_us

log = logging.getLogger(__name__)

_MAX_LOGGED = 10_000  # (reason, topic) pairs warned about; beyond, a flood of topics logs at debug


@dataclass(frozen=True, slots=True)
class MqttOptions:
    """How to talk to the broker, beyond the plant's host and port."""

    version: Literal["3.1.1", "5"] = "5"
    # MQTT 5 shared subscription group: every worker with the same group gets a share of the
    # messages instead of all of them (Mosquitto also honours it for 3.1.1 clients).
    shared_group: str | None = None
    qos: Literal[0, 1, 2] = 1
    client_id: str | None = None  # default: unique per connector instance
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a repr, hence in no log
    # TLS: on with ``tls``; ``ca`` verifies the broker (default: the system's CAs), ``cert`` and
    # ``key`` are the client's certificate where the broker asks for one.
    tls: bool = False
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    keepalive_s: int = 10  # how soon a silent broker counts as gone (1.5 x this)
    timeout_s: float = 5.0  # connect and subscribe
    max_payload_bytes: int = 1 << 20  # larger messages are rejected as "oversized"
    max_batch_messages: int = 5_000  # messages gathered into one batch at most
    # QoS 1 and 2: at most this many messages unacknowledged (waiting, or not yet stored) at a
    # time (MQTT 5 Receive Maximum, 1 to 65535). A message is acknowledged once its batch is
    # stored (the writer gathers for 0.25 s, then appends), so a worker takes at most this many
    # messages per such round: thousands keep it at full speed. QoS 0: a message finding this
    # many waiting is dropped. Memory: that many messages at most, of each QoS.
    receive_maximum: int = 10_000
    # Keep the session (and the broker's queue of QoS >= 1 messages) while disconnected, for this
    # long; 0 starts clean. Needs a fixed client_id.
    session_expiry_s: int = 0
    rebirth_interval_s: float = 2.0  # at most one Sparkplug rebirth request per node this often
    filters: tuple[str, ...] = ()  # subscription filters; default: a few covering the bindings


@dataclass(frozen=True, slots=True)
class BoundTopic:
    """A signal read from MQTT: a UNS topic and the dotted path of its value, or a Sparkplug
    ``spBv1.0/group/edge[/device]`` and the metric name (see ``topics``)."""

    path: str
    topic: str
    field: str
    signal_id: int
    type: SignalType | None = None  # None: a plain number (float, int, bool)


class MqttConnector(Connector):
    protocol = "mqtt"

    def __init__(
        self,
        connection: MqttConnection,
        bound: Sequence[BoundTopic],
        *,
        options: MqttOptions | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        options = options or MqttOptions()
        scheme = "mqtts" if options.tls else "mqtt"
        endpoint = f"{scheme}://{connection.host}:{connection.port}"
        super().__init__(connection.name, endpoint, backoff)
        self.connection = connection
        self.options = options
        if options.session_expiry_s and not options.client_id:
            raise SmartfabError(f"connection {connection.name!r}: a kept session needs a client_id")
        if not 1 <= options.receive_maximum <= 0xFFFF:  # a two-byte integer, 0 a protocol error
            raise SmartfabError(
                f"connection {connection.name!r}: receive_maximum {options.receive_maximum}"
                " is not between 1 and 65535"
            )
        json_fields: dict[str, list[tuple[str, int]]] = {}
        sparkplug: dict[DeviceKey, dict[str, int]] = {}
        types = {b.signal_id: b.type for b in bound if b.type is not None}
        for b in bound:
            problem = validate_topic(b.topic)
            if problem:
                raise SmartfabError(f"{b.path}: MQTT topic {b.topic!r}: {problem}")
            device = parse_sparkplug_binding(b.topic)
            if device is not None:
                sparkplug.setdefault(device, {})[b.field] = b.signal_id
            elif b.topic.startswith("spBv1.0/"):
                raise SmartfabError(
                    f"{b.path}: Sparkplug binding {b.topic!r} is not spBv1.0/group/edge[/device]"
                )
            else:
                json_fields.setdefault(b.topic, []).append((b.field, b.signal_id))
        self._json = {topic: JsonTopic(fields, types) for topic, fields in json_fields.items()}
        self._sparkplug = (
            SparkplugHost(sparkplug, types, rebirth_interval_s=options.rebirth_interval_s)
            if sparkplug
            else None
        )
        self._events_topic = events = connection.events_topic
        problem = validate_topic(events) if events is not None else None
        if problem:
            raise SmartfabError(f"connection {self.name!r}: events_topic {events!r}: {problem}")
        topics = {b.topic for b in bound} | ({events} if events else set())
        self.filters = list(options.filters) or covering_filters(sorted(topics))
        # ${VAR} in a fixed id comes from the environment: workers sharing one plant file each
        # need an id of their own, the same after a restart to resume their kept session.
        self.client_id = (
            os.path.expandvars(options.client_id)
            if options.client_id
            else f"smartfab-{connection.name}-{uuid.uuid4().hex[:12]}"
        )
        # QoS >= 1 messages are acknowledged to the broker only once ``stored`` (the base's hook)
        # says so, so a worker that dies before storing them gets them again (kept session) or
        # another worker does. Without the hook a message is acknowledged once emitted.
        self._acks: set[asyncio.Task[None]] = set()
        self.rejected: dict[str, int] = {}  # reason -> messages (or values) rejected for it
        self.status.signals = len(bound)
        self._kinds = {b.signal_id: b.type.kind if b.type else "number" for b in bound}
        self._signal_ids = self._by_kind([b.signal_id for b in bound])
        self.status.extra.update(messages=0, rebirth_requests=0)
        self._logged: set[tuple[str, str]] = set()
        self._client: aiomqtt.Client | None = None
        self._inbox: asyncio.Queue[aiomqtt.Message] | None = None

    @property
    def signal_ids(self) -> SignalIds:
        return self._signal_ids

    def _by_kind(self, ids: Sequence[int]) -> SignalIds:
        return SignalIds.of(ids, [self._kinds[i] for i in ids])

    @property
    def redelivers(self) -> bool:
        # A kept session: the broker queues the QoS >= 1 messages while we are away.
        return self.options.session_expiry_s > 0 and self.options.qos > 0

    @classmethod
    def from_plant(
        cls,
        plant: Plant,
        connection: str,
        signal_ids: Mapping[str, int],
        *,
        options: MqttOptions | None = None,
        backoff: Backoff | None = None,
    ) -> MqttConnector:
        conn = plant.connection(connection)
        if not isinstance(conn, MqttConnection):
            raise SmartfabError(f"connection {connection!r} is {conn.protocol}, not mqtt")
        bound = []
        for ref in plant.iter_signals():
            b = ref.signal.source.mqtt
            if b is None or b.connection != connection:
                continue
            if ref.path not in signal_ids:
                raise SmartfabError(f"connection {connection!r}: no signal id for {ref.path}")
            bound.append(BoundTopic(
                ref.path, b.topic, b.field, signal_ids[ref.path], SignalType.of(ref.signal)
            ))  # fmt: skip
        if options is None:
            options = MqttOptions(
                version=conn.version,
                shared_group=conn.shared_group,
                qos=conn.qos,
                client_id=conn.client_id,
                username=conn.username,
                password=conn.password.get_secret_value() if conn.password else None,
                tls=conn.tls,
                ca=conn.ca,
                cert=conn.cert,
                key=conn.key,
                max_payload_bytes=conn.max_payload_bytes,
                receive_maximum=conn.receive_maximum,
                session_expiry_s=conn.session_expiry_s,
            )
        return cls(conn, bound, options=options, backoff=backoff)

    # --- Connector ---------------------------------------------------------------------------

    async def _connect(self) -> None:
        o = self.options
        inboxes: list[asyncio.Queue[aiomqtt.Message]] = []
        overflow = self._overflow

        class Inbox(asyncio.Queue[aiomqtt.Message]):
            # The client's queue of received messages, kept so that a batch drains what has
            # arrived without an await (a task and a wait) per message. Unbounded as an
            # asyncio.Queue: aiomqtt would drop a message a full queue refuses, a QoS 1 one too,
            # which then, never acknowledged, would be lost and hold a place in the broker's
            # window until the next reconnect. The broker's flow control bounds QoS >= 1
            # messages; QoS 0 ones are bounded here.
            def __init__(self, maxsize: int = 0) -> None:
                super().__init__(maxsize)
                inboxes.append(self)

            def put_nowait(self, item: aiomqtt.Message) -> None:
                if item.qos == 0 and self.qsize() >= o.receive_maximum:
                    overflow(item)
                else:
                    super().put_nowait(item)

        v5 = o.version == "5"
        properties = None
        if v5:
            paho_speedups.install()  # paho's per-packet cost of MQTT 5 properties, cut
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            # Without it Mosquitto applies its max_inflight_messages: 20 by default (a
            # throttle, acknowledging only stored messages), or no bound at all with 0.
            properties.ReceiveMaximum = o.receive_maximum
            if o.session_expiry_s:
                properties.SessionExpiryInterval = o.session_expiry_s
        client = aiomqtt.Client(
            self.connection.host,
            self.connection.port,
            identifier=self.client_id,
            username=o.username,
            password=o.password,
            protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
            clean_session=None if v5 else not o.session_expiry_s,
            clean_start=not o.session_expiry_s if v5 else 3,  # 3: paho's "first connect only"
            properties=properties,
            keepalive=o.keepalive_s,
            timeout=o.timeout_s,
            queue_type=Inbox,
            logger=log,
            tls_context=self._tls_context(),
        )
        # paho acknowledges a QoS 1 message when it arrives; we do once it is stored.
        client._client.manual_ack_set(True)
        paho_speedups.read_in_bursts(client._client)
        await client.__aenter__()
        self._client, self._inbox = client, inboxes[0]
        for topic_filter in self.filters:
            granted = await client.subscribe(shared(topic_filter, o.shared_group), qos=o.qos)
            code = int(granted[0].value if hasattr(granted[0], "value") else granted[0])
            if code >= 0x80:
                raise SmartfabError(
                    f"broker refused the subscription to {shared(topic_filter, o.shared_group)!r}"
                    f" (reason code 0x{code:02X})"
                )

    def _tls_context(self) -> ssl.SSLContext | None:
        """A verifying TLS context (hostname included) when the options ask for TLS."""
        o = self.options
        if not o.tls:
            return None
        try:
            context = ssl.create_default_context(cafile=o.ca)
            if o.cert is not None:
                context.load_cert_chain(o.cert, o.key)
        except (OSError, ssl.SSLError) as exc:
            raise SmartfabError(f"connection {self.name!r}: TLS files: {exc}") from exc
        return context

    async def _stream(self, emit: PointSink) -> None:
        client, inbox = self._client, self._inbox
        assert client is not None and inbox is not None  # set by _connect
        limit = self.options.max_batch_messages
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            while not self.stopping.is_set():
                if inbox.empty():
                    # Waiting through the client's iterator is what notices a lost connection.
                    first = asyncio.ensure_future(anext(client.messages))
                    await asyncio.wait({first, stop}, return_when=asyncio.FIRST_COMPLETED)
                    if not first.done():
                        first.cancel()
                        break
                    messages = [first.result()]  # raises MqttError when disconnected
                else:
                    messages = []
                while len(messages) < limit and not inbox.empty():
                    messages.append(inbox.get_nowait())
                await self._deliver(client, messages, emit)
        finally:
            stop.cancel()

    async def _disconnect(self) -> None:
        if self._acks:  # a clean stop: acknowledge what gets stored meanwhile (else: sent again)
            await asyncio.wait(set(self._acks), timeout=self.options.timeout_s)
        client, self._client, self._inbox = self._client, None, None
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await asyncio.wait_for(client.__aexit__(None, None, None), self.options.timeout_s)

    # --- decoding ----------------------------------------------------------------------------

    async def _deliver(
        self, client: aiomqtt.Client, messages: list[aiomqtt.Message], emit: PointSink
    ) -> None:
        out = Columns()
        events: list[EventBatch] = []
        received = now_us()
        max_bytes = self.options.max_payload_bytes
        host = self._sparkplug
        for message in messages:
            topic = message.topic.value
            payload = message.payload
            if not isinstance(payload, bytes | bytearray):  # received payloads are bytes
                payload = str(payload).encode()
            if len(payload) > max_bytes:
                self._reject(topic, Reject("oversized", f"{len(payload)} bytes > {max_bytes}"))
                continue
            decoder = self._json.get(topic)
            try:
                if topic == self._events_topic:
                    events.append(decode_events(bytes(payload)))
                    continue
                if decoder is not None:
                    bad, first = decoder.decode(payload, received, out)
                    if bad:
                        self._reject(topic, Reject("wrong_type", first), bad)
                    continue
                sp = parse_sparkplug(topic) if host is not None else None
                if sp is None or host is None:
                    raise Reject("unknown_topic", "no signal is bound to it")
                for problem in host.handle(sp, bytes(payload), received, out):
                    self._reject(topic, problem)
            except Reject as reject:
                self._reject(topic, reject)
        self.status.extra["messages"] += len(messages)
        if host is not None and host.commands:
            commands, host.commands = host.commands, []
            self.status.extra["rebirth_requests"] = host.rebirth_requests
            for topic, payload in commands:
                log.info("%s: asking for a Sparkplug rebirth on %s", self.name, topic)
                await client.publish(topic, payload, qos=0)
        if host is not None and host.sources:
            changes, host.sources = host.sources, []
            for c in changes:
                if c.lost:
                    await self.source_lost(
                        c.key,
                        c.what,
                        c.why,
                        self._by_kind(c.signal_ids),
                        "waiting for its birth",
                        c.ts_us,
                    )
                else:
                    await self.source_back(c.key, c.ts_us)
        for batch in out.batches():
            await emit(batch)
        if events and self._events is not None:
            await self._events(EventBatch.concat(events))
        self._acknowledge(client, [(m.mid, m.qos) for m in messages if m.qos])

    def _acknowledge(self, client: aiomqtt.Client, acks: list[tuple[int, int]]) -> None:
        """Acknowledge ``acks`` (message id, QoS) once what was emitted so far is stored. A
        message that yielded no points is acknowledged with the batches before it: in order."""
        if not acks:
            return
        if self.stored is None:
            for mid, qos in acks:
                client._client.ack(mid, qos)
            return
        task = asyncio.ensure_future(self._ack_when_stored(client, acks, self.stored()))
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    async def _ack_when_stored(
        self, client: aiomqtt.Client, acks: list[tuple[int, int]], stored: Awaitable[None]
    ) -> None:
        try:
            await stored
        except Exception as exc:  # noqa: BLE001 (the writer's failure is reported by the writer)
            log.warning("%s: %d message(s) not acknowledged: %s", self.name, len(acks), exc)
            return
        # Message ids belong to a connection: after a reconnect the broker sends the unacknowledged
        # messages again anyway, and an id of the old connection may be in use on the new one.
        if client is self._client:
            for mid, qos in acks:
                client._client.ack(mid, qos)

    def _overflow(self, message: aiomqtt.Message) -> None:
        """A QoS 0 message dropped because ``receive_maximum`` messages wait already. Logged
        once, whatever its topic: in a flood every topic overflows."""
        detail = f"{self.options.receive_maximum} messages wait already (receive_maximum)"
        self._reject(message.topic.value, Reject("overflow", detail), log_topic="")

    def _reject(self, topic: str, reject: Reject, n: int = 1, log_topic: str | None = None) -> None:
        """Count ``n`` of ``reject``; warn the first time its reason shows on ``log_topic`` (by
        default the message's topic)."""
        reason = reject.reason
        self.rejected[reason] = self.rejected.get(reason, 0) + n
        self.status.extra[f"rejected_{reason}"] = self.rejected[reason]
        self.status.errors += n
        self.status.last_error = f"{topic}: {reason}: {reject.detail}"
        key = (reason, topic if log_topic is None else log_topic)
        if key not in self._logged and len(self._logged) < _MAX_LOGGED:
            self._logged.add(key)
            log.warning("%s: %s: %s (%s); skipped", self.name, topic, reason, reject.detail)
        else:
            log.debug("%s: %s: %s (%s); skipped", self.name, topic, reason, reject.detail)
