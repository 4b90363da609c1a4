"""A Modbus device's plant and connector, shared by the Modbus tests and the connector-interface
tests."""

from __future__ import annotations

from typing import Any

from smartfab.devices.connector import Backoff
from smartfab.devices.modbus.connector import ModbusConnector
from smartfab.model.plant import Plant
from tests.devices.bound_plants import modbus_connection, modbus_signal, plant

SIGNALS = [
    modbus_signal("temp", 0, "float32"),
    modbus_signal("pressure", 2, "int16", scale=0.1),
    modbus_signal("count", 3, "uint32", word_order="little"),
    modbus_signal("level", 0, "float64", table="input"),
]
FAST = Backoff(initial_s=0.05, max_s=0.2, jitter=0.0)


def device_plant(port: int = 502, signals: list[dict[str, Any]] = SIGNALS, **conn: Any) -> Plant:
    options = {"holding_registers": 10, "input_registers": 4, "poll_ms": 50} | conn
    return plant(signals, [modbus_connection(port, **options)])


def ids_of(p: Plant) -> dict[str, int]:
    return {ref.path: 100 + i for i, ref in enumerate(p.iter_signals())}


def connector_for(p: Plant, timeout_s: float = 0.5) -> ModbusConnector:
    return ModbusConnector.from_plant(p, "plc", ids_of(p), timeout_s=timeout_s, backoff=FAST)
