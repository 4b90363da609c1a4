"""smartfab's Sparkplug B host against an edge node of another implementation (pysparkplug, from
PyPI) over the shared Mosquitto: births, data of numbers, a String, an enum and arrays (Double,
Boolean and Int16 arrays, packed by pysparkplug), and a node that dies (its NDEATH will) and is
born again, which must be recorded like any outage, texts and arrays BAD too.

pysparkplug needs paho-mqtt 1.x while smartfab runs on 2.x, so it is installed apart, into
``<venv>/peers/sparkplug`` (``scripts/install`` does it), and runs in a process of its own; the
tests skip, saying so, when it is not there.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from smartfab.devices.connector import Backoff
from smartfab.devices.mqtt.connector import MqttConnector
from smartfab.platform.points import Quality, now_us
from tests.devices.mqtt.broker import mqtt_plant, mqtt_signal, signal_ids
from tests.devices.sinks import Collected, running

pytestmark = pytest.mark.services

PEER = Path(sys.prefix) / "peers" / "sparkplug"
SCRIPT = Path(__file__).parent / "peers" / "pysparkplug_edge.py"


@contextmanager
def edge_node(port: int, group: str) -> Iterator[subprocess.Popen[str]]:
    """The pysparkplug edge node ``group/press-1``, born (see its script for what it does)."""
    if not (PEER / "pysparkplug").is_dir():
        pytest.skip(f"pysparkplug is not installed in {PEER} (scripts/install puts it there)")
    env = {**os.environ, "PYTHONPATH": str(PEER)}  # its paho 1.x before the venv's 2.x
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(port), group, "press-1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None and process.stdout.readline() == "born\n"
        yield process
    finally:
        process.kill()
        process.wait()


def send(process: subprocess.Popen[str], **values: object) -> None:
    """A DDATA of device ``ram`` with ``values`` (metric name: value)."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(values) + "\n")
    process.stdin.flush()
    assert process.stdout.readline() == "sent\n"


async def test_a_third_party_node_dying_and_born_again_is_one_outage(shared_broker: int) -> None:
    group = f"peer-{os.getpid()}"
    ram = f"spBv1.0/{group}/press-1/ram"
    plant = mqtt_plant(shared_broker, [
        mqtt_signal("temp", f"spBv1.0/{group}/press-1", "temp"),
        mqtt_signal("force", ram, "force"),
        mqtt_signal("strokes", ram, "strokes"),
        mqtt_signal("recipe", ram, "recipe", type="string"),
        mqtt_signal("mode", ram, "mode", type="enum", values={0: "off", 1: "run"}),
        mqtt_signal("profile", ram, "profile", type="array", length=3),
        mqtt_signal("bits", ram, "bits", type="array", length=10),
        mqtt_signal("counts", ram, "counts", type="array", length=2),
    ])  # fmt: skip
    ids = signal_ids(plant)
    fast = Backoff(initial_s=0.05, max_s=0.3)
    connector = MqttConnector.from_plant(plant, "broker", ids, backoff=fast)
    force, strokes = ids["s/a/l/c/e/force"], ids["s/a/l/c/e/strokes"]
    recipe, profile = ids["s/a/l/c/e/recipe"], ids["s/a/l/c/e/profile"]

    def good(got: Collected, signal: int) -> list[float]:
        g = got.good
        return g.value[g.signal_id == signal].tolist()

    def texts(got: Collected) -> list[str]:
        t = got.texts
        return t.text[t.quality == Quality.GOOD].tolist()

    def rows(got: Collected, signal: int) -> list[list[float]]:
        a = got.arrays
        return [a.row(i).tolist() for i in range(len(a))
                if a.signal_id[i] == signal and a.quality[i] == Quality.GOOD]  # fmt: skip

    bits = [True, False, True, True, False, False, False, False, True, True]  # two bytes' worth
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.state == "connected")
        with edge_node(shared_broker, group) as node:
            send(node, force=1250.5, strokes=2**40 + 1,  # a uint64 beyond 32 bits
                 recipe="Ä-17 ✓", mode=1, profile=[1.5, -2.0, 1e300], bits=bits,
                 counts=[-32768, 32767])  # fmt: skip
            await got.wait_for(lambda: 1250.5 in good(got, force))
            await got.wait_for(lambda: [1.5, -2.0, 1e300] in rows(got, profile))
            node.stdin.close()  # type: ignore[union-attr]  # it exits: the broker sends NDEATH
            await got.wait_for(lambda: len(got.gaps) == 0 and connector.outages != {})
            await asyncio.sleep(0.5)
        back = now_us()
        with edge_node(shared_broker, group) as node:  # born again
            send(node, force=1300.0, strokes=2**40 + 2, recipe="B")
            await got.wait_for(lambda: 1300.0 in good(got, force) and "B" in texts(got))
    assert good(got, ids["s/a/l/c/e/temp"])[:1] == [20.5]  # from the NBIRTH
    assert 2**40 + 1 in good(got, strokes) and 2**40 + 2 in good(got, strokes)
    assert texts(got) == ["none", "Ä-17 ✓", "none", "B"]  # births, data
    assert 1 in good(got, ids["s/a/l/c/e/mode"])
    assert rows(got, ids["s/a/l/c/e/bits"])[1] == [float(b) for b in bits]
    assert rows(got, ids["s/a/l/c/e/counts"])[1] == [-32768, 32767]
    got.assert_one_outage(connector.signal_ids, back_us=back)  # every kind BAD at the NDEATH
    assert {recipe} <= set(connector.signal_ids.text.tolist())
    assert "NDEATH" in got.gaps.detail[0] and f"edge node {group}/press-1" in got.gaps.detail[0]
    assert connector.rejected == {}  # the other implementation's messages all understood
