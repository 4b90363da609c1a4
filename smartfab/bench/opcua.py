"""Live OPC UA throughput: value changes a subscription delivers per second, end to end.

The virtual OPC UA server runs in its own process (the runner in bench mode: every node of a
synthetic plant rewritten ``rate_hz`` times a second), and ``OpcUaConnector`` subscribes to every
node over loopback, so both sides pay the full protocol cost: encoding, socket, decoding, columns.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import yaml

from smartfab.devices.opcua.connector import OpcUaConnector
from smartfab.model.plant import Plant
from smartfab.platform.points import AnyPoints, EventBatch, now_us
from smartfab.virtual.runner import RunnerProcess

_PER_EQUIPMENT = 10  # signals per equipment folder
_PER_CELL = 10  # equipment per cell


def bench_opcua_live(
    seconds: float = 10.0,
    nodes: int = 1500,
    rate_hz: float = 10.0,
    *,
    publishing_interval_ms: int = 100,
    warmup_s: float = 2.0,
) -> dict[str, Any]:
    """Subscribe to ``nodes`` variables that each change ``rate_hz`` times a second (offered load
    ``nodes * rate_hz`` changes/s) for ``seconds`` after ``warmup_s``, and count the points that
    arrive. Returns points/s with the setup and where the CPU time went."""
    plant_data = synthetic_plant(nodes, rate_hz, publishing_interval_ms)
    with tempfile.TemporaryDirectory(prefix="smartfab-bench-") as tmp:
        plant_file = Path(tmp) / "bench-plant.yaml"
        plant_file.write_text(yaml.safe_dump(plant_data, sort_keys=False), encoding="utf-8")
        started = time.perf_counter()
        with RunnerProcess(plant_file, opcua_port=0, bench_rate_hz=rate_hz) as runner:
            setup_s = time.perf_counter() - started
            plant_data["connections"][0]["endpoint"] = runner.endpoints["opcua"][0]
            plant = Plant.model_validate(plant_data)
            assert runner.pid is not None
            result = asyncio.run(
                _measure(plant, psutil.Process(runner.pid), seconds=seconds, warmup_s=warmup_s)
            )
    return {
        "points_per_s": result["points"] / result["elapsed_s"],
        "offered_per_s": nodes * rate_hz,
        "nodes": nodes,
        "rate_hz": rate_hz,
        "seconds": seconds,
        "publishing_interval_ms": publishing_interval_ms,
        "server_start_s": round(setup_s, 2),
        **{k: v for k, v in result.items() if k not in ("points", "elapsed_s")},
        "points": result["points"],
    }


async def _measure(
    plant: Plant, server: psutil.Process, *, seconds: float, warmup_s: float
) -> dict[str, Any]:
    ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
    connector = OpcUaConnector.from_plant(plant, plant.connections[0].name, ids, watchdog_s=5.0)
    counting = False
    points = 0
    latencies: list[float] = []

    async def on_points(batch: AnyPoints) -> None:
        nonlocal points
        if counting:
            points += len(batch)
            latencies.append(float(np.median(now_us() - batch.ts)) / 1000)

    async def on_events(_: EventBatch) -> None:
        return None

    task = asyncio.create_task(connector.run(on_points, on_events))
    try:
        await asyncio.sleep(warmup_s)
        counting = True
        server_cpu, client_cpu = server.cpu_times(), time.process_time()
        start = time.perf_counter()
        await asyncio.sleep(seconds)
        counting = False
        elapsed = time.perf_counter() - start
        server_used = sum(server.cpu_times()[:2]) - sum(server_cpu[:2])
        client_used = time.process_time() - client_cpu
    finally:
        connector.stop()
        await task
    return {
        "points": points,
        "elapsed_s": elapsed,
        "latency_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
        "server_cpu_percent": round(100 * server_used / elapsed, 1),
        "client_cpu_percent": round(100 * client_used / elapsed, 1),
        "connector_errors": connector.status.errors,
        "gaps": connector.status.gaps,
    }


def synthetic_plant(nodes: int, rate_hz: float, publishing_interval_ms: int) -> dict[str, Any]:
    """A plant (as plain data, ready for YAML) of ``nodes`` float signals on one OPC UA server,
    ten per equipment and ten equipment per cell, like a real address space."""
    cells: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for i in range(nodes):
        cell = f"cell-{i // (_PER_EQUIPMENT * _PER_CELL)}"
        eq = f"eq-{i // _PER_EQUIPMENT}"
        path = f"bench/hall/line/{cell}/{eq}"
        cells.setdefault(cell, {}).setdefault(eq, []).append(
            {
                "name": f"v{i % _PER_EQUIPMENT}",
                "unit": "1",
                "sample_s": 1 / rate_hz,
                "source": {
                    "opcua": {
                        "connection": "bench",
                        "node": f"ns=2;s={path}.v{i % _PER_EQUIPMENT}",
                    }
                },
            }
        )
    return {
        "site": {
            "name": "bench",
            "areas": [
                {
                    "name": "hall",
                    "lines": [
                        {
                            "name": "line",
                            "cells": [
                                {
                                    "name": cell,
                                    "equipment": [
                                        {"name": eq, "signals": signals}
                                        for eq, signals in equipment.items()
                                    ],
                                }
                                for cell, equipment in cells.items()
                            ],
                        }
                    ],
                }
            ],
        },
        "connections": [
            {
                "name": "bench",
                "protocol": "opcua",
                "endpoint": "opc.tcp://127.0.0.1:4840/",
                "publishing_interval_ms": publishing_interval_ms,
            }
        ],
    }
