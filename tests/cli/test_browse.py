"""`smartfab browse` against the virtual factory's real OPC UA server."""

from __future__ import annotations

from pathlib import Path

from smartfab.model.loader import load_plant
from smartfab.virtual.runner import RunnerProcess
from tests.cli.test_main import smartfab
from tests.conftest import demo_plant_on_free_ports


def test_browse_lists_the_bound_nodes(tmp_path: Path) -> None:
    plant_file = demo_plant_on_free_ports(tmp_path)
    plant = load_plant(plant_file)
    with RunnerProcess(plant_file) as devices:
        endpoint = devices.endpoints["opcua"][0]
        r = smartfab("browse", endpoint)
    assert r.returncode == 0, r.stderr
    opcua = [ref for ref in plant.iter_signals() if ref.signal.source.opcua is not None]
    assert f"{len(opcua)} variables on {endpoint}" in r.stdout
    for ref in opcua[:5]:
        assert ref.signal.source.opcua is not None
        assert ref.signal.source.opcua.node in r.stdout
    # Each node's real type: an array with its length, an enumeration with its names.
    lines = r.stdout.splitlines()
    spectrum = next(line for line in lines if "cnc-01/vibration_spectrum" in line)
    assert "Double[32]" in spectrum
    mode = next(line for line in lines if "cnc-01/mode" in line)
    assert "modeEnum" in mode and "Int32 enumeration" in mode
    assert "String" in next(line for line in lines if "cnc-01/product_code" in line)
    assert "…" not in r.stdout  # node ids are folded, never cut


def test_browse_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    from tests.conftest import free_port

    r = smartfab("browse", f"opc.tcp://127.0.0.1:{free_port()}/", "--timeout", "2")
    assert r.returncode == 1
    assert len([line for line in r.stderr.splitlines() if line.strip()]) == 1
