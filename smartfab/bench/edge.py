"""End-to-end benchmark of the server deployment: points/s from an edge agent through Mosquitto
and N ingestion workers into PostgreSQL, every party a process of its own as in a deployment.

The edge agent (`smartfab edge run --virtual`, as fast as it can) publishes a span of the virtual
factory's demo plant as UNS JSON; the workers (`smartfab serve --config`) share the subscription
(`$share/bench/...`, kept sessions, acknowledging a message only once stored) and store into a
schema of the benchmark's own, dropped at the end. Timed: from the agent's start until the last
point is in the ``points`` table, the agent's start-up (a few seconds) included. The broker is
a private Mosquitto on a free port; PostgreSQL the one at ``url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import aiomqtt
import psycopg
import yaml
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from psycopg import sql

from smartfab.bench.mqtt import HOST, free_port, private_mosquitto
from smartfab.config import DEMO_PLANT
from smartfab.devices.edge.agent import edge_signal_ids, server_plant
from smartfab.devices.mqtt.connector import MqttConnector
from smartfab.devices.mqtt.topics import shared
from smartfab.errors import SmartfabError
from smartfab.model.loader import load_plant
from smartfab.platform.points import now_us
from smartfab.virtual.factory import VirtualFactory

SMARTFAB = [sys.executable, "-m", "smartfab"]
SESSION_S = 300


async def prime_session(port: int, client_id: str, filters: list[str], expiry_s: int) -> None:
    """Make the kept session a worker resumes (MQTT 5, clean start off, expiry ``expiry_s``) with
    its subscriptions, as a worker's first start does in a deployment: from then on the broker
    queues the worker's messages, however long its process takes to come up."""
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = expiry_s
    async with aiomqtt.Client(
        HOST, port, identifier=client_id, protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False, properties=properties,
    ) as client:  # fmt: skip
        for topic_filter in filters:
            await client.subscribe(topic_filter, qos=1)


def worker_session(plant_file: Path, number: int) -> tuple[str, list[str]]:
    """The client id and subscription filters of worker ``number`` (its SMARTFAB_WORKER)."""
    plant = load_plant(plant_file)
    saved = os.environ.get("SMARTFAB_WORKER")
    os.environ["SMARTFAB_WORKER"] = str(number)
    try:
        c = MqttConnector.from_plant(plant, "broker", edge_signal_ids(plant))
    finally:
        if saved is None:
            del os.environ["SMARTFAB_WORKER"]
        else:
            os.environ["SMARTFAB_WORKER"] = saved
    return c.client_id, [shared(f, c.options.shared_group) for f in c.filters]


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
        return True
    return False


def _count(url: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            row = conn.execute("SELECT coalesce(sum(n), 0) FROM point_chunks").fetchone()
    except psycopg.Error:
        return -1  # the workers have not made the tables yet
    return int(row[0]) if row else 0


@dataclass(frozen=True, slots=True)
class Serving:
    """Workers up and subscribed: where they store (``store_url``), the UNS enterprise their
    plant binds, the run's folder and the log every process of the run writes to."""

    store_url: str
    enterprise: str
    run_dir: Path
    log: BinaryIO
    procs: list[subprocess.Popen[bytes]]


@contextlib.contextmanager
def serving(workers: int, port: int, url: str, folder: Path) -> Iterator[Serving]:
    """``workers`` ingestion workers (`smartfab serve`) on the demo plant's server plant, sharing
    a subscription on the broker at ``port``, storing into a schema of their own at ``url``;
    stopped and the schema dropped on leaving. Processes added to ``procs`` are stopped too."""
    schema = f"smartfab_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    sep = "&" if "?" in url else "?"
    store_url = f"{url}{sep}options={quote(f'-csearch_path={schema}')}"
    enterprise = f"bench{uuid.uuid4().hex[:6]}"
    plant = load_plant(DEMO_PLANT)
    data = server_plant(
        plant, host=HOST, port=port, enterprise=enterprise, shared_group="bench",
        client_id="bench-${SMARTFAB_WORKER}", session_expiry_s=SESSION_S,
    )  # fmt: skip
    run_dir = folder / schema
    run_dir.mkdir()
    plant_file = run_dir / "plant.yaml"
    plant_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    config = run_dir / "server.yaml"
    config.write_text(
        # The fleet's health assessment is off: ingestion is what is measured.
        yaml.safe_dump(
            {"store_url": store_url, "plant": str(plant_file), "assessment": {"enabled": False}}
        ),
        encoding="utf-8",
    )
    procs: list[subprocess.Popen[bytes]] = []
    api_ports = [free_port() for _ in range(workers)]
    log = (run_dir / "log").open("ab")
    try:
        for n, api_port in enumerate(api_ports, 1):
            client_id, filters = worker_session(plant_file, n)
            asyncio.run(prime_session(port, client_id, filters, SESSION_S))
            procs.append(
                subprocess.Popen(
                    [*SMARTFAB, "serve", "--config", str(config), "--port", str(api_port)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    # A folder each: a worker's local files (the API's security database)
                    env={
                        **os.environ,
                        "SMARTFAB_WORKER": str(n),
                        "SMARTFAB_DATA_DIR": str(run_dir / f"data-{n}"),
                    },
                )
            )
        # A worker serves its API once its ingestion has started: then it is up, and what is
        # timed afterwards is ingestion, not a worker's start-up (imports take seconds).
        deadline = time.monotonic() + 120
        while not all(_listening(p) for p in api_ports):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SmartfabError(f"the workers did not start; see {run_dir / 'log'}")
            time.sleep(0.2)
        yield Serving(store_url, enterprise, run_dir, log, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def wait_stored(store_url: str, expected: int, timeout_s: float, poll_s: float = 0.1) -> int:
    """Wait until ``expected`` points are stored or ``timeout_s`` passed; the points stored."""
    deadline = time.monotonic() + timeout_s
    stored = 0
    while stored < expected and time.monotonic() < deadline:
        time.sleep(poll_s)
        stored = _count(store_url)
    return stored


def _run(
    workers: int, port: int, url: str, folder: Path, start_us: int, until_us: int,
    expected: int, timeout_s: float,
) -> float:  # fmt: skip
    """Seconds from the agent's start until ``expected`` points are stored."""
    with serving(workers, port, url, folder) as s:
        edge = subprocess.Popen(
            [*SMARTFAB, "edge", "run", "-b", f"{HOST}:{port}", "--buffer", str(s.run_dir / "edge"),
             "--virtual", "--seed", "7", "--start", _iso(start_us), "--until", _iso(until_us),
             "--speed", "1e9", "--exit-when-done", "--drain-s", str(timeout_s),
             "--enterprise", s.enterprise, "--client-id", f"edge-{s.enterprise}"],
            stdout=s.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        s.procs.append(edge)
        started = time.perf_counter()
        stored = wait_stored(s.store_url, expected, timeout_s)
        elapsed = time.perf_counter() - started
        if stored < expected:
            raise SmartfabError(f"{workers} worker(s): {stored} of {expected} in {timeout_s} s")
        return elapsed


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat()


def bench_edge(url: str, minutes: float = 30, timeout_s: float = 300) -> dict[str, Any]:
    """Figures of one run: ``minutes`` of the demo plant (about 12,800 points a minute), stored
    end to end with 1 and with 2 workers."""
    plant = load_plant(DEMO_PLANT)
    start = (now_us() // 1_000_000 - 7200) * 1_000_000  # the past: never 'future' points
    until = start + int(minutes * 60e6)
    points, _ = VirtualFactory(plant, edge_signal_ids(plant), seed=7, start_us=start).advance(until)
    expected = len(points)
    figures: dict[str, Any] = {"points": expected, "signals": len(edge_signal_ids(plant))}
    with private_mosquitto() as port, tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            s = _run(workers, port, url, Path(tmp), start, until, expected, timeout_s)
            key = f"e2e_points_per_s_{workers}_worker{'s' if workers > 1 else ''}"
            figures[key] = round(expected / s)
    figures["cpu_count"] = os.cpu_count() or 0
    return figures
