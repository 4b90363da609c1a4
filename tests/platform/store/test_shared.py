"""A DuckDB store held by a running smartfab is still readable from other processes: reports,
exports and notebooks go through the holder; what cannot work says what to do."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import smartfab
from smartfab.platform.points import EventBatch, PointBatch
from smartfab.platform.store.base import SignalInfo, StoreError
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.platform.store.shared import SharedStore, announcement
from tests.conftest import FILLED_END_US, FILLED_START_US, demo_plant_on_free_ports, free_port
from tests.platform.store.points import EQ, array_info, arrays, pts, text_info, texts

SIGNAL = "shenyang/machining/cnc-line-1/cell-1/cnc-01/spindle_power"
CNC = "shenyang/machining/cnc-line-1/cell-1/cnc-01"
ENV = {"COLUMNS": "200"}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartfab", *args],
        capture_output=True, text=True, timeout=300, env=ENV,
    )  # fmt: skip


@pytest.fixture
def served(tmp_path: Path, filled_store: Path) -> Iterator[tuple[Path, Path, int]]:
    """(data folder, plant file, pid) of a real `smartfab serve` holding a copy of the filled
    store (its connectors point at ports where no device listens: no data is added)."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(filled_store, data / "smartfab.duckdb")
    plant = demo_plant_on_free_ports(tmp_path)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "smartfab", "serve", "--data-dir", str(data), "--plant",
         str(plant), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "the server did not start"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2)
            except urllib.error.HTTPError:  # 401: it answers
                break
            except OSError:
                time.sleep(0.3)
        yield data, plant, server.pid
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)


def test_reports_exports_and_notebooks_read_the_store_a_server_holds(
    tmp_path: Path, served: tuple[Path, Path, int], filled_store: Path
) -> None:
    data, plant, pid = served
    with DuckDBStore(filled_store) as own:
        cnc = own.state_durations(CNC, FILLED_START_US, FILLED_END_US)
        faults = own.events(FILLED_START_US, FILLED_END_US, kinds=["fault"])
        sid = next(s.id for s in own.signals() if s.path == SIGNAL)
        points = own.count_points([sid], FILLED_START_US, FILLED_END_US)

    # The notebook API, in this process, while the server's process holds the file.
    with smartfab.connect(data) as notebook:
        assert isinstance(notebook.store, SharedStore) and notebook.store.pid == pid
        assert notebook.state_durations(CNC, FILLED_START_US / 1e6, FILLED_END_US / 1e6) == cnc
        events = notebook.events(FILLED_START_US / 1e6, FILLED_END_US / 1e6, kinds=["fault"],
                                 limit=None)  # fmt: skip
        assert len(faults) > 0 and events.drop_columns("value") == faults.drop_columns("value")
        assert np.array_equal(events["value"], faults["value"], equal_nan=True)  # NaN: no value
        history = notebook.history(SIGNAL, FILLED_START_US / 1e6, FILLED_END_US / 1e6, 60)
        assert sum(history.column("count").to_pylist()) == points
        assert notebook.raw([SIGNAL], FILLED_START_US / 1e6, FILLED_END_US / 1e6).num_rows == points

    # The announcement holds a credential: for its owner's eyes only; without it, no answer,
    # and with it, reads only.
    held = announcement(data / "smartfab.duckdb")
    assert held.stat().st_mode & 0o777 == 0o600
    info = json.loads(held.read_text())
    with pytest.raises(StoreError, match="wrong token"):
        SharedStore(data, pid, info["socket"], "not-the-token").signals()
    with pytest.raises(StoreError, match="not a read"):
        SharedStore(data, pid, info["socket"], info["token"])._call("set_setting", "a", "b")

    report = _run("report", "shift", "--day", "2026-11-17", "--shift", "late", "--out",
                  str(tmp_path / "reports"), "-d", str(data), "--plant", str(plant))  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert sorted(p.suffix for p in (tmp_path / "reports").iterdir()) == [".pdf", ".xlsx"]

    out = tmp_path / "spindle.parquet"
    window = ("--start", "2026-11-17T06:00:00Z", "--end", "2026-11-17T12:00:00Z")
    export = _run("export", "-s", SIGNAL, "-o", str(out), *window, "-d", str(data))
    assert export.returncode == 0, export.stderr
    assert pq.read_table(out).num_rows == points

    # Writing needs the file alone: the refusal names the holder and what to do.
    write = _run("simulate", "--days", "0.01", "-d", str(data), "--plant", str(plant))
    assert write.returncode == 1
    assert f"held by process {pid}" in write.stderr and "stop that process" in write.stderr


def test_a_store_held_by_a_process_that_does_not_share_it_says_what_to_do(
    tmp_path: Path, filled_store: Path
) -> None:
    db = tmp_path / "smartfab.duckdb"
    shutil.copy(filled_store, db)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; held = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); time.sleep(120)", str(db)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(StoreError) as caught:
            smartfab.connect(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    message = str(caught.value)
    assert f"in use by process {holder.pid}" in message and "Stop it" in message


def test_texts_and_arrays_are_read_through_the_holder(tmp_path: Path) -> None:
    """The holder answers reads of every kind of value (the kind travels with the call)."""
    with DuckDBStore(tmp_path / "held.duckdb") as own:
        got = own.register_signals([text_info("lot"), array_info("profile", 2)])
        lot, pr = got.values()
        own.append(PointBatch.empty(), EventBatch.empty(), texts([0, 1], lot, ["Л-1", "批-2"]),
                   arrays(0, pr, [[1.5, 2.5]]))  # fmt: skip
        own.share()
        info = json.loads(announcement(own.path).read_text())
        other = SharedStore(own.path, info["pid"], info["socket"], info["token"])
        assert other.raw([lot], 0, 2**62, kind="text").equals(own.raw([lot], 0, 2**62, kind="text"))
        assert other.raw([lot], 0, 2**62, limit=1, kind="text").num_rows == 1
        assert other.latest(kind="array").column("value").to_pylist() == [[1.5, 2.5]]
        assert other.latest([lot], kind="text").column("value").to_pylist() == ["批-2"]
        assert other.earliest([lot], kind="text").column("value").to_pylist() == ["Л-1"]
        assert other.count_points() == 3
        assert [s.length for s in other.signals()] == [None, 2]
        with pytest.raises(StoreError, match="not storing data"):
            other.append_points(texts(5, lot, "x"))
        hour = 3_600_000_000
        assert other.last_values([lot], 0, 2**62, hour, kind="text").equals(
            own.last_values([lot], 0, 2**62, hour, kind="text")
        )
        energy = SignalInfo(f"{EQ}/energy", EQ, "energy", "kWh", "float", role="energy")
        meter = own.register_signals([energy])[energy.path]
        own.append_points(pts([0, 1, 2], meter, [1.0, 3.0, 0.5]))  # the third after a reset
        assert other.increases([meter], 0, 2**62, hour).column("increase").to_pylist() == [2.5]
