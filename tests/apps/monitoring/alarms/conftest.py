"""A one-machine plant whose alarm rules each test chooses, and its alarm table."""

from __future__ import annotations

from typing import Any

from smartfab.apps.monitoring.alarms.rules import AlarmTable
from smartfab.model.plant import Plant

EQ = "site/area/line/cell/m1"
T0 = 1_794_895_200_000_000  # 2026-11-17 06:00 UTC
S = 1_000_000


def plant(temp: dict[str, Any] | None = None, equipment: dict[str, Any] | None = None) -> Plant:
    """Signals temp (id order: state 0, fault 1, temp 2 with the given alarms) of machine m1."""
    virtual = {"virtual": True}
    signals = [
        {"name": "state", "unit": "1", "type": "int", "role": "state", "source": virtual},
        {"name": "fault", "unit": "1", "type": "int", "role": "fault", "source": virtual},
        {"name": "temp", "unit": "degC", "source": virtual, "alarms": temp},
    ]
    eq = {"name": "m1", "faults": {7: "overload", 9: "jam"}, "signals": signals}
    if equipment is not None:
        eq["alarms"] = equipment
    cell = {"name": "cell", "equipment": [eq]}
    site = {
        "name": "site",
        "areas": [{"name": "area", "lines": [{"name": "line", "cells": [cell]}]}],
    }
    return Plant.model_validate({"site": site})


IDS = {f"{EQ}/state": 0, f"{EQ}/fault": 1, f"{EQ}/temp": 2}


def table(
    temp: dict[str, Any] | None = None, equipment: dict[str, Any] | None = None
) -> AlarmTable:
    return AlarmTable.from_plant(plant(temp, equipment), IDS)
