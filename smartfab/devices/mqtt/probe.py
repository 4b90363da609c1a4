"""What a broker carries, for commissioning: subscribe to a topic filter for a few seconds and
list each topic seen with the fields a signal could be bound to and their last values.

A UNS topic's fields are the dotted paths of the values in its JSON message (``values.temp``); a
Sparkplug B topic is listed as its binding topic (``spBv1.0/group/edge[/device]``, without the
message type) with its metric names, learned from the births (a DATA message names its metrics
by alias only when the birth did not come while listening: those show as ``alias 3``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field

import aiomqtt
import orjson
from google.protobuf.message import DecodeError

from smartfab.devices.mqtt.sparkplug import Metric, metric_value
from smartfab.devices.mqtt.sparkplug_b_pb2 import Payload
from smartfab.devices.mqtt.topics import SPARKPLUG_NAMESPACE, parse_sparkplug
from smartfab.errors import SmartfabError
from smartfab.model.plant import MqttConnection

MAX_TOPICS = 500  # listed at most; more make no page a person can read
MAX_FIELDS = 200  # per topic


@dataclass
class SeenTopic:
    """A topic heard on the broker, as a binding names it."""

    topic: str  # UNS: the topic; Sparkplug: spBv1.0/group/edge[/device]
    kind: str  # "json", "sparkplug" or "other" (a payload that is neither)
    messages: int = 0
    fields: dict[str, object] = field(default_factory=dict)  # field or metric -> last value


async def topics_seen(
    conn: MqttConnection, topic_filter: str = "#", seconds: float = 3.0
) -> list[SeenTopic]:
    """The topics under ``topic_filter`` that carried a message within ``seconds`` (retained
    ones at once), sorted by topic; raises SmartfabError when the broker cannot be reached."""
    seen: dict[str, SeenTopic] = {}
    aliases: dict[tuple[str, int], str] = {}  # (binding topic, alias) -> metric name
    try:
        async with aiomqtt.Client(
            conn.host, conn.port, username=conn.username,
            password=conn.password.get_secret_value() if conn.password else None,
            protocol=aiomqtt.ProtocolVersion.V5 if conn.version == "5"
            else aiomqtt.ProtocolVersion.V311,
            tls_context=_tls(conn), timeout=min(seconds + 2, 10),
        ) as client:  # fmt: skip
            await client.subscribe(topic_filter, qos=0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    async for message in client.messages:
                        _take(seen, aliases, str(message.topic), bytes(message.payload))
    except aiomqtt.MqttError as exc:
        raise SmartfabError(f"broker {conn.host}:{conn.port}: {exc}") from exc
    return [seen[k] for k in sorted(seen)]


def _tls(conn: MqttConnection) -> ssl.SSLContext | None:
    if not conn.tls:
        return None
    context = ssl.create_default_context(cafile=conn.ca)
    if conn.cert is not None:
        context.load_cert_chain(conn.cert, conn.key)
    return context


def _take(
    seen: dict[str, SeenTopic], aliases: dict[tuple[str, int], str], topic: str, payload: bytes
) -> None:
    sp = parse_sparkplug(topic)
    if sp is not None:
        if sp.kind == "STATE":
            return
        device = f"/{sp.device}" if sp.device else ""
        key = f"{SPARKPLUG_NAMESPACE}/{sp.group}/{sp.edge}{device}"
        entry = _entry(seen, key, "sparkplug")
        if entry is None:
            return
        try:
            metrics = Payload.FromString(payload).metrics
        except DecodeError:
            return
        for m in metrics:
            name = _metric_name(m, key, aliases, birth=sp.kind.endswith("BIRTH"))
            if len(entry.fields) < MAX_FIELDS or name in entry.fields:
                entry.fields[name] = _metric(m)
        return
    try:
        record = orjson.loads(payload)
    except orjson.JSONDecodeError:
        record = None
    entry = _entry(seen, topic, "json" if isinstance(record, dict) else "other")
    if entry is not None and isinstance(record, dict):
        for name, value in _leaves(record, ""):
            if len(entry.fields) < MAX_FIELDS or name in entry.fields:
                entry.fields[name] = value


def _entry(seen: dict[str, SeenTopic], key: str, kind: str) -> SeenTopic | None:
    entry = seen.get(key)
    if entry is None:
        if len(seen) >= MAX_TOPICS:
            return None
        entry = seen[key] = SeenTopic(key, kind)
    entry.messages += 1
    return entry


def _metric_name(m: Metric, key: str, aliases: dict[tuple[str, int], str], *, birth: bool) -> str:
    if m.name:
        if birth and m.HasField("alias"):
            aliases[(key, m.alias)] = m.name
        return str(m.name)
    return aliases.get((key, m.alias), f"alias {m.alias}")


def _metric(m: Metric) -> object:
    number = metric_value(m)
    if number is not None:
        return number
    kind = m.WhichOneof("value")
    return m.string_value if kind == "string_value" else None


def _leaves(record: dict[str, object], prefix: str) -> list[tuple[str, object]]:
    """The scalar values of a JSON object by dotted path; a list counts as one value."""
    out: list[tuple[str, object]] = []
    for k, v in record.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _leaves(v, name + ".")
        else:
            out.append((name, v))
    return out
