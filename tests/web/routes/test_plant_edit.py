"""The plant file's routes: engineers edit within their part of the plant, viewers read; a bad
change is refused on its field (422) and a change on an older revision with the other's change
(409); undo and the history of edits; an alarm rule tested on the stored history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest_asyncio

from smartfab.model.edit import asset_location
from smartfab.model.loader import load_plant
from smartfab.platform.catalog import register_plant
from smartfab.platform.points import EventBatch, PointBatch, now_us
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.plant_edit import PlantEditor
from smartfab.web.api import create_app
from tests.web.conftest import bearer

PRESS = "works/hall/line-1/cell-1/press-1"
FILE = """\
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
          - {name: force, unit: kN, source: {virtual: true}}  # the press force
    - name: line-2
      cells:
      - name: cell-1
        equipment:
        - name: press-2
          signals:
          - {name: force, unit: kN, source: {virtual: true}}
"""
SIGNALS = [*asset_location(PRESS), "signals"]


@pytest_asyncio.fixture
async def api(tmp_path: Path, security: Security) -> AsyncIterator[tuple[httpx.AsyncClient, Path]]:
    file = tmp_path / "plant.yaml"
    file.write_text(FILE, encoding="utf-8")
    plant = load_plant(file)
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        # A day of force, a minute apart: over 1000 kN for ten minutes every two hours.
        ids = register_plant(store, plant)
        ts = now_us() - np.arange(1440, 0, -1, dtype=np.int64) * 60_000_000
        force = np.where(np.arange(1440) % 120 < 10, 1100.0, 800.0)
        store.append(PointBatch.of(ts, ids[f"{PRESS}/force"], force), EventBatch.empty())
        data = PlantData(store, plant)
        editor = PlantEditor(file, security.audit, data=data)
        app = create_app(data, security=security, editor=editor)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client, file


def insert(name: str, unit: str = "degC") -> dict[str, Any]:
    value = {"name": name, "unit": unit, "source": {"virtual": True}}
    return {"op": "insert", "at": SIGNALS, "value": value}


async def test_engineers_edit_viewers_read(
    api: tuple[httpx.AsyncClient, Path], security: Security
) -> None:
    client, file = api
    engineer = bearer(security, "engineer", name="engineer")
    viewer = bearer(security, "viewer", name="viewer")
    got = (await client.get(f"/api/plant/asset/{PRESS}", headers=viewer)).json()
    assert got["data"]["signals"][0] == {"name": "force", "unit": "kN", "source": {"virtual": True}}
    body = {"revision": got["revision"], "ops": [insert("oil_temp")], "summary": "oil temp"}
    assert (await client.post("/api/plant/edits", json=body, headers=viewer)).status_code == 403
    r = await client.post("/api/plant/edits", json=body, headers=engineer)
    assert r.status_code == 200, r.text
    change = r.json()
    assert change["summary"] == "oil temp" and "+          - name: oil_temp" in change["diff"]
    assert "# the press force" in file.read_text(encoding="utf-8")
    history = (await client.get("/api/plant/edits", headers=engineer)).json()
    assert [c["seq"] for c in history] == [change["seq"]]
    # Undo, then the history says so.
    undo = {"revision": change["revision"], "seq": change["seq"]}
    r = await client.post("/api/plant/undo", json=undo, headers=engineer)
    assert r.status_code == 200 and r.json()["undo_of"] == change["seq"]
    assert file.read_text(encoding="utf-8") == FILE
    history = (await client.get("/api/plant/edits", headers=engineer)).json()
    assert history[1]["undone_by"] == r.json()["seq"]


async def test_a_bad_change_is_refused_on_its_field_and_a_stale_one_with_the_other_change(
    api: tuple[httpx.AsyncClient, Path], security: Security
) -> None:
    client, file = api
    li, wang = bearer(security, "engineer", name="li"), bearer(security, "engineer", name="wang")
    base = (await client.get("/api/plant/file", headers=li)).json()["revision"]
    bad = {"revision": base, "ops": [insert("speed", "furlong"), insert("force", "kN")]}
    r = await client.post("/api/plant/edits", json=bad, headers=li)
    assert r.status_code == 422
    issues = r.json()["detail"]["issues"]
    assert [(i["op"], i["field"]) for i in issues] == [(0, "unit"), (1, "name")]
    assert "unknown unit" in issues[0]["reason"] and "duplicate" in issues[1]["reason"]
    assert file.read_text(encoding="utf-8") == FILE  # nothing saved
    first = await client.post(
        "/api/plant/edits", json={"revision": base, "ops": [insert("oil_temp")]}, headers=li
    )
    assert first.status_code == 200
    late = {"revision": base, "ops": [{"op": "set", "at": [*asset_location(PRESS), "title"],
                                       "value": "Press 1"}]}  # fmt: skip
    r = await client.post("/api/plant/edits", json=late, headers=wang)
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert detail["code"] == "plant_changed" and detail["current"] == first.json()["revision"]
    assert [c["diff"] for c in detail["changes"]] == [first.json()["diff"]]
    assert "title" not in file.read_text(encoding="utf-8")


async def test_a_scoped_engineer_edits_only_its_part(
    api: tuple[httpx.AsyncClient, Path], security: Security
) -> None:
    client, _ = api
    line1 = bearer(security, "engineer", "works/hall/line-1", name="line-1 engineer")
    admin = bearer(security, "admin", name="admin")
    base = (await client.get("/api/plant/file", headers=admin)).json()["revision"]
    other = [*asset_location("works/hall/line-2/cell-1/press-2"), "title"]
    plc = {"name": "plc", "protocol": "modbus", "host": "10.0.0.5"}
    for ops in ([{"op": "set", "at": other, "value": "x"}],
                [{"op": "insert", "at": ["connections"], "value": plc}]):  # fmt: skip
        r = await client.post("/api/plant/edits", json={"revision": base, "ops": ops},
                              headers=line1)  # fmt: skip
        assert r.status_code == 403, r.text
    r = await client.post(
        "/api/plant/edits", json={"revision": base, "ops": [insert("oil_temp")]}, headers=line1
    )
    assert r.status_code == 200


async def test_an_alarm_rule_is_tested_on_the_stored_history(
    api: tuple[httpx.AsyncClient, Path], security: Security
) -> None:
    client, _ = api
    engineer = bearer(security, "engineer", name="engineer")
    params = {"signal": f"{PRESS}/force"}

    async def test(rule: dict[str, Any]) -> dict[str, Any]:
        r = await client.post("/api/alarm-rules/test", params=params,
                              json={"kind": "high", "rule": rule}, headers=engineer)  # fmt: skip
        assert r.status_code == 200, r.text
        return dict(r.json())

    fired = await test({"limit": 1000})
    assert fired["activations"] == 12 and fired["points"] == 1440
    assert 11 * 9 * 60 <= fired["active_s"] <= 12 * 11 * 60
    assert fired["alarm"] == f"{PRESS}/force:high"
    # An on-delay longer than the excursions: it would never have fired.
    assert (await test({"limit": 1000, "delay_s": 900}))["activations"] == 0
    r = await client.post("/api/alarm-rules/test", params=params,
                          json={"kind": "high", "rule": {"limit": 1, "deadband": -1}},
                          headers=engineer)  # fmt: skip
    assert r.status_code == 422 and "rule.deadband" in r.text
