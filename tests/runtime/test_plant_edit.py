"""The plant file edited while smartfab runs, against a real OPC UA server (the virtual one) and
a running ingestion: a change is checked as `plant check` and the device check it, written with
its comments, audited with its diff and inverse, read at once by the running connectors and
alarms; a change on an older revision is refused with the other's change; undo is the inverse,
audited too."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from smartfab.model.edit import EditConflict, EditError, Operation, asset_location, revision
from smartfab.model.loader import load_plant
from smartfab.model.plant import Plant
from smartfab.platform.points import now_us
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.ingestion import Ingestion
from smartfab.runtime.plant_edit import EDIT, UNDO, PlantEditor
from smartfab.virtual.opcua.server import VirtualOpcUaServer

PRESS = "works/hall/line-1/cell-1/press-1"
NODE = f"ns=2;s={PRESS}"
FILE = """\
# A small works: one press, read over OPC UA.
site:
  name: works
  timezone: Europe/Berlin
  areas:
  - name: hall
    lines:
    - name: line-1
      cells:
      - name: cell-1
        equipment:
        - name: press-1
          signals:
          - name: force  # from the press PLC
            unit: kN
            source: {{opcua: {{connection: ua, node: "{node}.force"}}}}
connections:
- {{name: ua, protocol: opcua, endpoint: "{endpoint}", publishing_interval_ms: 50}}
"""


def device_plant() -> Plant:
    """What the press's server offers: its force and its oil temperature."""

    def signal(name: str, unit: str) -> dict[str, Any]:
        return {"name": name, "unit": unit,
                "source": {"opcua": {"connection": "ua", "node": f"{NODE}.{name}"}}}  # fmt: skip

    press = {"name": "press-1", "signals": [signal("force", "kN"), signal("oil_temp", "degC")]}
    cell = {"name": "cell-1", "equipment": [press]}
    area = {"name": "hall", "lines": [{"name": "line-1", "cells": [cell]}]}
    return Plant.model_validate({
        "site": {"name": "works", "areas": [area]},
        "connections": [{"name": "ua", "protocol": "opcua", "endpoint": "opc.tcp://x:1/"}],
    })  # fmt: skip


@dataclass
class Running:
    file: Path
    editor: PlantEditor
    ingestion: Ingestion
    data: PlantData
    security: Security
    server: VirtualOpcUaServer


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server() -> AsyncIterator[VirtualOpcUaServer]:
    server = VirtualOpcUaServer(device_plant())  # starting one takes seconds: one per module
    await server.publish([0, 1], [812.0, 41.5], now_us())
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def r(tmp_path: Path, server: VirtualOpcUaServer) -> AsyncIterator[Running]:
    file = tmp_path / "plant.yaml"
    file.write_text(FILE.format(node=NODE, endpoint=server.endpoint), encoding="utf-8")
    plant = load_plant(file)
    with DuckDBStore(tmp_path / "s.duckdb") as store, Security(tmp_path / "sec.sqlite") as sec:
        ingestion = Ingestion(plant, store)
        await ingestion.start()
        data = PlantData(store, plant)
        editor = PlantEditor(file, sec.audit, target=ingestion, data=data, timeout_s=3)
        try:
            yield Running(file, editor, ingestion, data, sec, server)
        finally:
            await ingestion.stop()


SIGNALS = [*asset_location(PRESS), "signals"]


def add(name: str, unit: str, node: str, **more: Any) -> Operation:
    source = {"opcua": {"connection": "ua", "node": node}}
    value = {"name": name, "unit": unit, "source": source, **more}
    return Operation(op="insert", at=SIGNALS, value=value)


async def stored(data: PlantData, path: str) -> float:
    """The newest stored value of ``path``, waiting for it (the writer stores every 0.25 s)."""
    for _ in range(200):
        data.refresh()
        if any(s.path == path for s in data.signals()):
            t = data.latest([path])
            if t.num_rows:
                return float(t["value"][0].as_py())
        await asyncio.sleep(0.05)
    raise AssertionError(f"no value of {path} stored")


async def test_an_edit_is_checked_written_audited_and_read_at_once(r: Running) -> None:
    _, base = r.editor.read()
    alarm = {"high": {"limit": 60, "delay_s": 5, "enabled": False}}
    change = await r.editor.edit(
        "li", base, [add("oil_temp", "degC", f"{NODE}.oil_temp", alarms=alarm)], "oil temperature"
    )
    new = r.file.read_text(encoding="utf-8")
    assert change.revision == revision(new) != base and change.base == base
    assert "# A small works" in new and "# from the press PLC" in new  # comments kept
    assert "+          - name: oil_temp" in change.diff
    (entry,) = r.security.audit.entries(action=EDIT)
    assert (entry.actor, entry.target) == ("li", "plant:plant.yaml")
    assert entry.after["diff"] == change.diff
    assert json.loads(entry.after["inverse"])[0]["op"] == "remove"
    # Running at once: its connector reads the new node, the API's plant has it.
    assert await stored(r.data, f"{PRESS}/oil_temp") == 41.5
    assert r.data.plant is r.ingestion.plant
    assert f"{PRESS}/oil_temp" in {ref.path for ref in r.data.plant.iter_signals()}
    # A disabled rule is kept in the file, not evaluated; enabling it makes it an alarm.
    ids = {a.id for a in r.ingestion.alarms.alarms(include_normal=True)}
    assert f"{PRESS}/oil_temp:high" not in ids
    at = [*SIGNALS, {"name": "oil_temp"}, "alarms", "high", "enabled"]
    await r.editor.edit("li", change.revision, [Operation(op="set", at=at, value=True)], "")
    ids = {a.id for a in r.ingestion.alarms.alarms(include_normal=True)}
    assert f"{PRESS}/oil_temp:high" in ids


@pytest.mark.parametrize(
    ("op", "field", "reason"),
    [
        (add("oil_temp", "degC", f"{NODE}.oil_tmp"), "source.opcua.node", "no such node"),
        (add("oil_temp", "bar", f"{NODE}.oil_temp"), "unit", "write unit: degC"),
        (add("force", "kN", f"{NODE}.oil_temp"), "name", "duplicate"),
        (add("oil_temp", "degF", f"{NODE}.oil_temp"), "unit", "unknown unit"),
    ],
)
async def test_bad_input_is_refused_on_its_field_and_nothing_changes(
    r: Running, op: Operation, field: str, reason: str
) -> None:
    text, base = r.editor.read()
    with pytest.raises(EditError) as caught:
        await r.editor.edit("li", base, [op], "")
    (issue,) = caught.value.issues
    assert (issue.op, issue.field) == (0, field) and reason in issue.reason, issue
    assert r.file.read_text(encoding="utf-8") == text
    assert r.security.audit.entries(action=EDIT) == []
    assert len(list(r.ingestion.plant.iter_signals())) == 1


async def test_a_save_on_an_older_revision_is_refused_with_the_other_change(r: Running) -> None:
    _, base = r.editor.read()
    first = await r.editor.edit("li", base, [add("oil_temp", "degC", f"{NODE}.oil_temp")], "")
    title = Operation(op="set", at=[*asset_location(PRESS), "title"], value="Press 1")
    with pytest.raises(EditConflict) as caught:
        await r.editor.edit("wang", base, [title], "")
    conflict = caught.value
    assert conflict.current == first.revision
    assert [(c.actor, c.diff) for c in conflict.changes] == [("li", first.diff)]
    assert "li" in str(conflict)
    assert "title" not in r.file.read_text(encoding="utf-8")  # not merged, not lost: refused
    # Made again on the current file, it is saved.
    await r.editor.edit("wang", first.revision, [title], "")
    assert "title: Press 1" in r.file.read_text(encoding="utf-8")


async def test_undo_saves_the_inverse_audited_once_and_can_be_undone(r: Running) -> None:
    original, base = r.editor.read()
    done = await r.editor.edit("li", base, [add("oil_temp", "degC", f"{NODE}.oil_temp")], "")
    undone = await r.editor.undo("wang", done.revision, done.seq)
    assert r.file.read_text(encoding="utf-8") == original
    assert undone.undo_of == done.seq and undone.revision == base
    (entry,) = r.security.audit.entries(action=UNDO)
    assert entry.actor == "wang" and entry.after["undo_of"] == done.seq
    assert [ref.path for ref in r.ingestion.plant.iter_signals()] == [f"{PRESS}/force"]
    with pytest.raises(EditConflict, match="undone already"):
        await r.editor.undo("wang", undone.revision, done.seq)
    history = r.editor.history()
    assert [(c.seq, c.undone_by) for c in history] == [(undone.seq, None), (done.seq, undone.seq)]
    redone = await r.editor.undo("li", undone.revision, undone.seq)  # undoing the undo redoes
    assert redone.revision == done.revision
    assert r.security.audit.verify().ok
