"""`smartfab demo` end to end: backfill, virtual factory in its own process on real OPC UA and
Modbus, connectors, ingestion, API; Ctrl-C stores everything received."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from tests.conftest import demo_plant_on_free_ports, free_port

AUTH: dict[str, str] = {}


def _get(url: str, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, headers=AUTH if headers is None else headers)
    with urllib.request.urlopen(request, timeout=5) as r:
        return json.load(r)


def test_demo_runs_live_and_stops_cleanly(tmp_path: Path) -> None:
    plant = demo_plant_on_free_ports(tmp_path)
    port = free_port()
    # A script's token made beforehand; the users table stays empty, so the demo makes its admin.
    with Security(tmp_path / "data" / "security.sqlite") as sec:
        _, secret = sec.tokens.create("test", "test", "viewer")
    AUTH["Authorization"] = f"Bearer {secret}"
    demo = subprocess.Popen(
        [sys.executable, "-m", "smartfab", "demo", "--days", "0.02", "--plant", str(plant),
         "--data-dir", str(tmp_path / "data"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={"COLUMNS": "200"},
    )  # fmt: skip
    try:
        api = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 90
        connectors: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            try:
                connectors = _get(f"{api}/connectors")
                if connectors and all(c["points"] > 200 for c in connectors):
                    break
            except OSError:
                pass
            assert demo.poll() is None, demo.communicate()
            time.sleep(0.5)
        assert {c["state"] for c in connectors} == {"connected"}, connectors
        latest = _get(f"{api}/latest")
        newest = max(latest["columns"]["ts"])
        assert time.time() - datetime.fromisoformat(newest).timestamp() < 30
        try:
            _get(f"{api}/health", headers={})
            raise AssertionError("the API answered without credentials")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
    finally:
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=60)
    assert demo.returncode == 0, err
    # The admin's generated password, printed this once, logs in.
    password = re.search(r"created the user admin with the password (\S+)", out)
    assert password, out
    with Security(tmp_path / "data" / "security.sqlite") as sec:
        assert sec.users.authenticate("admin", password[1]).role == "admin"
    assert "simulating" in out and "API http://127.0.0.1" in out
    m = re.search(
        r"received ([\d,]+) points this run: stored ([\d,]+), already stored ([\d,]+), "
        r"rejected ([\d,]+)",
        out,
    )
    assert m, out
    received, stored, already, rejected = (int(g.replace(",", "")) for g in m.groups())
    assert received > 0 and received == stored + already + rejected
    backfilled = int(re.search(r"simulating.*?([\d,]+) points", out, re.S)[1].replace(",", ""))  # type: ignore[index]
    with DuckDBStore(tmp_path / "data" / "smartfab.duckdb") as store:
        assert store.count_points() == backfilled + stored


def test_demo_says_at_once_when_a_device_port_is_taken(tmp_path: Path) -> None:
    import socket

    import yaml

    plant = demo_plant_on_free_ports(tmp_path)
    modbus_port = next(
        c["port"] for c in yaml.safe_load(plant.read_text())["connections"]
        if c["protocol"] == "modbus"
    )  # fmt: skip
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", modbus_port))
        taken.listen()
        r = subprocess.run(
            [sys.executable, "-m", "smartfab", "demo", "--plant", str(plant),
             "--data-dir", str(tmp_path / "data"), "--port", str(free_port())],
            capture_output=True, text=True, timeout=60, env={"COLUMNS": "200"},
        )  # fmt: skip
    assert r.returncode == 1
    assert f"127.0.0.1:{modbus_port}" in r.stderr and "in use" in r.stderr
    assert "simulating" not in r.stdout  # before any backfill
