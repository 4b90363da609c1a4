"""A plant of one virtual CNC whose process block names its parameters and inspection, and a
DuckDB store holding the parts its virtual process made, as a plant's signals carry them: for
the tests of the store reader, the routes and the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from smartfab.apps.quality.parts import PartTable
from smartfab.model.loader import load_plant
from smartfab.model.plant import Plant
from smartfab.platform.catalog import register_plant
from smartfab.platform.points import EventBatch, PointBatch, Quality, TextBatch
from smartfab.platform.store.duckdb import DuckDBStore
from tests.apps.quality.history import CNC, history

EQUIPMENT = "s/a/l/c/cnc"


def _signal(name: str, unit: str, **extra: object) -> dict[str, object]:
    return {"name": name, "unit": unit, "source": {"virtual": True}} | extra


def _writable(name: str, unit: str, low: float, high: float, register: int | None
              ) -> dict[str, object]:  # fmt: skip
    source = (
        {"opcua": {"connection": "plc", "node": f"ns=2;s={name}"}}
        if register is None
        else {"modbus": {"connection": "plc", "register": register, "type": "float32"}}
    )
    return {"name": name, "unit": unit, "range": [low, high], "writable": True, "source": source}


def _connection(modbus_port: int | None) -> dict[str, object]:
    if modbus_port is None:
        return {"name": "plc", "protocol": "opcua", "endpoint": "opc.tcp://127.0.0.1:1"}
    return {"name": "plc", "protocol": "modbus", "host": "127.0.0.1", "port": modbus_port,
            "holding_registers": 2 * len(CNC.parameters), "input_registers": 0,
            "poll_ms": 250}  # fmt: skip


def write_plant(folder: Path, modbus_port: int | None = None) -> Path:
    """The plant file; its parameters are setpoints of an OPC UA server that is not there, or,
    with ``modbus_port``, holding registers (float32, from 0) of a Modbus device at that port
    (the virtual one, smartfab.virtual.modbus), so that they can be written."""
    signals = [
        *(_writable(p.name, p.unit, p.low, p.high, None if modbus_port is None else 2 * i)
          for i, p in enumerate(CNC.parameters)),
        _signal("ambient_c", "degC"),
        _signal("tool_count", "1"),
        _signal("energy", "kWh", role="energy"),
        _signal("good_count", "1", role="good_count"),
        _signal("inspection", "1", type="enum",
                values={0: "good", **{d.code: d.name for d in CNC.defects}}),
        _signal("material_lot", "1", type="string", length=32),
    ]  # fmt: skip
    process = {
        "parameters": [{"signal": p.name, "max_step": p.max_step} for p in CNC.parameters],
        "inspection": "inspection", "context": ["ambient_c", "tool_count"],
        "material_lot": "material_lot", "max_defect_rate": 0.03, "takt_s": 170,
        "risk_alarm": 0.2, "alarm_priority": "high",
    }  # fmt: skip
    plant = {
        "site": {"name": "s", "areas": [{"name": "a", "lines": [{"name": "l", "cells": [{
            "name": "c", "equipment": [{"name": "cnc", "model": "cnc", "ideal_cycle_s": 150,
                                        "signals": signals, "process": process}]}]}]}]},
        "connections": [_connection(modbus_port)],
        "energy": {
            "tariff": {"currency": "CNY", "unit": "CNY/kWh", "periods": [
                {"name": "valley", "start": "23:00", "end": "07:00", "price": 0.35},
                {"name": "day", "start": "07:00", "end": "23:00", "price": 0.9}]},
            "emission_factor": {"value": 0.57, "unit": "kgCO2e/kWh"},
        },
    }  # fmt: skip
    path = folder / "plant.yaml"
    path.write_text(yaml.safe_dump(plant, sort_keys=False), encoding="utf-8")
    return path


def part_batches(
    ids: dict[str, int], table: PartTable, start_us: int, energy0: float = 0.0, good0: float = 0.0
) -> tuple[PointBatch, TextBatch]:
    """Every part as the signals show it: the parameters and context at each part, the meters'
    running totals (going on from ``energy0`` kWh and ``good0`` parts), the inspection result and
    the lot; ``ids`` are the signals' ids by path."""
    ts = table.ts + start_us

    def sid(name: str) -> int:
        return ids[f"{EQUIPMENT}/{name}"]

    columns = {n: table.values[n] for n in (*table.parameters, "ambient_c", "tool_count")}
    columns["energy"] = energy0 + np.cumsum(table.values["energy_kwh"])
    columns["good_count"] = good0 + np.cumsum(table.defect == 0).astype(float)
    columns["inspection"] = table.defect.astype(float)
    n = len(ts)
    points = PointBatch(
        np.concatenate([ts] * len(columns)),
        np.concatenate([np.full(n, sid(k), np.int32) for k in columns]),
        np.concatenate(list(columns.values())).astype(np.float64),
        np.full(n * len(columns), Quality.GOOD, np.uint8),
    )
    lots = TextBatch(ts, np.full(n, sid("material_lot"), np.int32), np.asarray(table.lot, object),
                     points.quality[:n])  # fmt: skip
    return points, lots


def fill(store: DuckDBStore, plant: Plant, table: PartTable, start_us: int) -> None:
    """The parts of ``table`` (times from ``start_us``) in the store."""
    points, texts = part_batches(register_plant(store, plant), table, start_us)
    store.append(points, EventBatch.empty(), texts=texts)


def filled(
    folder: Path, start_us: int, days: float = 40, modbus_port: int | None = None
) -> tuple[Plant, Path]:
    plant = load_plant(write_plant(folder, modbus_port))
    path = folder / "q.duckdb"
    with DuckDBStore(path) as store:
        fill(store, plant, history(1, days), start_us)
    return plant, path
