"""VDA 5050 2.1 messages: topics, validation against the published JSON schemas, and the messages
a fleet manager and an AGV exchange.

The schemas in ``schemas/`` are those of the VDA 5050 repository at tag 2.1.0 (MIT licence,
``schemas/LICENSE.txt``). A message is checked against its topic's schema before anything reads
it: one that breaks it is rejected whole (``VdaMessageError`` with the first violations) and
counted by the receiver, never half applied.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jsonschema_rs
import orjson

from smartfab.errors import SmartfabError

VERSION = "2.1.0"
MAJOR = "v2"
SCHEMAS = Path(__file__).parent / "schemas"
Topic = Literal["order", "instantActions", "state", "visualization", "connection"]
TOPICS: tuple[Topic, ...] = ("order", "instantActions", "state", "visualization", "connection")
# Who publishes which topic: the fleet manager the commands, the AGV the rest.
FLEET_TOPICS: frozenset[str] = frozenset({"order", "instantActions"})

Message = dict[str, Any]


class VdaMessageError(SmartfabError):
    """A message that is not JSON or breaks its topic's schema."""

    def __init__(self, topic: str, reasons: Sequence[str]) -> None:
        self.topic = topic
        self.reasons = tuple(reasons)
        super().__init__(f"VDA 5050 {topic} message rejected: {'; '.join(self.reasons)}")


@cache
def _validator(topic: str) -> Any:
    schema = json.loads((SCHEMAS / f"{topic}.schema").read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(schema, validate_formats=True)


def decode(topic: str, payload: bytes | str) -> Message:
    """The message of ``topic`` in ``payload``, checked against the topic's schema; raises
    ``VdaMessageError`` naming the first violations (where in the message, and why)."""
    if topic not in TOPICS:
        raise VdaMessageError(topic, [f"unknown topic; VDA 5050 has {', '.join(TOPICS)}"])
    try:
        message = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise VdaMessageError(topic, [f"not JSON: {exc}"]) from None
    check(topic, message)
    assert isinstance(message, dict)  # every schema wants an object
    return message


def check(topic: Topic | str, message: object) -> None:
    """Raise ``VdaMessageError`` unless ``message`` is valid for ``topic``."""
    errors = list(itertools.islice(_validator(topic).iter_errors(message), 3))
    if errors:
        raise VdaMessageError(topic, [_reason(e) for e in errors])


def _reason(error: Any) -> str:
    where = "/".join(str(p) for p in error.instance_path) or "(message)"
    return f"{where}: {error.message}"


def encode(topic: Topic, message: Message) -> bytes:
    """``message`` as the payload of ``topic``, checked first: smartfab never sends what it would
    reject."""
    check(topic, message)
    return orjson.dumps(message)


def topic_name(interface: str, manufacturer: str, serial: str, topic: Topic) -> str:
    """``<interface>/v2/<manufacturer>/<serial>/<topic>`` (VDA 5050 2.1, section 6.1)."""
    return f"{interface}/{MAJOR}/{manufacturer}/{serial}/{topic}"


def parse_topic(name: str) -> tuple[str, str, Topic] | None:
    """(manufacturer, serial, topic) of a VDA 5050 topic name, or None for another topic."""
    parts = name.split("/")
    if len(parts) != 5 or parts[1] != MAJOR or parts[4] not in TOPICS:
        return None
    return parts[2], parts[3], parts[4]  # type: ignore[return-value]


def timestamp(at: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds and Z, as the standard's examples."""
    at = (at or datetime.now(UTC)).astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass(slots=True)
class Header:
    """The header fields of one sender's messages on one topic: headerId counts up per topic."""

    manufacturer: str
    serial: str
    _ids: dict[str, itertools.count[int]] | None = None

    def __call__(self, topic: Topic, at: datetime | None = None) -> Message:
        if self._ids is None:
            self._ids = {}
        counter = self._ids.setdefault(topic, itertools.count())
        return {
            "headerId": next(counter),
            "timestamp": timestamp(at),
            "version": VERSION,
            "manufacturer": self.manufacturer,
            "serialNumber": self.serial,
        }


# --- what the fleet manager sends -----------------------------------------------------------------


def order(
    header: Message,
    order_id: str,
    update_id: int,
    path: Sequence[tuple[float, float]],
    *,
    map_id: str,
    first_sequence: int = 0,
    released: int | None = None,
    actions: dict[int, list[Message]] | None = None,
) -> Message:
    """An order driving ``path`` (positions in metres): a node per position and an edge between
    consecutive ones, sequence ids counting up by one from ``first_sequence`` (nodes even, edges
    odd). The first ``released`` nodes are the base (released), the rest the horizon; ``actions``
    maps a node's index to its actions (pick, drop)."""
    released = len(path) if released is None else released
    nodes: list[Message] = []
    edges: list[Message] = []
    for i, (x, y) in enumerate(path):
        seq = first_sequence + 2 * i
        nodes.append({
            "nodeId": node_id(x, y),
            "sequenceId": seq,
            "released": i < released,
            "nodePosition": {"x": x, "y": y, "mapId": map_id},
            "actions": (actions or {}).get(i, []),
        })  # fmt: skip
        if i > 0:
            edges.append({
                "edgeId": f"{nodes[i - 1]['nodeId']}-{nodes[i]['nodeId']}",
                "sequenceId": seq - 1,
                "released": i < released,
                "startNodeId": nodes[i - 1]["nodeId"],
                "endNodeId": nodes[i]["nodeId"],
                "actions": [],
            })  # fmt: skip
    return {**header, "orderId": order_id, "orderUpdateId": update_id, "nodes": nodes,
            "edges": edges}  # fmt: skip


def cell_of(position: Message, cell_m: float) -> tuple[int, int]:
    """The grid cell ``(x, y)`` of a node's or an AGV's position in metres."""
    return round(position["x"] / cell_m), round(position["y"] / cell_m)


def node_id(x: float, y: float) -> str:
    return f"n{x:g}_{y:g}"


def action(action_id: str, action_type: str, blocking: str = "HARD", **params: object) -> Message:
    """One action (``pick``, ``drop``, ``startCharging``, ``cancelOrder``, ...)."""
    return {
        "actionId": action_id,
        "actionType": action_type,
        "blockingType": blocking,
        "actionParameters": [{"key": k, "value": v} for k, v in params.items()],
    }


def instant_actions(header: Message, actions: Sequence[Message]) -> Message:
    return {**header, "actions": list(actions)}


# --- what an AGV sends ------------------------------------------------------------------------


def connection(header: Message, state: str) -> Message:
    return {**header, "connectionState": state}


def position(x: float, y: float, theta: float, map_id: str) -> Message:
    return {"x": x, "y": y, "theta": theta, "mapId": map_id, "positionInitialized": True}


def visualization(header: Message, pos: Message, vx: float, vy: float) -> Message:
    return {**header, "agvPosition": pos, "velocity": {"vx": vx, "vy": vy, "omega": 0.0}}
