from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
from asyncua import ua
from asyncua.client.client import Client
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.ua.uaerrors import UaError
from pymodbus.client import AsyncModbusTcpClient

from smartfab.devices.modbus.registers import decode, decode_text, encode_one
from smartfab.devices.opcua.connector import OpcUaConnector
from smartfab.errors import SmartfabError
from smartfab.model.loader import load_plant
from smartfab.model.plant import Plant
from smartfab.platform.points import now_us
from smartfab.platform.security import Security
from smartfab.platform.setpoints import write_setpoint
from smartfab.runtime.demo import setpoints_written
from smartfab.virtual.factory import VirtualFactory
from smartfab.virtual.opcua.server import ServerSecurity
from smartfab.virtual.runner import RunnerProcess, VirtualDevices
from tests.conftest import free_port
from tests.devices.opcua.pki import make_pki
from tests.devices.sinks import running

PLANT = """
site:
  name: s
  areas:
  - name: a
    lines:
    - name: l
      cells:
      - name: c
        equipment:
        - name: cnc-1
          model: cnc
          ideal_cycle_s: 60
          signals:
          - {name: state, unit: "1", type: int, role: state, sim: state,
             source: {opcua: {connection: ua, node: "ns=2;s=s/a/l/c/cnc-1.state"}}}
          - {name: spindle_temp, unit: degC, sample_s: 0.5, sim: spindle_temp,
             source: {opcua: {connection: ua, node: "ns=2;s=s/a/l/c/cnc-1.spindle_temp"}}}
          - {name: good_count, unit: count, type: int, role: good_count, sim: good_count,
             source: {modbus: {connection: plc, register: 2, type: uint32}}}
          - {name: spindle_speed, unit: rpm, sample_s: 0.5, sim: spindle_speed,
             source: {modbus: {connection: plc, register: 8, type: float32}}}
          - {name: mode, unit: "1", type: enum, sim: mode,
             values: {0: "off", 1: automatic, 2: setup, 3: maintenance},
             source: {opcua: {connection: ua, node: "ns=2;s=s/a/l/c/cnc-1.mode"}}}
          - {name: product, unit: "1", type: string, sample_s: 5, sim: product_code,
             source: {opcua: {connection: ua, node: "ns=2;s=s/a/l/c/cnc-1.product"}}}
          - {name: spectrum, unit: mm/s, type: array, length: 8, sample_s: 5, sim: spectrum,
             source: {opcua: {connection: ua, node: "ns=2;s=s/a/l/c/cnc-1.spectrum"}}}
          - {name: lot, unit: "1", type: string, length: 16, sample_s: 5, sim: material_lot,
             source: {modbus: {connection: plc, register: 10}}}
          - {name: profile, unit: mm/s, type: array, length: 4, sample_s: 5, sim: spectrum,
             source: {modbus: {connection: plc, register: 20, type: float32}}}
connections:
- {name: ua, protocol: opcua, endpoint: "opc.tcp://127.0.0.1:4840/"}
- {name: plc, protocol: modbus, host: 127.0.0.1, port: 5020, unit: 3, holding_registers: 30}
"""

OPCUA = ["s/a/l/c/cnc-1/state", "s/a/l/c/cnc-1/spindle_temp", "s/a/l/c/cnc-1/mode",
         "s/a/l/c/cnc-1/product", "s/a/l/c/cnc-1/spectrum"]  # fmt: skip
MODBUS = ["s/a/l/c/cnc-1/good_count", "s/a/l/c/cnc-1/spindle_speed", "s/a/l/c/cnc-1/lot",
          "s/a/l/c/cnc-1/profile"]  # fmt: skip


@pytest.fixture
def plant_file(tmp_path: Path) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_text(PLANT, encoding="utf-8")
    return path


def expected_latest(plant_file: Path, start_us: int, until_us: int) -> dict[str, Any]:
    """What the factory says each signal last was (a number, a text or a list), computed
    independently of the runner."""
    plant = load_plant(plant_file)
    ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
    points, texts, arrays, _ = VirtualFactory(plant, ids, seed=5, start_us=start_us).advance_all(
        until_us
    )
    latest: dict[int, Any] = {}
    for i in np.argsort(points.ts, kind="stable").tolist():
        latest[int(points.signal_id[i])] = float(points.value[i])
    for i in np.argsort(texts.ts, kind="stable").tolist():
        latest[int(texts.signal_id[i])] = texts.text[i]
    for i in np.argsort(arrays.ts, kind="stable").tolist():
        latest[int(arrays.signal_id[i])] = arrays.row(i).tolist()
    return {path: latest[i] for path, i in ids.items()}


async def test_servers_hold_the_factorys_latest_values(plant_file: Path) -> None:
    devices = VirtualDevices(load_plant(plant_file), seed=5, opcua_port=0, modbus_port=0)
    start = now_us() - 9_000_000_000  # 2.5 h of history, replayed an hour at a time
    await devices.start(start)
    try:
        until = now_us()
        await devices.step(until)
        expected = expected_latest(plant_file, start, until)

        async with Client(devices.endpoints["opcua"][0]) as client:
            values = await client.read_values(
                [client.get_node(n) for n in devices.opcua[0].node_ids]
            )
        assert dict(zip(devices.opcua[0].paths, values, strict=True)) == {
            path: pytest.approx(expected[path]) for path in OPCUA
        }
        assert isinstance(expected[OPCUA[3]], str) and len(expected[OPCUA[4]]) == 8

        host, port = devices.endpoints["modbus"][0].split(":")
        modbus = AsyncModbusTcpClient(host, port=int(port), timeout=2, reconnect_delay=0)
        assert await modbus.connect()
        words = np.array((await modbus.read_holding_registers(0, count=28, device_id=3)).registers)
        modbus.close()
        assert decode(words[2:4], "uint32")[0] == expected[MODBUS[0]]
        assert decode(words[8:10], "float32")[0] == pytest.approx(expected[MODBUS[1]], rel=1e-6)
        assert decode_text(words[10:18].reshape(1, -1))[0] == expected[MODBUS[2]]
        assert decode(words[20:28], "float32").tolist() == pytest.approx(expected[MODBUS[3]])
    finally:
        await devices.stop()


def test_a_port_option_cannot_move_several_servers(plant_file: Path) -> None:
    text = PLANT + "- {name: plc2, protocol: modbus, host: 127.0.0.1, port: 5021, unit: 1}\n"
    plant_file.write_text(text, encoding="utf-8")
    with pytest.raises(SmartfabError, match="2 Modbus servers"):
        VirtualDevices(load_plant(plant_file), seed=5, modbus_port=0)


async def test_runs_in_its_own_process_and_stops_cleanly(plant_file: Path) -> None:
    history = now_us() - 3_600_000_000
    runner = RunnerProcess(
        plant_file, seed=5, start_us=history, opcua_port=0, modbus_port=0, tick_ms=100
    )
    endpoints = runner.start()
    try:
        assert runner.pid is not None
        async with Client(endpoints["opcua"][0]) as client:
            value = await client.get_node("ns=2;s=s/a/l/c/cnc-1.spindle_temp").read_data_value()
        assert value.StatusCode is not None and value.StatusCode.is_good()
        assert value.SourceTimestamp is not None
        assert value.SourceTimestamp.timestamp() > now_us() / 1e6 - 5
        host, port = endpoints["modbus"][0].split(":")
        modbus = AsyncModbusTcpClient(host, port=int(port), timeout=2, reconnect_delay=0)
        assert await modbus.connect()
        assert not (await modbus.read_holding_registers(8, count=2, device_id=3)).isError()
        modbus.close()
    finally:
        assert runner.stop() == 0  # SIGTERM is a clean shutdown


def test_a_runner_that_cannot_start_says_why(plant_file: Path) -> None:
    plant_file.write_text(PLANT.replace("unit: degC", "unit: degF"), encoding="utf-8")
    with pytest.raises(SmartfabError, match=r"did not start.*degF"):
        RunnerProcess(plant_file).start()


async def test_the_runner_serves_opc_ua_securely_when_given_certificates(
    plant_file: Path, tmp_path: Path
) -> None:
    pki = await make_pki(tmp_path / "pki")
    security = ServerSecurity(pki.server_cert, pki.server_key, pki.server_trusts)
    runner = RunnerProcess(plant_file, seed=5, opcua_port=0, modbus_port=0, opcua_security=security)
    endpoints = runner.start()
    try:
        plain = Client(endpoints["opcua"][0], timeout=2)
        with pytest.raises(UaError, match="No matching endpoints"):  # no unsecured endpoint
            await plain.connect()
        plain.disconnect_socket()
        secure = Client(endpoints["opcua"][0], timeout=2)
        secure.application_uri = "urn:smartfab:test:client"
        await secure.set_security(
            SecurityPolicyBasic256Sha256, str(pki.client_cert), str(pki.client_key),
            server_certificate=str(pki.server_cert),
            mode=ua.MessageSecurityMode.SignAndEncrypt,
        )  # fmt: skip
        async with secure:
            value = await secure.get_node("ns=2;s=s/a/l/c/cnc-1.spindle_temp").read_data_value()
        assert value.StatusCode is not None and value.StatusCode.is_good()
    finally:
        assert runner.stop() == 0


def test_the_runner_stops_when_its_owner_is_killed(plant_file: Path) -> None:
    """An owner killed with SIGKILL cannot stop its devices; they notice and stop themselves
    instead of holding their ports as an orphan."""
    owner = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time\nfrom pathlib import Path\n"
            "from smartfab.virtual.runner import RunnerProcess\n"
            "r = RunnerProcess(Path(sys.argv[1]), seed=5, opcua_port=0, modbus_port=0)\n"
            "r.start()\nprint(r.pid, flush=True)\ntime.sleep(600)\n"
        ), str(plant_file)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert owner.stdout is not None
    runner = int(owner.stdout.readline())
    assert psutil.pid_exists(runner)
    owner.kill()
    owner.wait()
    assert psutil.wait_procs([psutil.Process(runner)], timeout=15)[1] == []  # gone, not alive


PROCESS_PLANT = """
site:
  name: s
  areas:
  - name: a
    lines:
    - name: l
      cells:
      - name: c
        equipment:
        - name: cnc-1
          model: cnc
          ideal_cycle_s: 60
          signals:
          - {name: feed_rate_sp, unit: mm/min, range: [1200, 3600], writable: true,
             sim: feed_rate_sp, source: {opcua: {connection: ua, node: "ns=2;s=feed"}}}
          - {name: coolant_flow_sp, unit: l/min, range: [10, 40], writable: true,
             sim: coolant_flow_sp, source: {modbus: {connection: plc, register: 0,
             type: float32}}}
          - {name: inspection, unit: "1", type: enum, sim: inspection,
             values: {0: good, 1: burn, 2: chatter, 3: porosity},
             source: {opcua: {connection: ua, node: "ns=2;s=inspection"}}}
connections:
- {name: ua, protocol: opcua, endpoint: "opc.tcp://127.0.0.1:4840/"}
- {name: plc, protocol: modbus, host: 127.0.0.1, port: 5020, unit: 1, holding_registers: 10}
"""


async def test_a_parameter_written_to_a_device_is_what_the_machine_makes_parts_with(
    tmp_path: Path,
) -> None:
    """A recommendation approved writes a process parameter to the device: the virtual machine
    makes its next parts with the value written, over OPC UA and Modbus alike."""
    path = tmp_path / "plant.yaml"
    path.write_text(PROCESS_PLANT, encoding="utf-8")
    plant = load_plant(path)
    devices = VirtualDevices(plant, seed=5, opcua_port=0, modbus_port=0)
    await devices.start(now_us() - 600_000_000)
    feed, coolant = "s/a/l/c/cnc-1/feed_rate_sp", "s/a/l/c/cnc-1/coolant_flow_sp"
    try:
        assert devices.factory.parameters == [feed, coolant]
        await devices.step(now_us())
        assert devices.factory.setting(feed) != 1300.0
        async with Client(devices.endpoints["opcua"][0]) as client:
            await client.get_node("ns=2;s=feed").write_value(
                ua.Variant(1300.0, ua.VariantType.Double)
            )
        host, port = devices.endpoints["modbus"][0].split(":")
        modbus = AsyncModbusTcpClient(host, port=int(port), timeout=2, reconnect_delay=0)
        assert await modbus.connect()
        binding = next(r.signal.source.modbus for r in plant.iter_signals() if r.path == coolant)
        assert binding is not None
        words = encode_one(33.5, binding)
        assert not (await modbus.write_registers(0, words, device_id=1)).isError()
        modbus.close()
        await devices.step(now_us())
        assert devices.factory.setting(feed) == 1300.0
        assert devices.factory.setting(coolant) == 33.5
    finally:
        await devices.stop()


@dataclass
class _Target:
    """What the audited setpoint path writes through: the plant and its running connectors."""

    plant: Plant
    connectors: dict[str, OpcUaConnector]


async def test_a_parameter_written_through_the_audited_path_holds_over_a_restart(
    tmp_path: Path,
) -> None:
    """A restart does not set the machine back to its nominal settings: the devices started
    again with the setpoints the audit log keeps serve the value written, and the history they
    replay has the engineers' settings before the write and the written value after it."""
    port = free_port()
    path = tmp_path / "plant.yaml"
    path.write_text(PROCESS_PLANT.replace("4840", str(port)).replace("5020", str(free_port())),
                    encoding="utf-8")  # fmt: skip
    plant = load_plant(path)
    feed = "s/a/l/c/cnc-1/feed_rate_sp"
    start = now_us() - 600_000_000
    ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
    with Security(tmp_path / "security.sqlite") as sec:
        with RunnerProcess(path, seed=5, start_us=start):
            connector = OpcUaConnector.from_plant(plant, "ua", ids, timeout_s=2.0)
            async with running(connector) as got:
                await got.wait_for(lambda: connector.status.state == "connected")
                before = await connector.read(feed)
                assert before != 1300.0
                done = await write_setpoint(_Target(plant, {"ua": connector}), feed, 1300.0,
                                            "alice", sec.audit)  # fmt: skip
                assert (done.old, done.new) == (before, 1300.0)
        writes = setpoints_written(sec.audit)
    (written,) = writes
    assert (written.path, written.value) == (feed, 1300.0)
    # Restarted over the same history: the device holds the value written.
    with RunnerProcess(path, seed=5, start_us=start, writes=writes) as again:
        async with Client(again.endpoints["opcua"][0]) as client:
            assert await client.get_node("ns=2;s=feed").read_value() == 1300.0
    # What it replayed: the setting the engineers had until the write, the value written since.
    until = now_us()
    replayed, unwritten = (
        VirtualFactory(plant, ids, seed=5, start_us=start, writes=w).advance_all(until).points
        for w in (writes, [])
    )
    setting, trials = (p.take(p.signal_id == ids[feed]) for p in (replayed, unwritten))
    after = setting.ts >= written.ts_us
    assert after.any() and np.all(setting.value[after] == 1300.0)
    assert np.array_equal(setting.value[~after], trials.value[~after])
