"""End-to-end benchmark of the server deployment's ingestion: points/s from an MQTT publisher
through a private Mosquitto and 1 or 2 ingestion workers (`smartfab serve`, shared subscription,
acknowledging a message only once stored) into PostgreSQL, against the raw limit of the layer
beneath in the same run: binary COPY of the same rows into a plain table of the same columns, and
``PostgresStore.append_points`` of them.

The publisher sends pre-encoded messages as fast as the broker takes them (QoS 1, many in flight):
the demo plant's history from the virtual factory, as the edge agent encodes it (UNS JSON, an array
of records per equipment and ``window_s`` seconds, a few hundred points a message), so that what is
measured is the broker, the workers and the store, not the factory or the encoder. Timed from the
first publish until the last point is in ``points`` (polled every ``poll_s``, so at most that much
late). CPU seconds per party come from psutil over the timed span: the publisher, the broker, the
workers, and the PostgreSQL backends serving the workers (the whole server too, which includes
whatever else runs on it); peak memory is each process' high-water mark (VmHWM).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psutil
import psycopg
from psycopg import sql

from smartfab.bench.edge import serving
from smartfab.bench.monitoring import bench_monitoring
from smartfab.bench.mqtt import private_mosquitto, publish_qos1
from smartfab.bench.postgres import RAW_TABLES, SECOND, rate, raw_copier
from smartfab.config import DEMO_PLANT
from smartfab.devices.edge.agent import UnsEncoder, edge_signal_ids
from smartfab.errors import SmartfabError
from smartfab.model.loader import load_plant
from smartfab.platform.points import PointBatch, now_us
from smartfab.platform.store.base import SignalInfo
from smartfab.platform.store.postgres import PostgresStore
from smartfab.virtual.factory import VirtualFactory

COPY_BATCH = 20_000  # points per COPY transaction of the raw runs, as `smartfab bench postgres`


def plant_messages(points: int, window_s: int) -> tuple[list[tuple[str, bytes]], PointBatch, int]:
    """About ``points`` points of the demo plant's virtual factory, ending an hour ago (never
    'future' points), encoded as the edge agent does; (messages, the points, the span's start).
    The enterprise in the topics is a placeholder ``{enterprise}`` replaced per run."""
    plant = load_plant(DEMO_PLANT)
    ids = edge_signal_ids(plant)
    rate = 12_800 / 60  # the demo plant's points per simulated second, about
    span_us = max(window_s, int(points / rate)) * SECOND
    start = (now_us() // SECOND - 3600) * SECOND - span_us
    batch, _ = VirtualFactory(plant, ids, seed=7, start_us=start).advance(start + span_us)
    encoder = UnsEncoder(plant, ids, "ENTERPRISE")
    window = (batch.ts - start) // (window_s * SECOND)
    order = np.argsort(window, kind="stable")
    cuts = np.flatnonzero(np.diff(window[order])) + 1
    messages: list[tuple[str, bytes]] = []
    for part in np.split(order, cuts):
        messages.extend(encoder.encode(batch.take(part)))
    return messages, batch, start


def _publish(port: int, messages: list[tuple[str, bytes]], go: Any, usage: Any) -> None:
    """:func:`publish_qos1` of ``messages`` once ``go`` is set; report this process' CPU seconds
    from ``go`` on and its peak memory in ``usage`` (it has exited by the time the parent reads
    its figures)."""

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    class Go:  # notes the CPU time at the start
        def wait(self) -> None:
            go.wait()
            usage[0] = cpu()

    publish_qos1(port, messages, Go())
    usage[1] = cpu() - usage[0]
    usage[2] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu(procs: Iterable[psutil.Process]) -> dict[int, float]:
    out = {}
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        out[p.pid] = t.user + t.system
    return out


def _peak_mb(pid: int) -> float:
    """The process' peak resident memory (VmHWM) in MiB; 0 when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def _backends(url: str, workers: list[psutil.Process]) -> list[psutil.Process]:
    """The PostgreSQL backends serving ``workers``' connections (matched by client port)."""
    ports = []
    for w in workers:
        try:
            conns = w.net_connections(kind="tcp")
        except psutil.Error:
            continue
        ports += [c.laddr.port for c in conns if c.raddr and c.raddr.port == 5432]
    if not ports:
        return []
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)", (ports,)
        ).fetchall()
    return [psutil.Process(r[0]) for r in rows if psutil.pid_exists(r[0])]


def _postgres_all() -> list[psutil.Process]:
    names = ("postgres", "postmaster")
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] in names]


def _mosquitto() -> psutil.Process:
    children = [p for p in psutil.Process().children() if p.name() == "mosquitto"]
    if len(children) != 1:
        raise SmartfabError("cannot find the benchmark's own mosquitto")
    return children[0]


def _wait_stored(
    store_url: str, batch: PointBatch, timeout_s: float, poll_s: float, full_every_s: float = 2.0
) -> int:
    """Wait until every point of ``batch`` is stored or ``timeout_s`` passed; the points stored.

    ``count(*)`` of a table of millions of rows every ``poll_s`` would be a load of its own on the
    server being measured; the ``latest`` table (one row per signal) says cheaply when the
    signals of the last sample time are in, and only then (or every ``full_every_s``) is
    ``points`` counted."""
    expected = len(batch)
    last_us = int(batch.ts.max())
    last = datetime.fromtimestamp(last_us / 1e6, UTC).replace(microsecond=last_us % 1_000_000)
    at_last = len(np.unique(batch.signal_id[batch.ts == last_us]))
    deadline = time.monotonic() + timeout_s
    counted = time.monotonic()
    stored = 0
    with psycopg.connect(store_url, autocommit=True) as conn:
        while stored < expected and time.monotonic() < deadline:
            time.sleep(poll_s)
            row = conn.execute("SELECT count(*) FROM latest WHERE ts >= %s", (last,)).fetchone()
            if (row and row[0] >= at_last) or time.monotonic() - counted >= full_every_s:
                counted = time.monotonic()
                row = conn.execute("SELECT coalesce(sum(n), 0) FROM point_chunks").fetchone()
                stored = int(row[0]) if row else 0
    return stored


def _e2e(
    workers: int, port: int, url: str, folder: Path, messages: list[tuple[str, bytes]],
    batch: PointBatch, timeout_s: float, poll_s: float,
) -> dict[str, Any]:  # fmt: skip
    """One end-to-end run with ``workers`` workers: points/s, CPU seconds and peak memory."""
    expected = len(batch)
    ctx = mp.get_context("fork")  # the messages go to the publisher without pickling
    with serving(workers, port, url, folder) as s:
        mine = [(t.replace("ENTERPRISE", s.enterprise), p) for t, p in messages]
        go, usage = ctx.Event(), ctx.Array("d", 3)
        publisher = ctx.Process(target=_publish, args=(port, mine, go, usage), daemon=True)
        publisher.start()
        try:
            worker_ps = [psutil.Process(p.pid) for p in s.procs]
            # The workers' processes and their children (none today; cheap to include).
            worker_ps += [c for w in worker_ps for c in w.children(recursive=True)]
            parties = {
                "broker": [_mosquitto()],
                "workers": worker_ps,
            }
            time.sleep(1)  # the publisher connected
            before = {k: _cpu(v) for k, v in parties.items()}
            pg_before = _cpu(_postgres_all())
            go.set()
            started = time.perf_counter()
            stored = _wait_stored(s.store_url, batch, timeout_s, poll_s)
            elapsed = time.perf_counter() - started
            if stored < expected:
                raise SmartfabError(f"{workers} worker(s): {stored} of {expected} in {timeout_s} s")
            backends = _backends(url, worker_ps)
            parties["postgres_backends"] = backends
            parties["postgres_all"] = _postgres_all()
            before["postgres_backends"] = before["postgres_all"] = pg_before
            cpu = {}
            for k, procs in parties.items():
                after = _cpu(procs)
                cpu[k] = round(sum(v - before[k].get(pid, 0.0) for pid, v in after.items()), 2)
            peak = {
                k: round(sum(_peak_mb(p.pid) for p in procs), 1)
                for k, procs in parties.items()
                if k != "postgres_all"
            }
        finally:
            publisher.join(30)
            if publisher.is_alive():
                publisher.kill()
    cpu["publisher"] = round(usage[1], 2)
    peak["publisher"] = round(usage[2], 1)
    return {
        "seconds": round(elapsed, 2),
        "points_per_s": round(expected / elapsed),
        "cpu_s": cpu,
        "cpu_cores": {k: round(v / elapsed, 2) for k, v in cpu.items()},
        "peak_rss_mb": peak,
    }


def _raw(url: str, batch: PointBatch, repeat: int) -> dict[str, float]:
    """Raw binary COPY of ``batch`` into a plain table of the ``points`` columns (no index), and
    ``PostgresStore.append_points`` of it, in batches of :data:`COPY_BATCH`; medians of ``repeat``
    alternating runs, each into fresh tables."""
    n = len(batch)
    cuts = list(range(0, n, COPY_BATCH))
    copies: list[float] = []
    copies_pk: list[float] = []
    appends: list[float] = []
    for _ in range(repeat):
        schema = f"smartfab_bench_{uuid.uuid4().hex[:10]}"
        store = PostgresStore(url, schema)
        try:
            sids = np.unique(batch.signal_id)
            infos = [SignalInfo(f"bench/raw/s{int(i)}", "bench/raw", f"s{int(i)}", "1", "float")
                     for i in sids]  # fmt: skip
            paths = store.register_signals(infos)
            remap = np.zeros(int(sids.max()) + 1, np.int32)
            remap[sids] = [paths[i.path] for i in infos]
            mine = PointBatch(batch.ts, remap[batch.signal_id], batch.value, batch.quality)
            parts = [mine.take(np.arange(c, min(c + COPY_BATCH, n))) for c in cuts]
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
                raw_copy = raw_copier(conn)
                for table, rates in zip(RAW_TABLES, (copies, copies_pk), strict=True):
                    rates.append(rate(parts, raw_copy(table)))
            appends.append(rate(parts, store.append_points))
        finally:
            store.close()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
    return {
        "raw_copy": float(np.median(copies)),
        "raw_copy_pk": float(np.median(copies_pk)),
        "store_append": float(np.median(appends)),
    }


def _trend(url: str, days: float, runs: int) -> dict[str, Any]:
    """`smartfab bench monitoring`'s fill and queries on a PostgreSQL database of its own on the
    server at ``url``, created and dropped here."""
    name = f"smartfab_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        return bench_monitoring(urlunsplit(urlsplit(url)._replace(path=f"/{name}")), days, runs)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))  # fmt: skip


def bench_server(
    url: str,
    points: int = 3_000_000,
    window_s: int = 30,
    repeat: int = 3,
    timeout_s: float = 600,
    poll_s: float = 0.1,
    trend_days: float | None = 365,
    trend_runs: int = 40,
) -> dict[str, Any]:
    """Figures of one run: about ``points`` points end to end with 1 and with 2 workers, and the
    raw COPY and store-append rates of the same rows; with ``trend_days``, the monitoring
    benchmark's queries on PostgreSQL filled with that many days (365: about 155 million
    points, several minutes of filling)."""
    messages, batch, _ = plant_messages(points, window_s)
    expected = len(batch)
    sizes = [len(p) for _, p in messages]
    figures: dict[str, Any] = {
        "points": expected,
        "messages": len(messages),
        "points_per_message": round(expected / len(messages)),
        "message_bytes": round(sum(sizes) / len(sizes)),
        "payload": "UNS JSON arrays (edge agent encoding), QoS 1",
    }
    runs = {}
    with private_mosquitto() as port, tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            run = _e2e(workers, port, url, Path(tmp), messages, batch, timeout_s, poll_s)
            runs[f"{workers}_worker{'s' if workers > 1 else ''}"] = run
            figures[f"e2e_points_per_s_{workers}_worker{'s' if workers > 1 else ''}"] = run[
                "points_per_s"
            ]
    raw = _raw(url, batch, repeat)
    best = max(figures["e2e_points_per_s_1_worker"], figures["e2e_points_per_s_2_workers"])
    figures.update(
        raw_copy_points_per_s=round(raw["raw_copy"]),
        raw_copy_pk_points_per_s=round(raw["raw_copy_pk"]),
        store_append_points_per_s=round(raw["store_append"]),
        e2e_to_copy_ratio=round(best / raw["raw_copy"], 3),
        e2e_to_copy_pk_ratio=round(best / raw["raw_copy_pk"], 3),
        e2e_to_store_append_ratio=round(best / raw["store_append"], 3),
        target_150k_met=best >= 150_000,
        target_half_copy_met=best >= 0.5 * raw["raw_copy"],
        runs=runs,
        cpu_count=os.cpu_count() or 0,
        load_average=[round(x, 2) for x in os.getloadavg()],
    )
    figures["trend_run"] = trend_days is not None
    if trend_days is not None:
        trend = _trend(url, trend_days, trend_runs)
        figures["trend"] = trend
        figures.update(
            {k if k.startswith("trend_") else f"trend_{k}": v
             for k, v in trend.items() if k.endswith("_ms")}
        )  # fmt: skip
        figures["trend_points_in_store"] = trend["points_in_store"]
    return figures
