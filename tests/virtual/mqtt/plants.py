"""A plant whose simulated signals are bound to where the virtual MQTT publisher puts them, shared
by the publisher's tests and the runtime's."""

from __future__ import annotations

from typing import Any

from smartfab.devices.mqtt.topics import sparkplug_binding, uns_binding
from smartfab.model.plant import Plant
from smartfab.virtual.mqtt.publisher import Mode
from tests.devices.mqtt.broker import HOST, shared_broker_port

Signals = list[tuple[str, str, dict[str, Any]]]  # name (and quantity), unit, other fields

SIGNALS: Signals = [("state", "1", {"type": "int", "role": "state"}), ("spindle_temp", "degC", {})]
# A signal of each kind that is not a plain number, as the virtual equipment simulates them.
KINDS: Signals = [
    ("product_code", "1", {"type": "string", "length": 16}),
    ("mode", "1", {"type": "enum", "values": {0: "off", 1: "automatic", 2: "setup",
                                              3: "maintenance"}}),
    ("spectrum", "mm/s", {"type": "array", "length": 3}),
]  # fmt: skip


def mqtt_plant(site: str, mode: Mode, enterprise: str, signals: Signals = SIGNALS) -> Plant:
    """Two CNCs whose simulated ``signals`` are bound to where the publisher puts them."""
    equipment = []
    for name in ("cnc-1", "cnc-2"):
        bound: list[dict[str, Any]] = []
        for sig, unit, extra in signals:
            path = f"{site}/a/l/c/{name}/{sig}"
            topic, field = (
                uns_binding(path, enterprise) if mode == "uns" else sparkplug_binding(path)
            )
            source = {"mqtt": {"connection": "broker", "topic": topic, "field": field}}
            bound.append({"name": sig, "unit": unit, "sim": sig, "sample_s": 0.5,
                          "source": source, **extra})  # fmt: skip
        equipment.append({"name": name, "model": "cnc", "ideal_cycle_s": 60, "signals": bound})
    cell = {"name": "c", "equipment": equipment}
    area = {"name": "a", "lines": [{"name": "l", "cells": [cell]}]}
    connection = {"name": "broker", "protocol": "mqtt", "host": HOST, "port": shared_broker_port()}
    return Plant.model_validate(
        {"site": {"name": site, "areas": [area]}, "connections": [connection]}
    )
