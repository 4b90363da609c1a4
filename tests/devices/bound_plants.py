"""Small plants whose signals are bound to OPC UA nodes or Modbus registers, for protocol tests."""

from __future__ import annotations

from typing import Any

from smartfab.model.plant import Plant

EQUIPMENT = "s/a/l/c/e"


def plant(signals: list[dict[str, Any]], connections: list[dict[str, Any]]) -> Plant:
    """One equipment (``s/a/l/c/e``) with ``signals`` (name, source and anything else of a
    Signal; unit defaults to "1"), on ``connections``."""
    equipment = {"name": "e", "signals": [{"unit": "1", **s} for s in signals]}
    cell = {"name": "c", "equipment": [equipment]}
    area = {"name": "a", "lines": [{"name": "l", "cells": [cell]}]}
    return Plant.model_validate(
        {"site": {"name": "s", "areas": [area]}, "connections": connections}
    )


def modbus_signal(
    name: str, register: int, type: str | None = "uint16", **binding: Any
) -> dict[str, Any]:
    """A signal at ``register`` of connection ``plc``; ``type`` None for a coil or discrete
    input, which has none."""
    layout = {} if type is None else {"type": type}
    modbus = {"connection": "plc", "register": register, **layout, **binding}
    return {"name": name, "source": {"modbus": modbus}}


def modbus_connection(port: int, **options: Any) -> dict[str, Any]:
    return {"name": "plc", "protocol": "modbus", "host": "127.0.0.1", "port": port, **options}


def opcua_signal(name: str, type: str = "float", **options: Any) -> dict[str, Any]:
    node = f"ns=2;s={EQUIPMENT}.{name}"
    source = {"opcua": {"connection": "ua", "node": node}}
    return {"name": name, "type": type, "source": source, **options}


def opcua_connection(endpoint: str = "opc.tcp://127.0.0.1:4840/", **options: Any) -> dict[str, Any]:
    return {"name": "ua", "protocol": "opcua", "endpoint": endpoint, **options}
