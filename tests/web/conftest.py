"""Authentication for the web tests: every route needs a login or an API token, so the route
tests call the API as a real client would, with a token of a real security database; and the API
served over real HTTP for the tests that send it many requests."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from fastapi import FastAPI

from smartfab.config import DEMO_PLANT
from smartfab.model.loader import load_plant
from smartfab.model.plant import Plant
from smartfab.platform.points import ArrayBatch, EventBatch, PointBatch, TextBatch, now_us
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.ingestion import Ingestion
from smartfab.web.api import create_app
from smartfab.web.auth import ApiLimits
from smartfab.web.server import ApiServer


@pytest.fixture(scope="session")
def security(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Security]:
    with Security(tmp_path_factory.mktemp("security") / "security.sqlite") as sec:
        yield sec


def bearer(
    sec: Security, role: str = "admin", scope: str = "", name: str = "test"
) -> dict[str, str]:
    """Headers of a new API token with that grant."""
    _, secret = sec.tokens.create("test", name, role, scope, expires_days=1)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="session")
def admin_headers(security: Security) -> dict[str, str]:
    return bearer(security)


@dataclass
class Served:
    url: str
    store: DuckDBStore
    security: Security
    ingestion: Ingestion
    app: FastAPI


@asynccontextmanager
async def served_api(folder: Path, filled_store: Path, plant: Plant) -> AsyncIterator[Served]:
    """The API over a copy of the filled store, with ingestion (the alarm engine; no connectors),
    served over real HTTP on a free loopback port: what the permission, scope and generated
    request tests send their requests to. Rate limits are out of their way."""
    shutil.copy(filled_store, folder / "s.duckdb")
    with DuckDBStore(folder / "s.duckdb") as store, Security(folder / "sec.sqlite") as sec:
        ingestion = Ingestion(plant, store)
        await ingestion.start(connectors=False)
        limits = ApiLimits(requests_per_s=1e6, request_burst=1e6, login_burst=1e6)
        app = create_app(PlantData(store, plant), ingestion, security=sec, limits=limits)
        api = ApiServer(app, "127.0.0.1", 0)
        await api.start()
        try:
            yield Served(api.url, store, sec, ingestion, app)
        finally:
            await api.stop()
            await ingestion.stop()


# --- a machine whose values are not all one number --------------------------------------------

KINDS_CNC = "shenyang/machining/cnc-line-1/cell-1/cnc-01"
MODES = {0: "off", 1: "automatic", 2: "setup", 3: "maintenance"}
PRODUCTS = ["HSG-4471-A", "HSG-4471-B", "FLG-2210"]
SPECTRUM = 32  # elements of the vibration spectrum
KINDS_HOURS = 2  # of history, ending at the fixture's start
# The signals the machine gets beside the demo's: an operating mode (an enum), the product and
# the material lot it works on (texts), a vibration spectrum (an array).
KINDS_SIGNALS: list[dict[str, Any]] = [
    {"name": "mode", "unit": "1", "type": "enum", "values": MODES, "sample_s": 10},
    {"name": "product_code", "unit": "1", "type": "string", "length": 16, "sample_s": 10},
    {"name": "material_lot", "unit": "1", "type": "string", "length": 16, "sample_s": 60},
    {"name": "vibration_spectrum", "unit": "mm/s", "type": "array", "length": SPECTRUM,
     "sample_s": 10},
]  # fmt: skip


def plant_with_kinds(folder: Path) -> Plant:
    """The demo plant whose first CNC also has the signals of KINDS_SIGNALS (replacing any of
    the same name), read from a plant file as a person would write it."""
    data = yaml.safe_load(DEMO_PLANT.read_text(encoding="utf-8"))
    names = {s["name"] for s in KINDS_SIGNALS}
    site = data["site"]
    for area in site["areas"]:
        for line in area.get("lines", []):
            for cell in line["cells"]:
                for eq in cell["equipment"]:
                    asset = "/".join(x["name"] for x in (site, area, line, cell, eq))
                    if asset == KINDS_CNC:
                        eq["signals"] = [s for s in eq["signals"] if s["name"] not in names] + [
                            {**s, "source": {"virtual": True}} for s in KINDS_SIGNALS
                        ]
    path = folder / "plant.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_plant(path)


@dataclass(frozen=True)
class KindsHistory:
    """What kinds_store holds: every 10 s over [start_us, end_us) the mode (a new one every 20
    minutes), the product (every 40 minutes), the spectrum and the spindle power; the material
    lot every minute (a new lot every 15 minutes, two minutes without a valid value in the
    third lot)."""

    start_us: int
    end_us: int
    modes: list[int]  # one per 20 minutes
    products: list[str]  # one per 40 minutes
    lots: list[str]  # one per 15 minutes


def fill_kinds(store: DuckDBStore, plant: Plant, end_us: int) -> KindsHistory:
    from smartfab.platform.catalog import register_plant

    ids = register_plant(store, plant)
    start = end_us - KINDS_HOURS * 3_600_000_000
    t10 = np.arange(start, end_us, 10_000_000, dtype=np.int64)
    t60 = np.arange(start, end_us, 60_000_000, dtype=np.int64)
    s10, s60 = (t10 - start) // 1_000_000, (t60 - start) // 1_000_000
    modes = [1, 2, 1, 3, 1, 1]
    lots = [f"L2026-1207-{n:03d}" for n in range(KINDS_HOURS * 4)]
    at = f"{KINDS_CNC}/"
    mode = np.array(modes, np.float64)[s10 // 1200]
    power = 12.0 + 4.0 * np.sin(s10 / 900.0)
    product = [PRODUCTS[i % len(PRODUCTS)] for i in s10 // 2400]  # a new one every 40 min
    lot = [lots[i] for i in s60 // 900]
    lot_bad = (s60 >= 2 * 900 + 300) & (s60 < 2 * 900 + 420)  # two minutes of the third lot
    lot_quality = np.where(lot_bad, 2, 0).astype(np.uint8)
    lot = ["" if bad else v for v, bad in zip(lot, lot_bad, strict=True)]
    # A spectrum whose peak moves up the bins as the tool wears.
    bins = np.arange(SPECTRUM)
    peak = 6 + (s10 / (KINDS_HOURS * 3600)) * 16
    spectrum = 0.2 + 2.5 * np.exp(-(((bins[None, :] - peak[:, None]) / 2.0) ** 2))
    store.append(
        PointBatch.concat([
            PointBatch.of(t10, ids[at + "mode"], mode),
            PointBatch.of(t10, ids[at + "spindle_power"], power),
        ]),
        EventBatch.empty(),
        texts=TextBatch.concat([
            TextBatch.of(t10, ids[at + "product_code"], product),
            TextBatch(t60, np.full(len(t60), ids[at + "material_lot"], np.int32),
                      np.array(lot, object), lot_quality),
        ]),
        arrays=ArrayBatch.of(t10, ids[at + "vibration_spectrum"], spectrum),
    )  # fmt: skip
    products = [PRODUCTS[i % len(PRODUCTS)] for i in range(KINDS_HOURS * 3600 // 2400)]
    return KindsHistory(start, end_us, modes, products, lots)


@pytest.fixture(scope="session")
def kinds_plant(tmp_path_factory: pytest.TempPathFactory) -> Plant:
    return plant_with_kinds(tmp_path_factory.mktemp("kinds-plant"))


@pytest.fixture(scope="session")
def kinds_store(
    tmp_path_factory: pytest.TempPathFactory, kinds_plant: Plant
) -> Iterator[tuple[Path, KindsHistory]]:
    """A DuckDB store of the plant with kinds, holding KindsHistory up to now (read it, do not
    write)."""
    path = tmp_path_factory.mktemp("kinds") / "smartfab.duckdb"
    with DuckDBStore(path) as store:
        history = fill_kinds(store, kinds_plant, now_us() // 60_000_000 * 60_000_000)
    yield path, history
