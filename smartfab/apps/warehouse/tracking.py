"""Tracking of goods: every movement as a GS1 EPCIS 2.0 event (JSON-LD), order status and ETA,
and the logistics KPIs."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jsonschema_rs
import numpy as np

from smartfab.errors import SmartfabError
from smartfab.platform.points import EventBatch, EventKind

MovementKind = Literal[
    "receive", "store", "retrieve", "pick", "sort", "ship", "replenish", "consume"
]


@dataclass(frozen=True, slots=True)
class Movement:
    """One movement of goods: what (``sku``, ``qty``, the tote or pallet ``load``), from where
    to where, for which customer ``order`` if any, at second ``t`` of the warehouse's clock."""

    t: float
    kind: MovementKind
    sku: str
    qty: int
    load: str
    src: str
    dst: str
    order: str = ""


# --- GS1 EPCIS 2.0 ----------------------------------------------------------------------------

# The schema of the GS1 EPCIS repository (its root schema with every definition inlined); its
# licence terms are in schemas/EPCIS-LICENSE.
SCHEMA = Path(__file__).parent / "schemas" / "EPCIS-JSON-Schema.json"
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
URN = "urn:smartfab"

# Each movement as an EPCIS event: its type, action and CBV business step and disposition.
_EVENT: dict[str, tuple[str, str, str, str]] = {
    "receive": ("ObjectEvent", "ADD", "receiving", "in_progress"),
    "store": ("ObjectEvent", "OBSERVE", "storing", "sellable_accessible"),
    "retrieve": ("ObjectEvent", "OBSERVE", "removing", "in_progress"),
    "pick": ("AggregationEvent", "ADD", "picking", "in_progress"),
    "sort": ("ObjectEvent", "OBSERVE", "staging_outbound", "in_progress"),
    "ship": ("TransactionEvent", "ADD", "shipping", "in_transit"),
    "replenish": ("ObjectEvent", "OBSERVE", "stocking", "sellable_accessible"),
    "consume": ("TransformationEvent", "", "assembling", "active"),
}


class EpcisError(SmartfabError):
    """An event or document that breaks the EPCIS 2.0 JSON schema."""


@cache
def _validator() -> Any:
    return jsonschema_rs.validator_for(json.loads(SCHEMA.read_text(encoding="utf-8")))


def check_epcis(document_or_event: dict[str, Any]) -> None:
    """Raise ``EpcisError`` with the first violations unless it is valid EPCIS 2.0 JSON."""
    errors = list(itertools.islice(_validator().iter_errors(document_or_event), 3))
    if errors:
        where = [f"{'/'.join(map(str, e.instance_path)) or '(event)'}: {e.message}" for e in errors]
        raise EpcisError("not valid EPCIS 2.0: " + "; ".join(where))


def _time(start_us: int, t: float) -> str:
    at = datetime.fromtimestamp(start_us / 1e6 + t, UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epcis_event(m: Movement, zone: str, start_us: int) -> dict[str, Any]:
    """The EPCIS 2.0 event (JSON-LD) of one movement; its ``eventID`` is the hash of what it
    says (the CBV's event hash idea), so that the same movement gives the same id."""
    type_, action, step, disposition = _EVENT[m.kind]
    quantity = [{"epcClass": f"{URN}:sku:{m.sku}", "quantity": m.qty, "uom": "H87"}] if m.qty \
        else []  # fmt: skip
    load = [f"{URN}:load:{m.load}"] if m.load else []
    event: dict[str, Any] = {
        "type": type_,
        "eventTime": _time(start_us, m.t),
        "eventTimeZoneOffset": "+00:00",
        "bizStep": step,
        "disposition": disposition,
        "readPoint": {"id": f"{URN}:place:{zone}:{m.src}"},
        "bizLocation": {"id": f"{URN}:place:{zone}:{m.dst}"},
    }
    if type_ == "ObjectEvent":
        event |= {"action": action, "epcList": load, "quantityList": quantity}
    elif type_ == "AggregationEvent":  # the picked items join the order's shipment
        event |= {"action": action, "parentID": f"{URN}:order:{m.order}",
                  "childEPCs": [], "childQuantityList": quantity}  # fmt: skip
    elif type_ == "TransactionEvent":
        event |= {
            "action": action,
            "bizTransactionList": [{"type": "po", "bizTransaction": f"{URN}:order:{m.order}"}],
            "epcList": [f"{URN}:order:{m.order}"],
            "quantityList": quantity,
        }
    else:  # consumed by a line: inputs of the line's transformation, whose outputs are the
        # parts the line counts (linked by the transformationID)
        event |= {"inputQuantityList": quantity,
                  "transformationID": f"{URN}:transformation:{m.dst}"}  # fmt: skip
    digest = hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()
    return {"eventID": f"ni:///sha-256;{digest}?ver=CBV2.0", **event}


def epcis_document(events: list[dict[str, Any]], created: datetime | None = None
                   ) -> dict[str, Any]:  # fmt: skip
    """An EPCISDocument holding ``events``, checked against the schema."""
    doc = {
        "@context": [CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": (created or datetime.now(UTC)).isoformat(timespec="seconds"),
        "epcisBody": {"eventList": events},
    }
    check_epcis(doc)
    return doc


def epcis_events(movements: Iterable[Movement], zone: str, start_us: int) -> EventBatch:
    """The movements as EPCIS events for the store, each checked against the schema first: a
    batch that holds an invalid one is refused whole."""
    rows = []
    for m in movements:
        event = epcis_event(m, zone, start_us)
        check_epcis({"@context": [CONTEXT], **event})
        rows.append((start_us + round(m.t * 1e6), event["type"], float(m.qty), json.dumps(event)))
    if not rows:
        return EventBatch.empty()
    ts, code, value, detail = zip(*rows, strict=True)
    return EventBatch.of(np.array(ts, np.int64), zone, EventKind.EPCIS, np.array(code, object),
                         np.array(value), np.array(detail, object))  # fmt: skip


# --- order status, ETA, KPIs ------------------------------------------------------------------


Status = Literal["open", "picking", "sorted", "shipped"]


@dataclass(frozen=True, slots=True)
class OrderStatus:
    id: str
    created: float
    due: float
    status: Status
    lines: int
    lines_done: int
    eta: float  # when it is expected to ship (shipped: when it did)
    late: bool  # shipped after its due time, or expected to


def order_status(movements: Iterable[Movement], orders: Mapping[str, tuple[float, float, int]],
                 now: float, lead_s: float) -> list[OrderStatus]:  # fmt: skip
    """Each order's status from the movements: ``orders`` maps its id to (created, due, lines).
    An open order's ETA is its creation plus the lead time ``lead_s`` (what shipped orders
    took), or, once it is picking, now plus the share of that lead time its remaining lines
    need; it is late when the ETA is past its due time."""
    picked: dict[str, set[str]] = {}
    sorted_: dict[str, set[str]] = {}
    shipped: dict[str, float] = {}
    for m in movements:
        if not m.order:
            continue
        if m.kind == "pick":
            picked.setdefault(m.order, set()).add(m.sku)
        elif m.kind == "sort":
            sorted_.setdefault(m.order, set()).add(m.sku)
        elif m.kind == "ship":
            shipped.setdefault(m.order, m.t)
    out = []
    for oid, (created, due, lines) in orders.items():
        done = len(sorted_.get(oid, ()))
        status: Status
        if oid in shipped:
            status, eta = "shipped", shipped[oid]
        elif done >= lines:
            status, eta = "sorted", now
        elif oid in picked:
            status, eta = "picking", now + lead_s * (lines - done) / lines
        else:
            status, eta = "open", max(now, created + lead_s)
        out.append(OrderStatus(oid, created, due, status, lines, done, eta, eta > due))
    return out


def late_orders(statuses: Iterable[OrderStatus]) -> dict[str, float]:
    """The orders not shipped yet and predicted to be late, with the hours their ETA is past
    their due time (what ``smartfab.apps.warehouse.alarms`` raises in the alarm engine)."""
    return {s.id: (s.eta - s.due) / 3600.0 for s in statuses if s.late and s.status != "shipped"}


def kpis(statuses: Iterable[OrderStatus], movements: Iterable[Movement]) -> dict[str, float]:
    """OTIF (on time: shipped by its due time; in full: every line sorted), dock-to-stock
    minutes (receipt to storage of each load), shipped orders."""
    received: dict[str, float] = {}
    dock_to_stock: list[float] = []
    shipped_qty: dict[str, int] = {}
    for m in movements:
        if m.kind == "receive":
            received[m.load] = m.t
        elif m.kind == "store" and m.load in received:
            dock_to_stock.append(m.t - received.pop(m.load))
        elif m.kind == "ship":
            shipped_qty[m.order] = shipped_qty.get(m.order, 0) + 1
    done = [s for s in statuses if s.status == "shipped"]
    otif = [not s.late and s.lines_done >= s.lines for s in done]
    return {
        "orders_shipped": float(len(done)),
        "otif": sum(otif) / len(otif) if otif else 1.0,
        "dock_to_stock_min": float(np.mean(dock_to_stock)) / 60 if dock_to_stock else 0.0,
    }
