"""What the platform knows about the plant's own digitalisation, as figures with their origin:
the evidence behind a proposed maturity answer and behind the transformation KPIs.

Each :class:`Evidence` is one metric, a share between 0 and 1, with the counts it comes from and
where they were read (the plant file, the store over a window, the model registry, the security
database, the settings). A metric the platform cannot know (no plant file, an empty store) is
absent, never zero: a proposed answer needs evidence, and "unknown" is not "none"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from smartfab.model.plant import RD_DESIGN_CATEGORIES, Plant
from smartfab.platform.points import EventKind
from smartfab.platform.security import Security
from smartfab.platform.store.base import Store

# Kept by the twin's routes when a line twin was calibrated from the stored history.
TWIN_SETTING = "web.twin.params"
_DAY_US = 86_400_000_000


@dataclass(frozen=True)
class Evidence:
    metric: str
    value: float  # a share, 0..1
    numerator: float
    denominator: float
    source: str  # where the figures were read: "store", "plant file", "model registry", ...
    detail: str  # the figures in words, in English (pages translate the metric's name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Window:
    start: int  # epoch µs
    end: int

    def text(self) -> str:
        f = "%Y-%m-%d %H:%M"
        a = datetime.fromtimestamp(self.start / 1e6, UTC).strftime(f)
        b = datetime.fromtimestamp(self.end / 1e6, UTC).strftime(f)
        return f"{a} .. {b} UTC"


def store_window(store: Store, days: float) -> Window | None:
    """The last ``days`` of the store's data (ending at its newest point), None when empty."""
    newest = None
    for kind in ("number", "text", "array"):
        ts = store.latest(kind=kind).column("ts")
        if len(ts):
            top = int(pc.max(ts.cast("int64")).as_py())
            newest = top if newest is None else max(newest, top)
    if newest is None:
        return None
    return Window(newest - int(days * _DAY_US), newest + 1)


def _share(metric: str, num: float, den: float, source: str, what: str) -> Evidence | None:
    if den <= 0:
        return None
    return Evidence(metric, num / den, num, den, source, f"{num:g} of {den:g} {what}")


def plant_evidence(plant: Plant) -> list[Evidence]:
    """Figures of the plant file alone."""
    equipment = [e.equipment for e in plant.iter_equipment()]
    key = [e for e in equipment if e.key_process]
    numbers = [s.signal for s in plant.iter_signals() if s.signal.kind == "number"]
    out = [
        _share(
            "cnc_rate", sum(e.numerical_control for e in key), len(key), "plant file",
            "key-process equipment is numerically controlled",
        ),
        _share(
            "quality_rules", sum(s.quality is not None for s in numbers), len(numbers),
            "plant file", "numeric signals have data-quality rules",
        ),
        _share(
            "alarms_configured",
            sum(e.alarms is not None or any(s.alarms is not None for s in e.signals)
                for e in equipment),
            len(equipment), "plant file", "equipment have alarm rules",
        ),
        _share(
            "energy_metered",
            sum(any(s.role == "energy" for s in e.signals) for e in equipment),
            len(equipment), "plant file", "equipment have an energy meter signal",
        ),
    ]  # fmt: skip
    digital = plant.digital
    if digital is not None and digital.design_staff > 0:
        tools = [s for s in digital.software if s.category in RD_DESIGN_CATEGORIES]
        users = max((s.users for s in tools), default=0)
        names = ", ".join(s.name for s in tools) or "none"
        what = f"design staff use a digital design tool ({names})"
        out.append(_share("rd_tool_penetration", users, digital.design_staff, "plant file", what))
    return [e for e in out if e is not None]


def store_evidence(plant: Plant, store: Store, window: Window) -> list[Evidence]:
    """Figures of the store over ``window``: what is connected, collected, tracked and managed."""
    catalogue = {s.path: s for s in store.signals()}
    signals = [s.path for s in plant.iter_signals()]
    fresh: set[int] = set()
    for kind in ("number", "text", "array"):
        t = store.latest(kind=kind)
        ts = t.column("ts").cast("int64").to_numpy()
        ids = t.column("signal_id").to_numpy()
        fresh.update(int(i) for i, x in zip(ids, ts, strict=True) if x >= window.start)
    collecting = {p for p in signals if p in catalogue and catalogue[p].id in fresh}
    equipment = [e.path for e in plant.iter_equipment()]
    connected = {p.rsplit("/", 1)[0] for p in collecting}
    where = f"store, {window.text()}"
    ev = store.events(window.start, window.end, kinds=[EventKind.STATE, EventKind.COUNT,
                                                      EventKind.ALARM, EventKind.WORKORDER,
                                                      EventKind.QUALITY])  # fmt: skip
    kinds = ev.column("kind").to_pylist()
    eq = ev.column("equipment").to_pylist()
    with_state = {e for k, e in zip(kinds, eq, strict=True) if k == EventKind.STATE}
    with_count = {e for k, e in zip(kinds, eq, strict=True) if k == EventKind.COUNT}
    cycles = {e.path for e in plant.iter_equipment() if e.equipment.ideal_cycle_s}
    oee = with_state & with_count & cycles
    alarms = sum(k == EventKind.ALARM for k in kinds)
    orders = sum(k == EventKind.WORKORDER for k in kinds)
    flagged = sum(k == EventKind.QUALITY for k in kinds)
    out = [
        _share("connection_rate", len(connected & set(equipment)), len(equipment), where,
               "equipment sent data"),
        _share("collection_coverage", len(collecting), len(signals), where,
               "signals of the plant file have points"),
        _share("oee_tracked", len(oee), len(equipment), where,
               "equipment report states and counts and have an ideal cycle (OEE)"),
    ]  # fmt: skip
    out.append(
        Evidence("alarms_managed", 1.0 if alarms else 0.0, alarms, alarms, where,
                 f"{alarms} alarm transitions journalled by the alarm engine")
    )  # fmt: skip
    out.append(
        Evidence("quality_flags", 1.0 if flagged else 0.0, flagged, flagged, where,
                 f"{flagged} data-quality events (points flagged or rejected at ingestion)")
    )  # fmt: skip
    out.append(
        Evidence("work_orders", 1.0 if orders else 0.0, orders, orders, where,
                 f"{orders} work-order changes journalled")
    )  # fmt: skip
    twin = store.get_setting(TWIN_SETTING)
    out.append(
        Evidence("twin_used", 1.0 if twin else 0.0, int(bool(twin)), 1, "store settings",
                 "a line twin was calibrated from the history" if twin
                 else "no line twin calibrated")
    )  # fmt: skip
    return [e for e in out if e is not None]


def registry_evidence(models_dir: Path | None) -> list[Evidence]:
    """Predictive maintenance in use: models registered for the plant's equipment."""
    if models_dir is None:
        return []
    from smartfab.apps.maintenance.registry import ModelRegistry  # heavy: only when asked

    names = ModelRegistry(models_dir).names()
    n = len(names)
    return [
        Evidence("predictive_maintenance", 1.0 if n else 0.0, n, n, "model registry",
                 f"{n} maintenance models registered" + (f": {', '.join(names)}" if n else ""))
    ]  # fmt: skip


def security_evidence(plant: Plant, security: Security | None, tls: bool) -> list[Evidence]:
    """Security controls on: each counts one (users with passwords, an intact audit chain, HTTPS,
    encrypted device connections)."""
    controls: list[tuple[str, bool]] = [("HTTPS for the web app and API", tls)]
    if security is not None:
        controls.append(("named user accounts", len(security.users.list()) > 0))
        check = security.audit.verify()
        controls.append((f"hash-chained audit log intact ({check.entries} entries)", check.ok))
    for c in plant.connections:
        if c.protocol == "opcua":
            controls.append((f"OPC UA {c.name} signed and encrypted",
                             c.security_mode == "SignAndEncrypt"))  # fmt: skip
        elif c.protocol == "mqtt":
            controls.append((f"MQTT {c.name} over TLS", c.tls))
    on = [name for name, ok in controls if ok]
    off = [name for name, ok in controls if not ok]
    detail = f"{len(on)} of {len(controls)} controls on" + (
        f"; off: {', '.join(off)}" if off else ""
    )
    return [
        Evidence("security_controls", len(on) / len(controls), len(on), len(controls),
                 "settings, security database, plant file", detail)
    ]  # fmt: skip


def gather(
    plant: Plant,
    store: Store | None,
    *,
    days: float = 7.0,
    models_dir: Path | None = None,
    security: Security | None = None,
    tls: bool = False,
) -> dict[str, Evidence]:
    """Every metric the platform holds evidence for, by name."""
    found: Iterable[Evidence] = plant_evidence(plant)
    if store is not None:
        window = store_window(store, days)
        if window is not None:
            found = [*found, *store_evidence(plant, store, window)]
    found = [*found, *registry_evidence(models_dir), *security_evidence(plant, security, tls)]
    return {e.metric: e for e in found}
