"""Transformation KPIs of the plant, their trend and their distance to the national targets and
figures: the key-process CNC rate and the digital R&D and design tool penetration (from the plant
file), the equipment connection rate and the data collection coverage (from the store).

Every target the data files hold for a KPI is shown with its source (the 2027 CNC-rate target is
70 % in one statement and 75 % in a later one: both). The national figures come from the
statements in ``econ/china_kpi_points.csv`` when the data folder is given. The trend is the KPIs
as they were each time they were recorded (:class:`KpiHistory`)."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smartfab.apps.transformation.evidence import Evidence
from smartfab.apps.transformation.maturity import Target
from smartfab.platform.points import now_us
from smartfab.platform.store.base import Store

KPIS = ("cnc_rate", "rd_tool_penetration", "connection_rate", "collection_coverage")
# The statements' names of the KPIs (econ/china_kpi_points.csv).
NATIONAL_METRIC = {
    "cnc_rate": "key_process_cnc_rate",
    "rd_tool_penetration": "digital_rd_design_tool_penetration",
}
SETTING = "transformation.kpis"


def national_figures(data: Path) -> dict[str, list[dict[str, Any]]]:
    """The national figures of each KPI, oldest first: period, value (%), source, note."""
    out: dict[str, list[dict[str, Any]]] = {}
    with (data / "china_kpi_points.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for kpi, metric in NATIONAL_METRIC.items():
        out[kpi] = [
            {"period": r["period"], "value": float(r["value"]), "source": r["source_url"],
             "note": r["note"]}
            for r in rows if r["metric"] == metric
        ]  # fmt: skip
        out[kpi].sort(key=lambda r: str(r["period"]))
    return out


def kpis(
    evidence: Mapping[str, Evidence],
    targets: list[Target],
    national: Mapping[str, list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """Each KPI (percent, None where the platform cannot know it) with its origin, every target
    and the gap to it (points still to gain, 0 when met), and the newest national figure."""
    out = []
    for kpi in KPIS:
        e = evidence.get(kpi)
        value = None if e is None else round(100 * e.value, 2)
        row: dict[str, Any] = {
            "kpi": kpi,
            "value": value,
            "detail": e.detail if e else "no evidence",
            "source": e.source if e else "",
            "targets": [
                {"value": t.value, "year": t.year, "source": t.source.model_dump(), "url": t.url,
                 "label": t.label.model_dump() if t.label else None,
                 "gap": None if value is None else round(max(0.0, t.value - value), 2),
                 "met": None if value is None else value > t.value}
                for t in targets if t.kpi == kpi
            ],
        }  # fmt: skip
        points = (national or {}).get(kpi)
        if points:
            last = points[-1]
            row["national"] = {**last, "difference": None if value is None
                               else round(value - last["value"], 2)}  # fmt: skip
        out.append(row)
    return out


class KpiHistory:
    """The KPIs each time they were recorded, oldest first, in the store's settings."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()

    def all(self) -> list[dict[str, Any]]:
        raw = self.store.get_setting(SETTING)
        return list(json.loads(raw)) if raw else []

    def record(self, rows: list[dict[str, Any]], at: int | None = None) -> dict[str, Any]:
        entry = {"at": now_us() if at is None else at,
                 "values": {r["kpi"]: r["value"] for r in rows}}  # fmt: skip
        with self._lock:
            items = self.all()
            items.append(entry)
            self.store.set_setting(SETTING, json.dumps(items, sort_keys=True))
        return entry
