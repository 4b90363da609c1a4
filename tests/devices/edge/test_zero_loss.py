"""Fault tests of the server deployment, with real services and real processes: the edge agent
(`smartfab edge run --virtual`) publishes the virtual factory through a private Mosquitto to
ingestion workers (`smartfab serve --config`) that store into a private PostgreSQL. Mid-stream the
broker or the database is stopped and started again, or the agent or a worker is killed with
SIGKILL and started again. Afterwards the store must hold exactly the points the virtual factory
produces for the seed and time range, of every kind (numbers, and the texts and arrays of the demo
plant's product codes, material lots and vibration spectra): none missing, none extra (the
primary key (signal, ts) makes "stored twice" impossible to hide as a second row, so equal sets
mean exactly once).
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
from smartfab.model.plant import Plant, value_kind
from smartfab.platform.points import AnyPoints, now_us
from smartfab.platform.store.base import KINDS, StoreError
from smartfab.platform.store.postgres.store import PostgresStore
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
SIM_S = 240  # simulated seconds: about 51,000 points of the demo plant, 1,224 of them texts
# and arrays
SPEED = 24.0  # simulated seconds per second: 10 s of streaming, the fault in the middle
OUTAGE_S = 4.0
SESSION_S = 600

DAY_US = 86_400_000_000
Value = float | str | tuple[float, ...]  # a number, a text or an array
Rows = dict[tuple[str, int], Value]  # (signal path, ts) -> value


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
    done = VirtualFactory(plant, ids, seed=SEED, start_us=start).advance_all(until)
    arrays = done.arrays
    kinds: list[tuple[AnyPoints, list[Value]]] = [
        (done.points, done.points.value.tolist()),
        (done.texts, done.texts.text.tolist()),
        (arrays, [tuple(arrays.row(i).tolist()) for i in range(len(arrays))]),
    ]
    rows: Rows = {}
    for batch, values in kinds:
        keys = zip(batch.signal_id.tolist(), batch.ts.tolist(), strict=True)
        rows.update({(paths[s], t): v for (s, t), v in zip(keys, values, strict=True)})
    # What this test is about beyond numbers: texts and arrays go through the fault as well.
    assert len(done.texts) and len(arrays), "the demo plant has no string or array signal"
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
    _store: PostgresStore | None = None

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
        def iso(us: int) -> str:
            return datetime.fromtimestamp(us / 1e6, UTC).isoformat()

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

    def store(self) -> PostgresStore:
        """The workers' store, read as the platform reads it; opened once a worker has made its
        tables (the test's reads reconnect after a database restart)."""
        if self._store is None:
            self._store = PostgresStore(self.url)
        return self._store

    def count(self) -> int:
        """Points of every kind stored; -1 while the database is down."""
        try:
            return self.store().count_points()
        except StoreError:
            return -1

    def stored(self) -> Rows:
        """Every stored point, of each kind: a day either side of the range, so that a point
        stored at a wrong time counts as extra."""
        store = self.store()
        rows: Rows = {}
        for kind in KINDS:
            paths = {s.id: s.path for s in store.signals() if value_kind(s.data_type) == kind}
            table = store.raw(
                list(paths), self.start_us - DAY_US, self.until_us + DAY_US, kind=kind
            )
            ts = table.column("ts").cast("int64").to_pylist()
            sid = table.column("signal_id").to_pylist()
            values = table.column("value").to_pylist()
            if kind == "array":
                values = [tuple(v) for v in values]
            rows.update({(paths[s], t): v for s, t, v in zip(sid, ts, values, strict=True)})
        return rows

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.tmp.glob("*.log")
        )

    def close(self) -> None:
        for e in self.edges:
            e.stop()
        for w in self.workers:
            w.stop()
        if self._store is not None:
            self._store.close()


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
    differ = [k for k in sorted(expected) if not _same(expected[k], stored[k])]
    assert not differ, (
        f"{len(differ)} values differ, e.g. {differ[0]}: {expected[differ[0]]!r} stored as "
        f"{stored[differ[0]]!r}"
    )


def _same(a: Value, b: Value) -> bool:
    """Equal values: texts as texts, numbers and arrays element by element (NaN equal to NaN:
    a BAD point's)."""
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return np.array_equal(np.asarray(a, np.float64), np.asarray(b, np.float64), equal_nan=True)


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
