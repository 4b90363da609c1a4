"""Test plants for the virtual factory, built with the plant schema."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from smartfab.model.plant import Equipment, Plant, Signal, Source
from smartfab.virtual.models import MODELS, MODES, TIMELINE_QUANTITIES

# quantity -> (unit, expected range); every model's quantities are named in the brief.
QUANTITIES: dict[str, tuple[str, tuple[float, float]]] = {
    "state": ("1", (0, 5)),
    "fault_code": ("1", (0, 300)),
    "good_count": ("count", (0, 1e9)),
    "scrap_count": ("count", (0, 1e9)),
    "cycle_time": ("s", (0, 1000)),
    "running": ("1", (0, 1)),
    "faulted": ("1", (0, 1)),
    "auto_mode": ("1", (0, 1)),
    "mode": ("1", (0, 3)),
    "energy": ("kWh", (0, 1e9)),
    "power": ("kW", (0, 400)),
    "spindle_speed": ("rpm", (0, 12000)),
    "spindle_power": ("kW", (0, 30)),
    "spindle_temp": ("degC", (10, 120)),
    "vibration": ("mm/s", (0, 20)),
    "coolant_temp": ("degC", (10, 60)),
    "feed_rate": ("mm/min", (0, 10000)),
    "feed_override": ("%", (0, 150)),
    "axis_load_x": ("%", (0, 150)),
    "axis_load_y": ("%", (0, 150)),
    "axis_load_z": ("%", (0, 150)),
    "coolant_pressure": ("bar", (0, 80)),
    "ram_force": ("kN", (0, 4000)),
    "stroke_rate": ("1/min", (0, 60)),
    "hydraulic_pressure": ("bar", (0, 300)),
    "pressure_setpoint": ("bar", (0, 250)),
    "oil_temp": ("degC", (10, 90)),
    "motor_current": ("A", (0, 400)),
    "die_temp": ("degC", (10, 150)),
    "torque": ("Nm", (0, 50)),
    "robot_joint_temp": ("degC", (10, 100)),
    "air_pressure": ("bar", (4, 8)),
    "press_fit_force": ("kN", (0, 30)),
    "conveyor_speed": ("m/min", (0, 120)),
    "motor_temp": ("degC", (10, 120)),
    "seal_temp": ("degC", (10, 250)),
    "film_tension": ("N", (0, 200)),
}

_ROLES = {"state": "state", "fault_code": "fault", "good_count": "good_count"}
_ROLES |= {"scrap_count": "scrap_count", "energy": "energy"}
# The quantities that are not one number, and their signals' type fields.
OTHER_QUANTITIES: dict[str, dict[str, Any]] = {
    "product_code": {"type": "string", "length": 16, "unit": "1"},
    "material_lot": {"type": "string", "length": 16, "unit": "1"},
    "spectrum": {"type": "array", "length": 24, "unit": "mm/s"},
}
SPECTRUM_SAMPLE_S = 10.0


def typical_sample_s(quantity: str) -> float:
    """Fast signals every second, temperatures every 5 s, the energy meter every 10 s."""
    if quantity.endswith("temp"):
        return 5.0
    return 10.0 if quantity == "energy" else 1.0


def build_plant(
    counts: Mapping[str, int],
    *,
    sample_s: Callable[[str], float] = typical_sample_s,
    quantities: Callable[[str], bool] = lambda q: True,
    timezone: str = "UTC",
    others: bool = False,
) -> tuple[Plant, dict[str, int]]:
    """A plant with ``counts[model]`` machines of each model, each with every number quantity its
    model simulates that ``quantities`` accepts, and with ``others`` its texts and arrays too
    (after the numbers); and signal ids by path."""
    lines = []
    for model, n in counts.items():
        equipment = []
        for i in range(n):
            names = sorted(TIMELINE_QUANTITIES | set(MODELS[model].quantities))
            signals = [
                Signal(
                    name=q,
                    unit=QUANTITIES[q][0],
                    type="int"
                    if q in ("state", "fault_code")
                    else "enum"
                    if q == "mode"
                    else ("float"),
                    values=dict(MODES) if q == "mode" else None,
                    role=_ROLES.get(q, "measurement"),  # type: ignore[arg-type]
                    range=QUANTITIES[q][1],
                    sample_s=sample_s(q),
                    source=Source(virtual=True),
                    sim=q,
                )
                for q in names
                if quantities(q)
            ]
            signals += [
                Signal.model_validate({
                    "name": q, "sim": q, "source": {"virtual": True}, **fields,
                    "sample_s": SPECTRUM_SAMPLE_S if q == "spectrum" else sample_s(q),
                })
                for q, fields in OTHER_QUANTITIES.items()
                if others and quantities(q)
            ]  # fmt: skip
            equipment.append(Equipment(name=f"{model}-{i}", model=model, signals=signals))
        lines.append({"name": model, "cells": [{"name": "cell", "equipment": equipment}]})
    plant = Plant.model_validate(
        {"site": {"name": "site", "timezone": timezone, "areas": [{"name": "a", "lines": lines}]}}
    )
    ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
    return plant, ids
