"""Values that are not one number through the REST API: an enum by its code and name, texts
(product, material lot) and an array (a spectrum), in the signal listings, the latest values, the
history (changes of a text or an enum, evenly sampled profiles of an array) and the live feed."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.web.api import create_app
from smartfab.web.live import LiveFeed
from tests.web.conftest import KINDS_CNC, MODES, SPECTRUM, KindsHistory

CNC = KINDS_CNC


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat()


def _us(iso: str) -> int:
    return round(datetime.fromisoformat(iso).timestamp() * 1e6)


@pytest.fixture(scope="module")
def history(kinds_store: tuple[Path, KindsHistory]) -> KindsHistory:
    return kinds_store[1]


@pytest.fixture(scope="module")
def data(kinds_store: tuple[Path, KindsHistory], kinds_plant: Plant) -> Iterator[PlantData]:
    with DuckDBStore(kinds_store[0]) as store:
        yield PlantData(store, kinds_plant)


@pytest.fixture(scope="module")
def client(
    data: PlantData, security: Security, admin_headers: dict[str, str]
) -> Iterator[TestClient]:
    yield TestClient(create_app(data, security=security), headers=admin_headers)


def _window(history: KindsHistory) -> dict[str, str]:
    return {"start": _iso(history.start_us), "end": _iso(history.end_us)}


def test_signal_listings_say_type_enum_names_and_length(client: TestClient) -> None:
    listed = {s["name"]: s for s in client.get("/api/signals", params={"under": CNC}).json()}
    assert listed["mode"]["data_type"] == "enum" and listed["mode"]["kind"] == "number"
    assert listed["mode"]["values"] == {str(k): v for k, v in MODES.items()}  # JSON keys
    assert listed["product_code"]["kind"] == "text" and listed["product_code"]["length"] == 16
    assert listed["vibration_spectrum"]["kind"] == "array"
    assert listed["vibration_spectrum"]["length"] == SPECTRUM
    power = listed["spindle_power"]
    assert power["kind"] == "number" and power["values"] is None and power["length"] is None

    equipment = {s["name"]: s for s in client.get(f"/api/equipment/{CNC}").json()["signals"]}
    assert equipment["mode"]["values"]["3"] == "maintenance"
    assert equipment["material_lot"]["kind"] == "text"
    assert equipment["vibration_spectrum"]["length"] == SPECTRUM
    assert equipment["spindle_power"]["data_type"] == "float"


def test_latest_values_of_every_kind(client: TestClient, history: KindsHistory) -> None:
    body = client.get("/api/latest", params={"under": CNC}).json()
    cols = body["columns"]
    rows = {p: i for i, p in enumerate(cols["path"])}
    assert body["rows"] == len(rows) == 5  # the points in the store: the demo's are not there
    assert cols["signal_id"] == sorted(cols["signal_id"])

    def row(name: str) -> dict[str, object]:
        return {k: v[rows[f"{CNC}/{name}"]] for k, v in cols.items()}

    last_ts = _iso(history.end_us - 10_000_000)
    mode = row("mode")
    assert mode["kind"] == "number" and mode["value"] == history.modes[-1]
    assert mode["value_name"] == MODES[history.modes[-1]] and mode["ts"] == last_ts
    product = row("product_code")
    assert product["kind"] == "text" and product["value"] == history.products[-1]
    assert product["value_name"] is None
    assert row("material_lot")["value"] == history.lots[-1]
    spectrum = row("vibration_spectrum")
    assert spectrum["kind"] == "array" and isinstance(spectrum["value"], list)
    assert len(spectrum["value"]) == SPECTRUM and spectrum["unit"] == "mm/s"
    assert row("spindle_power")["value_name"] is None

    # Named signals of different kinds in one request.
    named = client.get(
        "/api/latest", params={"signal": [f"{CNC}/product_code", f"{CNC}/spindle_power"]}
    ).json()
    assert sorted(named["columns"]["kind"]) == ["number", "text"]


def test_text_history_is_its_changes(client: TestClient, history: KindsHistory) -> None:
    body = client.get(
        "/api/history", params={"signal": f"{CNC}/material_lot", **_window(history)}
    ).json()
    assert body["form"] == "changes" and body["kind"] == "text" and body["bucket_s"] is None
    cols = body["columns"]
    # A lot every 15 minutes, and in the third two minutes without a valid value: the lot, then
    # nothing (BAD, ""), then the lot again are three changes.
    assert body["rows"] == len(history.lots) + 2 and not body["truncated"]
    assert cols["ts"][0] == _iso(history.start_us)
    assert [v for v in cols["value"] if v] == [*history.lots[:3], *history.lots[2:]]
    bad = cols["quality"].index(2)
    assert cols["value"][bad] == "" and cols["value"][bad + 1] == history.lots[2]
    assert "value_name" not in cols
    assert all(_us(b) > _us(a) for a, b in itertools.pairwise(cols["ts"]))

    products = client.get(
        "/api/history", params={"signal": f"{CNC}/product_code", **_window(history)}
    ).json()
    assert products["columns"]["value"] == history.products

    # At most `limit` changes, the first ones, and the answer says it was cut.
    cut = client.get(
        "/api/history", params={"signal": f"{CNC}/material_lot", "limit": 2, **_window(history)}
    ).json()
    assert cut["rows"] == 2 and cut["truncated"] and cut["columns"]["value"] == history.lots[:2]


def test_changes_begin_with_the_value_in_force(client: TestClient, history: KindsHistory) -> None:
    """A range that starts between two points begins with the point before it, which says what
    held at its start (its ts lies before the start); so does a range without any point."""
    path = f"{CNC}/material_lot"
    start = history.start_us + 20 * 60_000_000 + 30_000_000  # 20.5 minutes in: the second lot
    body = client.get(
        "/api/history",
        params={"signal": path, "start": _iso(start), "end": _iso(history.end_us)},
    ).json()
    assert body["columns"]["ts"][0] == _iso(start - 30_000_000)
    assert body["columns"]["value"][:2] == history.lots[1:3]
    quiet = client.get(  # lots are read every minute: nothing within these 20 s
        "/api/history",
        params={"signal": path, "start": _iso(start), "end": _iso(start + 20_000_000)},
    ).json()
    assert quiet["rows"] == 1 and quiet["columns"]["value"] == [history.lots[1]]
    before = client.get(
        "/api/history",
        params={"signal": path, "start": _iso(history.start_us - 3_600_000_000),
                "end": _iso(history.start_us)},
    ).json()  # fmt: skip
    assert before["rows"] == 0


def test_enum_history_as_changes_with_names_or_as_numbers(
    client: TestClient, history: KindsHistory
) -> None:
    path = f"{CNC}/mode"
    changes = client.get(
        "/api/history", params={"signal": path, "changes": True, **_window(history)}
    ).json()
    assert changes["form"] == "changes" and changes["values"]["1"] == "automatic"
    # Modes 1, 2, 1, 3, 1, 1 in blocks of 20 minutes: the last two are one stretch.
    assert changes["columns"]["value"] == [1, 2, 1, 3, 1]
    assert changes["columns"]["value_name"] == [MODES[m] for m in (1, 2, 1, 3, 1)]

    raw = client.get("/api/history", params={"signal": path, **_window(history)}).json()
    assert raw["form"] == "raw" and raw["rows"] == 720
    assert set(raw["columns"]["value_name"]) == {"automatic", "setup", "maintenance"}
    buckets = client.get(
        "/api/history", params={"signal": path, "buckets": 6, **_window(history)}
    ).json()
    assert buckets["form"] == "buckets" and "value_name" not in buckets["columns"]
    assert buckets["columns"]["max"] == [float(m) for m in history.modes]


def test_array_history_is_evenly_spread_profiles(client: TestClient, history: KindsHistory) -> None:
    path = f"{CNC}/vibration_spectrum"
    everything = client.get(
        "/api/history", params={"signal": path, "limit": 1000, **_window(history)}
    ).json()
    assert everything["form"] == "profiles" and everything["in_range"] == 720
    assert everything["rows"] == 720 and everything["length"] == SPECTRUM
    assert {len(v) for v in everything["columns"]["value"]} == {SPECTRUM}

    # 100 of the 720: the first of each 72-second slice of the range, so 70 or 80 s apart.
    sampled = client.get(
        "/api/history", params={"signal": path, "limit": 100, **_window(history)}
    ).json()
    assert sampled["in_range"] == 720 and sampled["rows"] == 100
    ts = [_us(t) for t in sampled["columns"]["ts"]]
    assert {b - a for a, b in itertools.pairwise(ts)} == {70_000_000, 80_000_000}
    assert ts[0] == history.start_us
    # The spectrum's peak moves up the bins over the range.
    peaks = [v.index(max(v)) for v in sampled["columns"]["value"]]
    assert peaks == sorted(peaks) and peaks[-1] - peaks[0] >= 10
    # By default 500 at most; `buckets` asks for about that many profiles too.
    default = client.get("/api/history", params={"signal": path, **_window(history)}).json()
    assert default["rows"] == 500
    ten = client.get("/api/history", params={"signal": path, "buckets": 10, **_window(history)})
    assert ten.json()["rows"] == 10


def test_export_holds_texts_and_arrays(client: TestClient, history: KindsHistory) -> None:
    paths = [f"{CNC}/mode", f"{CNC}/product_code", f"{CNC}/vibration_spectrum"]
    r = client.get("/api/export", params={"signal": paths, "format": "parquet", **_window(history)})
    assert r.status_code == 200 and r.headers["X-Points"] == str(3 * 720)
    t = pq.read_table(io.BytesIO(r.content))
    assert t.column_names == ["path", "ts", "value", "text", "array", "quality"]
    rows = t.to_pylist()
    product = [x["text"] for x in rows if x["path"] == paths[1]]
    assert list(dict.fromkeys(product)) == history.products
    spectra = [x["array"] for x in rows if x["path"] == paths[2]]
    assert len(spectra) == 720 and {len(a) for a in spectra} == {SPECTRUM}
    csv = client.get("/api/export", params={"signal": paths[1:], "format": "csv",
                                             **_window(history)})  # fmt: skip
    assert csv.status_code == 200 and history.products[0] in csv.text


def test_what_a_kind_cannot_answer_is_refused_with_the_reason(
    client: TestClient, history: KindsHistory
) -> None:
    r = client.get(
        "/api/history",
        params={"signal": f"{CNC}/product_code", "buckets": 100, **_window(history)},
    )
    assert r.status_code == 422 and "text signal" in r.json()["detail"]
    r = client.get(
        "/api/history",
        params={"signal": f"{CNC}/vibration_spectrum", "changes": True, **_window(history)},
    )
    assert r.status_code == 422 and "profiles, not changes" in r.json()["detail"]
    r = client.get("/api/spc", params={"signal": f"{CNC}/product_code", **_window(history)})
    assert r.status_code == 422 and "string" in r.json()["detail"]


async def test_live_feed_carries_texts_arrays_and_enum_codes(
    data: PlantData, history: KindsHistory
) -> None:
    feed = LiveFeed(data, poll_s=0.05)
    stream = feed.stream(CNC)
    async with asyncio.timeout(10):
        first = await anext(stream)
    await stream.aclose()
    values = json.loads(first.split("data: ", 1)[1])["values"]
    assert values[f"{CNC}/product_code"][1] == history.products[-1]
    assert values[f"{CNC}/mode"][1] == history.modes[-1]
    assert len(values[f"{CNC}/vibration_spectrum"][1]) == SPECTRUM
