"""Every movement of the virtual warehouse as a GS1 EPCIS 2.0 event valid against the standard's
JSON schema, stored as events; order status, ETA, late alarms and KPIs."""

from __future__ import annotations

import json

import pytest

from smartfab.apps.warehouse import tracking as tr
from smartfab.apps.warehouse.tracking import Movement
from smartfab.config import DEMO_PLANT
from smartfab.model.loader import load_plant
from smartfab.platform.points import EventKind
from smartfab.virtual.warehouse import VirtualWarehouse

START = 1_767_225_600_000_000


@pytest.fixture(scope="module")
def warehouse() -> VirtualWarehouse:
    w = VirtualWarehouse(load_plant(DEMO_PLANT), seed=2)
    w.run(0.3)
    return w


def test_every_kind_of_movement_is_a_valid_epcis_event(warehouse: VirtualWarehouse) -> None:
    first = {m.kind: m for m in reversed(warehouse.movements)}
    assert set(first) == set(tr._EVENT)
    events = [tr.epcis_event(m, "central", START) for m in first.values()]
    doc = tr.epcis_document(events)  # checked against the schema
    types = {e["type"] for e in doc["epcisBody"]["eventList"]}
    assert types == {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent"}
    ship = next(e for e in events if e["type"] == "TransactionEvent")
    assert ship["bizTransactionList"][0]["type"] == "po" and ship["bizStep"] == "shipping"


def test_the_movements_are_stored_as_events(warehouse: VirtualWarehouse) -> None:
    batch = tr.epcis_events(warehouse.movements, "central", START)
    assert len(batch) == len(warehouse.movements)
    assert set(batch.kind) == {EventKind.EPCIS}
    detail = json.loads(batch.detail[0])
    assert detail["type"] == batch.code[0] and detail["eventID"].startswith("ni:///sha-256;")


def test_an_event_breaking_the_schema_is_refused() -> None:
    event = tr.epcis_event(Movement(1.0, "store", "BRG", 5, "L1", "in-1", "a-0-001-01"), "z",
                           START)  # fmt: skip
    event["action"] = "MOVE"
    with pytest.raises(tr.EpcisError, match="action"):
        tr.check_epcis({"@context": [tr.CONTEXT], **event})


def test_order_status_eta_late_alarm_and_kpis() -> None:
    moves = [
        Movement(0, "receive", "A", 10, "L1", "truck", "in-1"),
        Movement(600, "store", "A", 10, "L1", "a", "a-0-001-01"),
        Movement(700, "pick", "A", 2, "L1", "gtp", "chute-1", "O1"),
        Movement(800, "sort", "A", 2, "O1", "sorter", "chute-1", "O1"),
        Movement(900, "ship", "A", 2, "O1", "chute-1", "out-1", "O1"),
        Movement(950, "pick", "A", 1, "L1", "gtp", "chute-2", "O2"),
    ]
    orders = {"O1": (500.0, 1000.0, 1), "O2": (900.0, 1200.0, 2), "O3": (990.0, 5000.0, 1)}
    status = {s.id: s for s in tr.order_status(moves, orders, now=1000.0, lead_s=600.0)}
    assert status["O1"].status == "shipped" and not status["O1"].late
    assert status["O2"].status == "picking" and status["O2"].eta == 1600.0 and status["O2"].late
    assert status["O3"].status == "open" and status["O3"].eta == 1590.0 and not status["O3"].late
    assert tr.late_orders(status.values()) == {"O2": (1600.0 - 1200.0) / 3600}
    k = tr.kpis(status.values(), moves)
    assert k["otif"] == 1.0 and k["dock_to_stock_min"] == 10.0 and k["orders_shipped"] == 1
