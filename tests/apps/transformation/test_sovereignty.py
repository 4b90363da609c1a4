"""smartfab's bill of materials, where each part of the stack runs, and a running demo checked for
connections beyond this machine (with a control that the check sees one when there is one)."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from importlib import metadata
from pathlib import Path

import psutil
import pytest

from smartfab.apps.transformation.sovereignty import outbound, packages, sbom_json, stack
from smartfab.model.plant import Plant
from smartfab.platform.security import Security
from tests.conftest import demo_plant_on_free_ports, free_port


def test_the_sbom_is_cyclonedx_with_every_dependency_and_its_licence() -> None:
    bom = json.loads(sbom_json())
    assert (bom["bomFormat"], bom["specVersion"]) == ("CycloneDX", "1.5")
    assert bom["metadata"]["component"]["name"] == "smartfab"
    names = {c["name"].lower(): c for c in bom["components"]}
    for req in metadata.distribution("smartfab").requires or []:
        if "extra ==" not in req:
            name = re.split(r"[\s<>=!~;\[(,]", req, maxsplit=1)[0].lower().replace("_", "-")
            assert name in {n.replace("_", "-") for n in names}, name
    assert names["fastapi"]["licenses"] == [{"license": {"id": "MIT"}}]
    assert names["fastapi"]["purl"].startswith("pkg:pypi/fastapi@")
    # Every package declares a licence in its installed metadata.
    assert all(p.licence for p in packages()), [p.name for p in packages() if not p.licence]


def test_the_stack_tells_on_premises_from_external(demo_plant: Plant) -> None:
    services = stack(demo_plant, [
        ("alarm webhook", "https://hooks.example.com/x"), ("alarm mail", "mail.plant.local"),
        ("store", "postgresql://u@10.1.2.3:5432/db"), ("mail relay", "smtp"),
    ])  # fmt: skip
    where = {s.what: s.where for s in services}
    assert where["alarm webhook"] == "external"
    assert where["store"] == where["mail relay"] == where["smartfab"] == "on_premises"
    assert where["opcua opcua-factory"] == "on_premises"  # the demo's devices are local
    assert where["Kingdee K/3 Cloud"] == "external"  # the plant file says: cloud
    assert {s.origin for s in services if s.what == "SolidWorks"} == {"FR"}


def _local_address() -> str | None:
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                return str(a.address)
    return None


def test_the_check_sees_a_connection_to_another_address() -> None:
    address = _local_address()
    if address is None:
        pytest.skip("no network interface besides loopback")
    with socket.socket() as server:
        server.bind((address, 0))
        server.listen()
        port = server.getsockname()[1]
        client = subprocess.Popen([sys.executable, "-c", (
            "import socket, sys; s = socket.create_connection((sys.argv[1], int(sys.argv[2])));"
            " print('up', flush=True); sys.stdin.read()"), address, str(port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert client.stdout is not None and client.stdout.readline() == "up\n"
            found = outbound(client.pid)
            assert [(c["remote"], c["port"], c["internet"]) for c in found] == [
                (address, port, False)]  # fmt: skip
        finally:
            client.kill()
            client.wait()


def test_a_running_demo_connects_to_nothing_beyond_this_machine(tmp_path: Path) -> None:
    plant = demo_plant_on_free_ports(tmp_path)
    port = free_port()
    with Security(tmp_path / "data" / "security.sqlite") as sec:
        _, secret = sec.tokens.create("test", "test", "viewer")
    demo = subprocess.Popen(
        [sys.executable, "-m", "smartfab", "demo", "--days", "0.02", "--plant", str(plant),
         "--data-dir", str(tmp_path / "data"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={"COLUMNS": "200"},
    )  # fmt: skip
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/connectors", headers={"Authorization": f"Bearer {secret}"}
        )
        connectors: list[dict[str, object]] = []
        for _ in range(600):  # until every connector has delivered data (at most about 5 min)
            try:
                with urllib.request.urlopen(request, timeout=5) as r:
                    connectors = json.load(r)
                if connectors and all(int(str(c["points"])) > 50 for c in connectors):
                    break
            except OSError:
                pass
            assert demo.poll() is None, demo.communicate()
            time.sleep(0.5)
        assert {c["state"] for c in connectors} == {"connected"}, connectors
        # The server, its virtual factory and its connectors: every connection is local.
        assert psutil.Process(demo.pid).children(recursive=True)
        assert outbound(demo.pid) == []
    finally:
        demo.send_signal(signal.SIGINT)
        demo.communicate(timeout=60)
