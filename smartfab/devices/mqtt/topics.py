"""Topic names: the Unified Namespace (UNS) tree and Sparkplug B's topic namespace.

UNS: ``enterprise/site/area/line/cell/equipment[/signal]`` -- the plant path of an equipment or
signal below one enterprise level, so a topic tells where its data belongs without a lookup table.
A signal topic carries that signal (``{"ts": ..., "value": ...}``), an equipment topic several of
its signals (``{"ts": ..., "values": {"signal": v, ...}}``).

Sparkplug B: ``spBv1.0/group/MESSAGE_TYPE/edge_node[/device]``. smartfab maps a plant onto it with
one edge node per line and one device per equipment: group = site, edge node = ``area.line``,
device = ``cell.equipment``. Plant names are slugs (no dots), so the mapping is reversible, and
Sparkplug ids may not contain ``/``, ``+`` or ``#``, which slugs never do.

A plant binds an MQTT signal with ``MqttBinding(topic, field)``. For UNS the topic is the concrete
topic and the field the dotted path of the value in the JSON message; for Sparkplug the topic is
``spBv1.0/group/edge_node[/device]`` (the device's identity, without a message type, since every
message type of it matters) and the field the metric name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

UNS_LEVELS = ("enterprise", "site", "area", "line", "cell", "equipment")
DEFAULT_ENTERPRISE = "smartfab"
SPARKPLUG_NAMESPACE = "spBv1.0"

SparkplugType = Literal["NBIRTH", "NDEATH", "NDATA", "NCMD", "DBIRTH", "DDEATH", "DDATA", "DCMD"]
SPARKPLUG_TYPES: frozenset[str] = frozenset(
    ("NBIRTH", "NDEATH", "NDATA", "NCMD", "DBIRTH", "DDEATH", "DDATA", "DCMD", "STATE")
)


def uns_topic(path: str, enterprise: str = DEFAULT_ENTERPRISE) -> str:
    """The UNS topic of a plant path (an equipment's or a signal's)."""
    return f"{enterprise}/{path.strip('/')}"


def uns_events_topic(site: str, enterprise: str = DEFAULT_ENTERPRISE) -> str:
    """Where edge agents of ``site`` publish their devices' outages as events (``payload``'s
    ``json_events``): below the site, at a level no plant name can take (names are slugs)."""
    return uns_topic(f"{site}/_events", enterprise)


def uns_binding(signal_path: str, enterprise: str = DEFAULT_ENTERPRISE) -> tuple[str, str]:
    """(topic, field) binding a signal to its equipment's UNS topic, where it is one of the
    ``values`` (what the virtual factory publishes)."""
    equipment, _, signal = signal_path.strip("/").rpartition("/")
    return uns_topic(equipment, enterprise), f"values.{signal}"


@dataclass(frozen=True, slots=True)
class SparkplugTopic:
    group: str
    kind: str  # NBIRTH, DDATA, ... (or STATE, whose "edge" is the host id)
    edge: str
    device: str | None = None

    @property
    def node(self) -> tuple[str, str]:
        return self.group, self.edge

    def __str__(self) -> str:
        device = f"/{self.device}" if self.device is not None else ""
        return f"{SPARKPLUG_NAMESPACE}/{self.group}/{self.kind}/{self.edge}{device}"


def parse_sparkplug(topic: str) -> SparkplugTopic | None:
    """The parts of a Sparkplug topic, or None when ``topic`` is not one."""
    parts = topic.split("/")
    if parts[0] != SPARKPLUG_NAMESPACE:
        return None
    if len(parts) == 3 and parts[1] == "STATE":  # spBv1.0/STATE/host_id (Sparkplug 3.0)
        return SparkplugTopic("", "STATE", parts[2])
    if len(parts) not in (4, 5) or parts[2] not in SPARKPLUG_TYPES or not all(parts[1:]):
        return None
    kind = parts[2]
    if (kind[0] == "D") != (len(parts) == 5):  # device messages name a device, node ones do not
        return None
    return SparkplugTopic(parts[1], kind, parts[3], parts[4] if len(parts) == 5 else None)


def parse_sparkplug_binding(topic: str) -> tuple[str, str, str | None] | None:
    """(group, edge node, device or None) of a binding's ``spBv1.0/group/edge[/device]``."""
    parts = topic.split("/")
    if parts[0] != SPARKPLUG_NAMESPACE or len(parts) not in (3, 4) or not all(parts[1:]):
        return None
    return parts[1], parts[2], parts[3] if len(parts) == 4 else None


def sparkplug_ids(equipment_path: str) -> tuple[str, str, str]:
    """(group, edge node, device) of a plant equipment ``site/area/line/cell/equipment``."""
    site, area, line, cell, equipment = equipment_path.strip("/").split("/")
    return site, f"{area}.{line}", f"{cell}.{equipment}"


def sparkplug_binding(signal_path: str) -> tuple[str, str]:
    """(topic, field) binding a signal to the Sparkplug metric the virtual factory publishes."""
    equipment, _, signal = signal_path.strip("/").rpartition("/")
    group, edge, device = sparkplug_ids(equipment)
    return f"{SPARKPLUG_NAMESPACE}/{group}/{edge}/{device}", signal


def shared(topic_filter: str, group: str | None) -> str:
    """``topic_filter`` as an MQTT 5 shared subscription of ``group``: the broker hands each
    message to one subscriber of the group, so workers split the load."""
    return f"$share/{group}/{topic_filter}" if group else topic_filter


def covering_filters(topics: list[str]) -> list[str]:
    """Few subscription filters that receive every topic of ``topics``.

    UNS topics are covered by ``enterprise/site/#`` (one subscription per site instead of one per
    signal); Sparkplug bindings by ``spBv1.0/group/+/edge/#``, which also matches the node's own
    messages (``#`` matches its parent level). Messages on covered topics that nothing binds are
    counted as unknown topics, which is how a mistyped publisher shows up."""
    filters: set[str] = set()
    for topic in topics:
        sp = parse_sparkplug_binding(topic)
        if sp is not None:
            filters.add(f"{SPARKPLUG_NAMESPACE}/{sp[0]}/+/{sp[1]}/#")
            continue
        parts = topic.split("/")
        filters.add("/".join(parts[:2]) + "/#" if len(parts) > 2 else topic)
    return sorted(filters)


def validate_topic(topic: str) -> str | None:
    """Why ``topic`` cannot be bound (wildcards, empty levels), or None."""
    if not topic or "+" in topic or "#" in topic:
        return "a binding names one topic, without the wildcards + and #"
    if topic.startswith("$"):
        return "topics starting with $ are the broker's"
    if "" in topic.split("/"):
        return "empty topic level"
    return None
