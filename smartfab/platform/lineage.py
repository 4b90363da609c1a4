"""Lineage: which connection and device produced each series, and when it delivered data.

The catalogue keeps each signal's ``source`` ("opcua:plc-1", "virtual") in the store, so it
outlives the plant file; the plant file adds where that connection reaches the device (endpoint,
host:port/unit, broker) and the binding inside it (node id, register, topic). First and last seen
come from the store: ``latest`` (one row per signal) and ``earliest`` (rollup-guided), never a
scan per point.
"""

from __future__ import annotations

import pyarrow as pa

from smartfab.model.plant import (
    BIT_TABLES,
    ModbusConnection,
    MqttConnection,
    OpcUaConnection,
    Plant,
    Source,
    value_kind,
)
from smartfab.platform.points import POINT_SCHEMA
from smartfab.platform.queries import PlantData
from smartfab.platform.store.base import KINDS

LINEAGE_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("role", pa.string()),
        ("source", pa.string()),  # as catalogued: protocol:connection
        ("protocol", pa.string()),
        ("connection", pa.string()),
        ("endpoint", pa.string()),  # where the connection reaches the device
        ("address", pa.string()),  # the binding within it: node id, register, topic
        ("first_seen", POINT_SCHEMA.field("ts").type),
        ("last_seen", POINT_SCHEMA.field("ts").type),
    ]
)


def endpoint(conn: OpcUaConnection | ModbusConnection | MqttConnection) -> str:
    """The device (or broker) a connection talks to, as a URL."""
    if isinstance(conn, OpcUaConnection):
        return conn.endpoint
    if isinstance(conn, ModbusConnection):
        return f"modbus://{conn.host}:{conn.port}/{conn.unit}"
    return f"{'mqtts' if conn.tls else 'mqtt'}://{conn.host}:{conn.port}"


def address(source: Source) -> str:
    """Where the value is within its connection, in the plant file's terms."""
    if source.opcua is not None:
        return source.opcua.node
    if source.modbus is not None:
        m = source.modbus
        unit = "" if m.unit is None else f"unit {m.unit} "
        if m.table in BIT_TABLES:
            return f"{unit}{m.table} {m.register}"
        bit = "" if m.bit is None else f" bit {m.bit}"
        return f"{unit}{m.table} register {m.register} {m.type}{bit}"
    if source.mqtt is not None:
        return f"{source.mqtt.topic} {source.mqtt.field}"
    return ""


def lineage(data: PlantData, under: str | None = None) -> pa.Table:
    """One row per signal at or below ``under``: LINEAGE_SCHEMA. Endpoint and address are empty
    when the process has no plant file or the signal left it (the catalogue keeps it)."""
    infos = data.signals(under)
    bindings = _bindings(data.plant)
    first: dict[int, object] = {}
    last: dict[int, object] = {}
    for kind in KINDS:  # each kind of value has its own points
        ids = [s.id for s in infos if value_kind(s.data_type) == kind]
        if ids:
            first |= _ts_by_id(data.store.earliest(ids, kind))
            last |= _ts_by_id(data.store.latest(ids, kind))
    rows: dict[str, list[object]] = {name: [] for name in LINEAGE_SCHEMA.names}
    for s in infos:
        protocol, _, connection = s.source.partition(":")
        found = bindings.get(s.path)
        rows["path"].append(s.path)
        rows["role"].append(s.role)
        rows["source"].append(s.source)
        rows["protocol"].append(protocol)
        rows["connection"].append(connection)
        rows["endpoint"].append(found[0] if found else "")
        rows["address"].append(found[1] if found else "")
        rows["first_seen"].append(first.get(s.id))
        rows["last_seen"].append(last.get(s.id))
    return pa.table(rows, schema=LINEAGE_SCHEMA)


def _bindings(plant: Plant | None) -> dict[str, tuple[str, str]]:
    """Signal path -> (endpoint, address) from the plant file."""
    if plant is None:
        return {}
    out = {}
    for ref in plant.iter_signals():
        src = ref.signal.source
        name = src.connection
        try:
            where = endpoint(plant.connection(name)) if name else ""
        except KeyError:  # the loader refuses such a file; a hand-built Plant may not
            where = ""
        out[ref.path] = (where, address(src))
    return out


def _ts_by_id(table: pa.Table) -> dict[int, object]:
    # Small: one row per signal.
    return dict(
        zip(table.column("signal_id").to_pylist(), table.column("ts").to_pylist(), strict=True)
    )


__all__ = ["LINEAGE_SCHEMA", "address", "endpoint", "lineage"]
