"""The OPC UA connector, browse and the live check against a server on another stack: o6, the
open62541 C SDK's Python binding, from PyPI (tests/devices/opcua/o6_peer.py, in a process of its
own). Numbers, an enumeration of a standard data type, String and LocalizedText, a Double array
with its dimensions and an Int32 array; the server going away and coming back (one outage, every
kind of value marked stale)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartfab.devices.connector import Backoff
from smartfab.devices.opcua.connector import OpcUaConnector
from smartfab.devices.opcua.types import ValueType
from smartfab.model.plant import Plant
from smartfab.platform.points import now_us
from tests.devices.bound_plants import opcua_connection, plant
from tests.devices.mqtt.broker import free_port
from tests.devices.sinks import running

# o6 is a commercial build that runs unlicensed for ten minutes a process (importing it starts
# the clock), so scripts/install puts it in a folder of its own, which only the peer's child
# process has on its path.
O6 = Path(sys.prefix) / "peers" / "o6"
if not (O6 / "o6").is_dir():
    pytest.skip(f"o6 (an open62541-based OPC UA stack) is not installed in {O6} "
                "(scripts/install puts it there)", allow_module_level=True)  # fmt: skip

PEER = Path(__file__).with_name("o6_peer.py")
STATES = {0: "Running", 1: "Failed", 2: "NoConfiguration", 3: "Suspended", 4: "Shutdown",
          5: "Test", 6: "CommunicationFault", 7: "Unknown"}  # fmt: skip
FAST = Backoff(initial_s=0.1, max_s=0.5, jitter=0.0)


class Peer:
    """The o6 server in a child process, on ``port``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(PEER), str(self.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONPATH": str(O6)},
        )  # fmt: skip
        assert self.process.stdout is not None
        for line in self.process.stdout:  # its banner, then "ready"
            if line.strip() == "ready":
                return
        raise AssertionError(f"the o6 server did not start (exit {self.process.wait()})")

    def write(self, name: str, value: object) -> None:
        assert self.process is not None and self.process.stdin and self.process.stdout
        self.process.stdin.write(f"{name} {json.dumps(value)}\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "GOOD"

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def peer() -> Iterator[Peer]:
    server = Peer(free_port())
    server.start()
    yield server
    server.stop()


def peer_plant(port: int, **types: dict[str, Any]) -> Plant:
    declared: dict[str, dict[str, Any]] = {
        "temp": {"unit": "degC"},
        "count": {"type": "int"},
        "state": {"type": "enum", "values": STATES},
        "product": {"type": "string", "length": 16},
        "operator": {"type": "string"},
        "spectrum": {"type": "array", "length": 4, "unit": "mm/s"},
        "profile": {"type": "array", "length": 5},
    }
    declared.update(types)
    signals = [
        {"name": name, "source": {"opcua": {"connection": "ua", "node": f"ns=1;s=peer.{name}"}},
         **fields}
        for name, fields in declared.items()
    ]  # fmt: skip
    endpoint = f"opc.tcp://127.0.0.1:{port}/"
    return plant(signals, [opcua_connection(endpoint, publishing_interval_ms=50)])


def connector_for(p: Plant) -> OpcUaConnector:
    ids = {ref.path: 10 + i for i, ref in enumerate(p.iter_signals())}
    return OpcUaConnector.from_plant(p, "ua", ids, timeout_s=2.0, backoff=FAST)


async def test_every_kind_of_value_from_an_open62541_server(peer: Peer) -> None:
    connector = connector_for(peer_plant(peer.port))
    async with running(connector) as got:
        await got.wait_for(lambda: len(got.texts) >= 2 and len(got.arrays) >= 1)
        peer.write("product", "FLG-2205")
        peer.write("spectrum", [4.0, 3.0, 2.0, 1.0])
        peer.write("profile", [1, 2, 3, 4, 5])
        peer.write("state", 6)
        await got.wait_for(lambda: "FLG-2205" in got.texts.text and len(got.arrays) >= 3)
        await got.wait_for(lambda: 6.0 in got.points.value)
    numbers = dict(zip(got.points.signal_id.tolist(), got.points.value.tolist(), strict=True))
    assert (numbers[10], numbers[11], numbers[12]) == (21.5, 7.0, 6.0)
    texts = sorted(set(zip(got.texts.signal_id.tolist(), got.texts.text.tolist(), strict=True)))
    assert texts == [(13, "FLG-2205"), (13, "HSG-4410"), (14, "Li Wei")]  # LocalizedText's text
    rows = {
        (int(got.arrays.signal_id[i]), tuple(got.arrays.row(i))) for i in range(len(got.arrays))
    }
    assert {(15, (0.5, 1.5, 2.5, 3.5)), (15, (4.0, 3.0, 2.0, 1.0)), (16, (1.0, 2.0, 3.0)),
            (16, (1.0, 2.0, 3.0, 4.0, 5.0))} <= rows  # fmt: skip
    # The initial Int32 profile has 3 elements where the plant says 5: delivered as it is, for
    # the writer to refuse with its reason; the connector neither cuts nor fails.
    assert connector.status.errors == 0


async def test_browse_and_the_live_check_read_its_types(peer: Peer) -> None:
    connector = connector_for(peer_plant(peer.port))
    found = {v.node: v for v in await connector.browse()}
    assert found["ns=1;s=peer.spectrum"].type == ValueType("Double", "Double", 1, (4,))
    assert found["ns=1;s=peer.profile"].data_type == "Int32[]"
    state = found["ns=1;s=peer.state"].type
    assert isinstance(state, ValueType) and state.enum == STATES and state.builtin == "Int32"
    assert found["ns=1;s=peer.operator"].data_type == "LocalizedText"
    assert await connector.check() == []

    wrong = peer_plant(
        peer.port,
        temp={"type": "string"},
        spectrum={"type": "array", "length": 8},
        state={"type": "enum", "values": {0: "Running", 1: "Broken"}},
    )
    problems = {m.path.rsplit("/", 1)[1]: m.problem for m in await connector_for(wrong).check()}
    assert problems == {
        "temp": "the signal is string, the node holds Double, not a String or LocalizedText",
        "spectrum": "the signal is array of 8, the node holds 4 elements (Double[4])",
        "state": "the enum's values differ from the server's: 1: Broken here, Failed on the "
        "server; 2: (none) here, NoConfiguration on the server; 3: (none) here, Suspended on "
        "the server; 4: (none) here, Shutdown on the server; 5: (none) here, Test on the server; "
        "6: (none) here, CommunicationFault on the server; 7: (none) here, Unknown on the server",
    }


async def test_a_restart_of_the_peer_is_one_outage_marking_every_kind_stale(peer: Peer) -> None:
    connector = connector_for(peer_plant(peer.port))
    async with running(connector) as got:
        await got.wait_for(lambda: len(got.arrays) >= 1 and len(got.texts) >= 2)
        peer.stop()
        await got.wait_for(lambda: connector.status.state == "reconnecting")
        back = now_us()
        peer.start()  # a new process: the device rebooted
        await got.wait_for(lambda: len(got.gaps) == 1)
        await got.wait_for(lambda: int(np.count_nonzero(got.texts.ts > got.gaps.ts[0])) >= 2)
    got.assert_one_outage(connector.signal_ids, back_us=back)
    at = got.gaps.ts[0]
    assert sorted(got.texts.take(got.texts.ts == at).signal_id.tolist()) == [13, 14]
    assert got.arrays.take(got.arrays.ts == at).lengths.tolist() == [0, 0]
