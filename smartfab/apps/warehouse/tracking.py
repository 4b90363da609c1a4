"""Tracking of goods: every movement as a GS1 EPCIS 2.0 event (JSON-LD), order status and ETA,
and the logistics KPIs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
