"""Dashboards over HTTP with real tokens on a copy of the filled demo store: saved per user,
shared by role and part of the plant, a caller limited to a part never sees (nor fetches) what
lies outside it, a second save on a stale revision is refused, imports of another version or
with unknown panel types are refused on their field with nothing saved, and each line has a
default dashboard from the plant model that saves back as it is (export, then import)."""

from __future__ import annotations

import copy
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.web.api import create_app
from tests.conftest import FILLED_END_US, FILLED_START_US
from tests.web.conftest import bearer

LINE = "shenyang/machining/cnc-line-1"
CNC = f"{LINE}/cell-1/cnc-01"
PRESS = "shenyang/pressing/press-line-1/cell-1/press-01"
MACHINING, PRESSING = "shenyang/machining", "shenyang/pressing"
WINDOW = {
    "start": datetime.fromtimestamp(FILLED_START_US / 1e6, UTC).isoformat(),
    "end": datetime.fromtimestamp(FILLED_END_US / 1e6, UTC).isoformat(),
}


def document(*signals: str, title: str = "Spindles") -> dict[str, Any]:
    """A dashboard with a trend of ``signals`` and a single value of the first."""
    return {
        "version": 1,
        "title": title,
        "time": {"span_s": 3600, "refresh_s": 10},
        "panels": [
            {"type": "trend", "id": "t", "w": 8, "h": 5,
             "signals": [{"path": s} for s in signals]},
            {"type": "value", "id": "v", "signal": signals[0], "base": "normal",
             "thresholds": [{"value": 20, "level": "warning"}, {"value": 28, "level": "alarm"}]},
            {"type": "text", "id": "note", "text": "Shift notes go here."},
        ],
    }  # fmt: skip


Client = tuple[httpx.AsyncClient, Security]


@pytest.fixture
async def api(tmp_path: Path, filled_store: Path, demo_plant: Plant) -> AsyncIterator[Client]:
    shutil.copy(filled_store, tmp_path / "s.duckdb")
    with DuckDBStore(tmp_path / "s.duckdb") as store, Security(tmp_path / "sec.sqlite") as sec:
        app = create_app(PlantData(store, demo_plant), security=sec)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as c:
            yield c, sec


def shared(revision: int, role: str, scope: str) -> dict[str, Any]:
    return {"revision": revision, "sharing": {"role": role, "scope": scope}}


def as_(sec: Security, role: str, scope: str = "", name: str = "") -> dict[str, str]:
    return bearer(sec, role, scope, name or f"{role}@{scope or '*'}")


async def test_a_dashboard_of_ones_own_is_saved_changed_and_deleted(api: Client) -> None:
    c, sec = api
    li, wang = as_(sec, "viewer", name="li"), as_(sec, "viewer", name="wang")
    r = await c.post("/api/dashboards", json=document(f"{CNC}/spindle_power"), headers=li)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["mine"] and made["editable"] and not made["shareable"] and made["revision"] == 1
    did = made["id"]
    listed = (await c.get("/api/dashboards", headers=li)).json()["dashboards"]
    assert [(d["id"], d["title"], d["panels"]) for d in listed] == [(did, "Spindles", 3)]
    # Another viewer neither lists it nor reaches it.
    assert (await c.get("/api/dashboards", headers=wang)).json()["dashboards"] == []
    assert (await c.get(f"/api/dashboards/{did}", headers=wang)).status_code == 404
    changed = document(f"{CNC}/spindle_power", f"{CNC}/spindle_temp", title="Spindle 1")
    r = await c.put(f"/api/dashboards/{did}", json={"revision": 1, "document": changed},
                    headers=wang)  # fmt: skip
    assert r.status_code == 404
    r = await c.put(f"/api/dashboards/{did}", json={"revision": 1, "document": changed},
                    headers=li)  # fmt: skip
    assert r.status_code == 200 and r.json()["revision"] == 2
    assert len(r.json()["document"]["panels"][0]["signals"]) == 2
    # A save made on the revision before is refused, and says who changed it.
    r = await c.put(f"/api/dashboards/{did}", json={"revision": 1, "document": document(
        f"{CNC}/power")}, headers=li)  # fmt: skip
    assert r.status_code == 409 and "token:li" in r.json()["detail"]
    assert (await c.get(f"/api/dashboards/{did}", headers=li)).json()["document"]["title"] == (
        "Spindle 1"
    )
    assert (await c.delete(f"/api/dashboards/{did}?revision=1", headers=li)).status_code == 409
    assert (await c.delete(f"/api/dashboards/{did}?revision=2", headers=li)).status_code == 204
    assert (await c.get(f"/api/dashboards/{did}", headers=li)).status_code == 404
    actions = [e.action for e in sec.audit.entries() if e.target == f"dashboard:{did}"]
    assert sorted(actions) == ["dashboard.change", "dashboard.create", "dashboard.delete"]


async def test_engineers_share_by_role_and_part_of_the_plant(api: Client) -> None:
    c, sec = api
    eng = as_(sec, "engineer", MACHINING, name="zhang")
    r = await c.post("/api/dashboards", json=document(f"{CNC}/spindle_power"), headers=eng)
    did, rev = r.json()["id"], r.json()["revision"]
    assert r.json()["shareable"]
    # Viewers keep their own but do not share: refused before the route runs.
    viewer = as_(sec, "viewer", name="li")
    mine = (await c.post("/api/dashboards", json=document(f"{CNC}/power"), headers=viewer)).json()
    r = await c.put(
        f"/api/dashboards/{mine['id']}/sharing", json=shared(1, "viewer", ""), headers=viewer
    )
    assert r.status_code == 403
    # Not beyond one's own part of the plant, nor with a part that does not hold its signals.
    share = f"/api/dashboards/{did}/sharing"
    r = await c.put(share, json=shared(rev, "viewer", ""), headers=eng)
    assert r.status_code == 403 and "shenyang/machining" in r.json()["detail"]
    r = await c.put(share, json=shared(rev, "viewer", "shenyang/../pressing"), headers=eng)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "sharing", "scope"]
    cell = "shenyang/machining/cnc-line-1/cell-2"
    r = await c.put(share, json=shared(rev, "viewer", cell), headers=eng)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [
        ["body", "document", "panels", 0, "trend", "signals", 0, "path"],
        ["body", "document", "panels", 1, "value", "signal"],
    ]
    assert {e["type"] for e in r.json()["detail"]} == {"dashboard_outside_sharing"}
    r = await c.put(share, json=shared(rev, "operator", MACHINING), headers=eng)
    assert r.status_code == 200 and r.json()["sharing"] == {"role": "operator", "scope": MACHINING}
    rev = r.json()["revision"]

    callers = {
        "operator@machining": as_(sec, "operator", MACHINING),
        "operator@line": as_(sec, "operator", LINE),
        "admin@*": as_(sec, "admin"),
        "viewer@machining": as_(sec, "viewer", MACHINING),
        "operator@pressing": as_(sec, "operator", PRESSING),
    }
    seeing = set()
    for name, headers in callers.items():
        listed = (await c.get("/api/dashboards", headers=headers)).json()["dashboards"]
        if did in [d["id"] for d in listed]:
            seeing.add(name)
    # The role or above, with a part of the plant that overlaps the dashboard's.
    assert seeing == {"operator@machining", "operator@line", "admin@*"}
    # Seen, not changed: changing a shared dashboard needs dashboards.share for all its part.
    operator = callers["operator@machining"]
    got = (await c.get(f"/api/dashboards/{did}", headers=operator)).json()
    assert not got["editable"] and not got["mine"] and got["owner"].startswith("token:zhang")
    r = await c.put(f"/api/dashboards/{did}", json={"revision": rev, "document": document(
        f"{CNC}/power")}, headers=operator)  # fmt: skip
    assert r.status_code == 403
    other = as_(sec, "engineer", LINE, name="zhao")  # of a part of it only
    assert not (await c.get(f"/api/dashboards/{did}", headers=other)).json()["editable"]
    colleague = as_(sec, "engineer", MACHINING, name="wu")
    assert (await c.get(f"/api/dashboards/{did}", headers=colleague)).json()["editable"]
    r = await c.put(f"/api/dashboards/{did}", json={"revision": rev, "document": document(
        f"{CNC}/power", title="Power")}, headers=colleague)  # fmt: skip
    assert r.status_code == 200 and r.json()["updated_by"].startswith("token:wu")
    # Unshared, it is its owner's own again.
    r = await c.put(share, json={"revision": r.json()["revision"], "sharing": None},
                    headers=colleague)  # fmt: skip
    assert r.status_code == 200 and r.json()["sharing"] is None
    assert (await c.get(f"/api/dashboards/{did}", headers=colleague)).status_code == 404
    assert (await c.get(f"/api/dashboards/{did}", headers=eng)).json()["mine"]


async def test_a_caller_limited_to_a_part_never_sees_the_rest(api: Client) -> None:
    c, sec = api
    eng = as_(sec, "engineer", name="zhang")
    both = document(f"{CNC}/spindle_power", f"{PRESS}/power")
    both["panels"].append({"type": "oee", "id": "press-oee", "path": PRESS})
    r = await c.post("/api/dashboards", json=both, headers=eng)
    did = r.json()["id"]
    r = await c.put(f"/api/dashboards/{did}/sharing", json=shared(1, "viewer", ""), headers=eng)
    assert r.status_code == 200

    viewer = as_(sec, "viewer", MACHINING)
    r = await c.get(f"/api/dashboards/{did}", headers=viewer)
    assert r.status_code == 200 and "pressing" not in r.text
    got = r.json()
    assert got["hidden"] == 2 and not got["editable"]
    assert [p["id"] for p in got["document"]["panels"]] == ["t", "v", "note"]
    assert [s["path"] for s in got["document"]["panels"][0]["signals"]] == [f"{CNC}/spindle_power"]
    assert "pressing" not in (await c.get("/api/dashboards", headers=viewer)).text
    # Its panels' data: the routes that answer them check the caller's part again.
    history = {"buckets": 10, **WINDOW}
    r = await c.get("/api/history", params={"signal": f"{PRESS}/power", **history}, headers=viewer)
    assert r.status_code == 403
    r = await c.get("/api/history", params={"signal": f"{CNC}/power", **history}, headers=viewer)
    assert r.status_code == 200 and r.json()["rows"] > 0
    # Nor does it save a dashboard that names the rest: the field says where.
    r = await c.post("/api/dashboards", json=both, headers=viewer)
    assert r.status_code == 403
    assert [e["loc"] for e in r.json()["detail"]] == [
        ["body", "panels", 0, "trend", "signals", 1, "path"], ["body", "panels", 3, "oee", "path"]
    ]  # fmt: skip
    assert "pressing" not in (await c.get("/api/dashboards", headers=viewer)).text


async def test_an_import_of_another_version_or_unknown_panels_is_refused_on_its_field(
    api: Client,
) -> None:
    c, sec = api
    eng = as_(sec, "engineer")
    good = document(f"{CNC}/spindle_power")

    async def refused(doc: Any) -> list[dict[str, Any]]:
        r = await c.post("/api/dashboards", json=doc, headers=eng)
        assert r.status_code == 422, r.text
        return list(r.json()["detail"])

    newer = {**copy.deepcopy(good), "version": 2, "panels": [{"type": "hologram"}]}
    assert [(e["loc"], e["type"], e["ctx"]) for e in await refused(newer)] == [
        (["body", "version"], "dashboard_version", {"version": "2", "reads": 1})
    ]
    unversioned = {k: v for k, v in good.items() if k != "version"}
    assert [e["loc"] for e in await refused(unversioned)] == [["body", "version"]]

    bad = copy.deepcopy(good)
    bad["panels"][1]["type"] = "gauge"
    bad["panels"][2]["colour"] = "red"
    errors = await refused(bad)
    assert [(e["loc"], e["type"]) for e in errors] == [
        (["body", "panels", 1], "dashboard_panel_type"),
        (["body", "panels", 2, "text", "colour"], "extra_forbidden"),
    ]
    assert "'gauge'" in errors[0]["msg"] and errors[0]["ctx"]["type"] == "gauge"

    # What the plant holds: an unknown signal, a text where numbers are drawn, an undeclared
    # variable, a panel id twice.
    wrong = copy.deepcopy(good)
    wrong["panels"][0]["signals"] = [
        {"path": f"{CNC}/spindle_pwr"},
        {"path": f"{CNC}/product_code"},
    ]
    errors = await refused(wrong)
    assert [(e["loc"][-3:], e["type"]) for e in errors] == [
        (["signals", 0, "path"], "dashboard_unknown_path"),
        (["signals", 1, "path"], "dashboard_unknown_path"),
    ]
    assert "not a signal of numbers" in errors[1]["msg"]
    templated = copy.deepcopy(good)
    templated["panels"][1]["signal"] = "${machine}/power"
    templated["panels"][2]["id"] = "t"
    assert [(e["loc"], e["type"]) for e in await refused(templated)] == [
        (["body", "panels", 2, "id"], "dashboard_duplicate_panel"),
        (["body", "panels", 1, "value", "signal"], "dashboard_variable"),
    ]
    assert (await c.get("/api/dashboards", headers=eng)).json()["dashboards"] == []  # none saved
    assert not [e for e in sec.audit.entries() if e.action.startswith("dashboard.")]


async def test_each_line_has_a_default_dashboard_that_saves_back(api: Client) -> None:
    c, sec = api
    lines = (await c.get("/api/dashboards", headers=as_(sec, "viewer"))).json()["lines"]
    assert [x["path"] for x in lines] == [
        LINE, "shenyang/pressing/press-line-1", "shenyang/assembly/assembly-line-1",
        "shenyang/packaging/packaging-line-1",
    ]  # fmt: skip
    scoped = as_(sec, "viewer", MACHINING)
    assert [
        x["path"] for x in (await c.get("/api/dashboards", headers=scoped)).json()["lines"]
    ] == [LINE]
    r = await c.get(f"/api/dashboards/line/{LINE}", headers=scoped)
    assert r.status_code == 200 and r.json()["hidden"] == 0 and r.json()["line"] == LINE
    doc = r.json()["document"]
    types = [p["type"] for p in doc["panels"]]
    assert {"oee", "losses", "value", "timeline", "trend", "spc", "table", "alarms"} <= set(types)
    compare = next(p for p in doc["panels"] if p["id"] == "compare")
    assert [s["path"].rsplit("/", 2)[1:] for s in compare["signals"]] == [
        [f"cnc-0{i}", "power"] for i in range(1, 6)
    ]  # the same signal of the line's five machines
    assert doc["variables"] == [
        {"name": "equipment", "kind": "equipment", "default": CNC, "under": LINE}
    ]
    temp = next(p for p in doc["panels"] if p["type"] == "value")
    assert temp["signal"] == "${equipment}/spindle_temp"  # its alarm limits as levels
    assert [(t["value"], t["level"]) for t in temp["thresholds"]] == [
        (44, "warning"), (60, "alarm")
    ]  # fmt: skip
    press = f"/api/dashboards/line/{PRESS.rsplit('/', 2)[0]}"
    assert (await c.get(press, headers=scoped)).status_code == 403
    assert (await c.get("/api/dashboards/line/shenyang/nowhere", headers=as_(sec, "viewer"))
            ).status_code == 404  # fmt: skip
    # Exported and imported again as it is: a copy of one's own.
    r = await c.post("/api/dashboards", json=doc, headers=scoped)
    assert r.status_code == 201 and r.json()["document"] == doc
