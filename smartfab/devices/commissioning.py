"""Commissioning a machine: what its device offers, asked live, before anything is saved.

A connection is given as the plant file writes it (one already in the plant, or one being
added), and each question opens a connection of its own beside the running connectors:

* OPC UA: the variables of the address space, with their types and engineering units;
* Modbus: a range of registers, raw and decoded as a type and word order would read them;
* MQTT: the topics seen for a few seconds, UNS JSON fields and Sparkplug B metrics;
* a preview of the values of bindings picked from those, as their signals would read them.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from smartfab.devices.modbus.connector import ModbusConnector
from smartfab.devices.modbus.registers import Table, decode, decode_text
from smartfab.devices.mqtt.probe import SeenTopic, topics_seen
from smartfab.devices.opcua.connector import BrowsedVariable, OpcUaConnector
from smartfab.devices.opcua.types import ValueType
from smartfab.errors import SmartfabError
from smartfab.model.plant import (
    BIT_TABLES,
    MAX_READ_REGISTERS,
    REGISTER_WORDS,
    ModbusBinding,
    ModbusConnection,
    MqttBinding,
    MqttConnection,
    OpcUaBinding,
    OpcUaConnection,
    RegisterType,
)

AnyConnection = OpcUaConnection | ModbusConnection | MqttConnection
MAX_BITS = 2000  # one read of coils or discrete inputs (Modbus allows 2000)


class CommissioningError(SmartfabError):
    """The device could not be asked, or the question is not one it can answer."""


@dataclass(frozen=True, slots=True)
class Variable:
    """An OPC UA variable as the wizard offers it."""

    node: str
    path: str  # browse names from the Objects folder
    data_type: str  # as `smartfab browse` shows it
    unit: str | None  # its EngineeringUnits (catalogue symbol where known)
    signal_type: str | None  # the signal type that takes it (float, int, bool, enum, string,
    #                          array), None when none does
    length: int | None  # an array's elements
    values: dict[int, str] | None  # an enumeration's names


async def browse_opcua(conn: OpcUaConnection, timeout_s: float = 10.0) -> list[Variable]:
    try:
        found = await asyncio.wait_for(
            OpcUaConnector(conn, [], timeout_s=timeout_s).browse(), timeout_s * 3
        )
    except Exception as exc:  # refused, unreachable, timed out, asyncua's own errors: all say why
        raise CommissioningError(f"{conn.endpoint}: cannot browse: {_why(exc)}") from exc
    return sorted((_variable(v) for v in found), key=lambda v: v.path)


def _variable(v: BrowsedVariable) -> Variable:
    t = v.type
    if not isinstance(t, ValueType):
        return Variable(v.node, v.path, v.data_type, None, None, None, None)
    kind: str | None = None
    length = None
    if t.builtin in ("String", "LocalizedText") and t.value_rank == -1:
        kind = "string"
    elif t.value_rank == 1 and t.builtin not in ("String", "LocalizedText"):
        kind, length = "array", (t.dimensions[0] if t.dimensions and t.dimensions[0] else None)
    elif t.value_rank == -1:
        kind = (
            "enum" if t.enum else "bool" if t.builtin == "Boolean"
            else "float" if t.builtin in ("Float", "Double") else "int"
        )  # fmt: skip
    return Variable(
        v.node, v.path, v.data_type, t.unit, kind, length, dict(t.enum) if t.enum else None
    )


@dataclass(frozen=True, slots=True)
class Register:
    address: int
    raw: int  # the register (or bit) as read
    value: float | str | None  # decoded from here as the type asks (None: past the range read)


async def read_modbus(
    conn: ModbusConnection,
    table: Table,
    start: int,
    count: int,
    *,
    unit: int | None = None,
    type: RegisterType = "uint16",
    word_order: str = "big",
    timeout_s: float = 2.0,
) -> list[Register]:
    """``count`` registers (bits) from ``start``, each decoded as a value of ``type`` starting
    there (bit tables: 0 or 1)."""
    limit = MAX_BITS if table in BIT_TABLES else MAX_READ_REGISTERS
    if not 1 <= count <= limit:
        raise CommissioningError(f"count {count}: read 1 to {limit} at a time")
    if start + count > 65536:
        raise CommissioningError(f"registers {start}-{start + count - 1}: past 65535")
    words = await _modbus_words(conn, conn.unit if unit is None else unit, table, start, count)
    if table in BIT_TABLES:
        return [Register(start + i, int(w), float(w)) for i, w in enumerate(words.tolist())]
    width = REGISTER_WORDS[type]
    values: list[float | str | None] = [None] * count
    for i in range(count - width + 1):
        v = float(decode(words[i : i + width], type, word_order)[0])  # type: ignore[arg-type]
        values[i] = v if math.isfinite(v) else str(v)
    return [Register(start + i, int(w), values[i]) for i, w in enumerate(words.tolist())]


async def _modbus_words(
    conn: ModbusConnection, unit: int, table: Table, start: int, count: int
) -> np.ndarray[Any, np.dtype[np.uint16]]:
    try:
        return await ModbusConnector.probe(conn).read_range(unit, table, start, count)
    except (OSError, TimeoutError) as exc:
        raise CommissioningError(f"{conn.host}:{conn.port}: {_why(exc)}") from exc
    except SmartfabError as exc:
        raise CommissioningError(f"{conn.host}:{conn.port} unit {unit}: {exc}") from exc


async def mqtt_topics(conn: MqttConnection, topic_filter: str, seconds: float) -> list[SeenTopic]:
    if not topic_filter or len(topic_filter) > 1024:
        raise CommissioningError("give a topic filter, e.g. # or smartfab/shenyang/#")
    if not 0.2 <= seconds <= 30:
        raise CommissioningError(f"seconds {seconds:g}: listen 0.2 to 30 s")
    try:
        return await topics_seen(conn, topic_filter, seconds)
    except SmartfabError as exc:
        raise CommissioningError(str(exc)) from exc


async def preview(
    conn: AnyConnection, bindings: list[dict[str, Any]], *, seconds: float = 3.0
) -> list[object]:
    """The current value of each binding (``source.<protocol>`` of a signal, without its
    connection), as its signal would read it; the reason as text where there is none."""
    if not bindings or len(bindings) > 500:
        raise CommissioningError("preview 1 to 500 bindings at a time")
    if isinstance(conn, OpcUaConnection):
        nodes = [OpcUaBinding.model_validate({**b, "connection": conn.name}).node for b in bindings]
        try:
            values = await OpcUaConnector(conn, [], timeout_s=5.0).read_values(nodes)
        except Exception as exc:  # asyncua's own errors vary; any means no preview
            raise CommissioningError(f"{conn.endpoint}: {_why(exc)}") from exc
        return [_plain(v) for v in values]
    if isinstance(conn, ModbusConnection):
        return [await _modbus_value(conn, b) for b in bindings]
    topics = {MqttBinding.model_validate({**b, "connection": conn.name}).topic for b in bindings}
    seen: dict[str, SeenTopic] = {}
    for topic in sorted(topics):
        for t in await mqtt_topics(conn, topic, seconds / len(topics)):
            seen[t.topic] = t
    out: list[object] = []
    for b in bindings:
        heard = seen.get(str(b.get("topic")))
        field = str(b.get("field"))
        out.append(
            "no message within the preview"
            if heard is None
            else heard.fields.get(field, f"no field {field!r} in the messages")
        )
    return out


async def _modbus_value(conn: ModbusConnection, raw: dict[str, Any]) -> object:
    b = ModbusBinding.model_validate({**raw, "connection": conn.name})
    unit = conn.unit if b.unit is None else b.unit
    length = raw.get("length")
    count = -(-int(length) // 2) if raw.get("text") and length else b.words
    try:
        words = await _modbus_words(conn, unit, b.table, b.register, count)
    except CommissioningError as exc:
        return str(exc)
    if b.table in BIT_TABLES:
        return float(words[0])
    if raw.get("text"):
        return str(decode_text(words.reshape(1, -1), b.byte_order)[0])
    if b.bit is not None:
        whole = int(decode(words, b.type, b.word_order)[0])
        return float((whole >> b.bit) & 1)
    return _plain(float(decode(words, b.type, b.word_order, b.scale, b.offset)[0]))


def _plain(value: object) -> object:
    """A value as JSON carries it."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in list(value)]
    text = getattr(value, "Text", None)  # a LocalizedText
    return str(text) if text is not None else str(value)


def _why(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__
