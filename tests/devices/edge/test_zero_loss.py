"""Fault tests of the server deployment, with real services and real processes: the edge agent
(`smartfab edge run --virtual`) publishes the virtual factory through a private Mosquitto to
ingestion workers (`smartfab serve --config`) that store into a private PostgreSQL. Mid-stream the
broker or the database is stopped and started again, or the agent or a worker is killed with
SIGKILL and started again. Afterwards the store must hold exactly the points the virtual factory
produces for the seed and time range: none missing, none extra (the primary key (signal, ts)
makes "stored twice" impossible to hide as a second row, so equal sets mean exactly once).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import pytest

from smartfab.bench.edge import prime_session, worker_session
from smartfab.config import DEMO_PLANT
from smartfab.devices.edge.agent import edge_signal_ids, server_plant
from smartfab.model.loader import load_plant
from smartfab.model.plant import Plant
from smartfab.platform.points import now_us
from smartfab.virtual.factory import VirtualFactory
from tests.devices.edge.services import (
    Edge,
    Mosquitto,
    Postgres,
    Worker,
    mosquitto,
    postgres,
    write_yaml,
)

pytestmark = pytest.mark.services

SEED = 7
SIM_S = 240  # simulated seconds: about 51,000 points of the demo plant
SPEED = 24.0  # simulated seconds per second: 10 s of streaming, the fault in the middle
OUTAGE_S = 4.0
SESSION_S = 600

Rows = dict[tuple[str, int], float]


@pytest.fixture(scope="module")
def plant() -> Plant:
    return load_plant(DEMO_PLANT)


@pytest.fixture(scope="module")
def database_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    with postgres(tmp_path_factory.mktemp("pg")) as server:
        yield server


@pytest.fixture(scope="module")
def expected(plant: Plant) -> tuple[int, int, Rows]:
    """The time range and what the virtual factory produces in it for SEED."""
    start = (now_us() // 1_000_000 - 3600) * 1_000_000  # an hour ago: never 'future' data
    until = start + SIM_S * 1_000_000
    ids = edge_signal_ids(plant)
    paths = {i: p for p, i in ids.items()}
    points, _ = VirtualFactory(plant, ids, seed=SEED, start_us=start).advance(until)
    rows = {
        (paths[s], t): v
        for s, t, v in zip(
            points.signal_id.tolist(), points.ts.tolist(), points.value.tolist(), strict=True
        )
    }
    return start, until, rows


@dataclass
class Rig:
    tmp: Path
    plant: Plant
    broker: Mosquitto
    pg: Postgres
    url: str
    start_us: int
    until_us: int
    enterprise: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}")
    workers: list[Worker] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def __post_init__(self) -> None:
        data = server_plant(
            self.plant, host="127.0.0.1", port=self.broker.port, enterprise=self.enterprise,
            shared_group="ingest", client_id="ingest-${SMARTFAB_WORKER}",
            session_expiry_s=SESSION_S,
        )  # fmt: skip
        self.plant_file = write_yaml(self.tmp / "server-plant.yaml", data)
        self.config = write_yaml(
            self.tmp / "server.yaml",
            {"store_url": self.url, "plant": str(self.plant_file)},
        )  # fmt: skip

    def worker(self, number: int) -> Worker:
        # The session first (what the first start of a worker leaves at the broker), with the
        # client id and subscriptions the worker's connector will use.
        client_id, filters = worker_session(self.plant_file, number)
        asyncio.run(prime_session(self.broker.port, client_id, filters, SESSION_S))
        w = Worker(self.config, number, self.tmp / f"worker-{number}.log")
        self.workers.append(w)
        w.start()
        return w

    def edge(self) -> Edge:
        iso = lambda us: datetime.fromtimestamp(us / 1e6, UTC).isoformat()  # noqa: E731
        e = Edge(
            ["-b", f"127.0.0.1:{self.broker.port}", "--buffer", str(self.tmp / "edge"),
             "--plant", str(DEMO_PLANT), "--virtual", "--seed", str(SEED),
             "--start", iso(self.start_us), "--until", iso(self.until_us),
             "--speed", str(SPEED), "--exit-when-done", "--drain-s", "120",
             "--client-id", f"edge-{self.enterprise}", "--enterprise", self.enterprise],
            self.tmp / "edge.log",
        )  # fmt: skip
        self.edges.append(e)
        e.start()
        return e

    def count(self) -> int:
        try:
            with psycopg.connect(self.url, connect_timeout=2) as conn:
                row = conn.execute("SELECT coalesce(sum(n), 0) FROM point_chunks").fetchone()
        except psycopg.Error:
            return -1  # the database is down, or the worker has not made the tables yet
        return int(row[0]) if row else 0

    def stored(self) -> Rows:
        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                "SELECT s.path, (extract(epoch FROM u.ts) * 1000000)::bigint, u.value "
                "FROM point_chunks c JOIN signals s ON s.id = c.signal_id "
                "CROSS JOIN LATERAL unnest(c.ts, c.value) AS u(ts, value)"
            ).fetchall()
        return {(path, int(ts)): float(v) for path, ts, v in rows}

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.tmp.glob("*.log")
        )

    def close(self) -> None:
        for e in self.edges:
            e.stop()
        for w in self.workers:
            w.stop()


@pytest.fixture
def rig(
    tmp_path: Path, plant: Plant, database_server: Postgres, expected: tuple[int, int, Rows]
) -> Iterator[Rig]:
    database_server.start() if not _up(database_server) else None
    url = database_server.create_database(f"t{uuid.uuid4().hex[:12]}")
    start, until, _ = expected
    with mosquitto(tmp_path / "broker") as broker:
        r = Rig(tmp_path, plant, broker, database_server, url, start, until)
        try:
            yield r
        finally:
            r.close()


def _up(server: Postgres) -> bool:
    try:
        psycopg.connect(server.url(), connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


def _run(rig: Rig, expected: Rows, fault: Callable[[Rig], None], workers: int = 1) -> None:
    for n in range(1, workers + 1):
        rig.worker(n)
    for w in rig.workers:
        w.wait_ready()
    rig.edge()
    # Mid-stream: once data flows end to end (process start-up takes a variable while).
    deadline = time.monotonic() + 60
    while rig.count() < len(expected) // 10 and time.monotonic() < deadline:
        time.sleep(0.2)
    before = rig.count()
    fault(rig)
    assert 0 < before < len(expected) // 2, f"the fault came at {before} points stored"
    for e in rig.edges[-1:]:
        assert e.wait(180) == 0, rig.logs()
    deadline = time.monotonic() + 60
    while rig.count() < len(expected) and time.monotonic() < deadline:
        time.sleep(0.5)
    for w in rig.workers:
        w.stop()
    stored = rig.stored()
    missing = expected.keys() - stored.keys()
    extra = stored.keys() - expected.keys()
    assert not missing and not extra, (
        f"{len(missing)} missing (e.g. {sorted(missing)[:3]}), {len(extra)} extra\n{rig.logs()}"
    )
    keys = sorted(expected)
    assert np.array_equal(
        np.array([expected[k] for k in keys]), np.array([stored[k] for k in keys]), equal_nan=True
    )


def test_broker_restart_mid_stream(rig: Rig, expected: tuple[int, int, Rows]) -> None:
    def fault(r: Rig) -> None:
        r.broker.stop()
        time.sleep(OUTAGE_S)
        r.broker.start()

    _run(rig, expected[2], fault)


def test_worker_killed_mid_stream(rig: Rig, expected: tuple[int, int, Rows]) -> None:
    def fault(r: Rig) -> None:
        r.workers[0].kill()  # between receiving and storing: those messages were not acked
        time.sleep(1)
        r.workers[0].start()  # the same client id: the broker's kept session resumes

    _run(rig, expected[2], fault)


def test_edge_killed_mid_stream(rig: Rig, expected: tuple[int, int, Rows]) -> None:
    def fault(r: Rig) -> None:
        r.edges[0].kill()
        time.sleep(1)
        r.edge()  # the same buffer: the backlog, then the source from its kept position

    _run(rig, expected[2], fault)


def test_database_restart_mid_stream(rig: Rig, expected: tuple[int, int, Rows]) -> None:
    def fault(r: Rig) -> None:
        r.pg.stop()
        time.sleep(OUTAGE_S)
        r.pg.start()

    _run(rig, expected[2], fault, workers=2)
