"""Exports of every kind of value: numbers, texts and arrays in one long-format file, Parquet and
CSV, read back by other readers than the writer (pyarrow's readers, the csv module, json)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from smartfab.platform.export import EXPORT_SCHEMA, ExportTooLarge, plan_export
from smartfab.platform.points import EventBatch, Quality
from smartfab.platform.queries import PlantData
from smartfab.platform.store.duckdb import DuckDBStore
from tests.platform.store.points import (
    EQ,
    T0,
    S,
    array_info,
    arrays,
    info,
    pts,
    text_info,
    texts,
    ts_us,
)

TEMP, LOT, PROFILE = f"{EQ}/temp", f"{EQ}/lot", f"{EQ}/profile"
LOTS = ['Партия "5", сталь', "产品\nA-17", ""]
PROFILES = [[0.5, 1.25], [1e300, -0.0], []]
WINDOW = (T0 / 1e6, (T0 + 10 * S) / 1e6)


@pytest.fixture
def data(tmp_path: Path) -> Iterator[PlantData]:
    store = DuckDBStore(tmp_path / "x.duckdb")
    t, lot, profile = store.register_signals(
        [info("temp"), text_info("lot"), array_info("profile", 2)]
    ).values()
    quality = [Quality.GOOD, Quality.GOOD, Quality.BAD]
    store.append(
        pts([0, 1], t, [20.5, float("nan")]),
        EventBatch.empty(),
        texts([0, 1, 2], lot, LOTS, quality),
        arrays([0, 1, 2], profile, PROFILES, quality),
    )
    with PlantData(store) as plant_data:
        yield plant_data


def test_parquet_holds_every_kind_in_its_own_column(data: PlantData, tmp_path: Path) -> None:
    plan = plan_export(data, [TEMP, LOT, PROFILE], *WINDOW, "parquet")
    assert plan.rows == 8
    out = tmp_path / "x.parquet"
    with out.open("wb") as f:
        assert plan.write(f) == 8
    got = pq.read_table(out)
    assert got.column_names == ["path", "ts", "value", "text", "array", "quality"]
    assert got.schema.field("array").type == pa.list_(pa.float64())
    assert got["path"].to_pylist() == [TEMP] * 2 + [LOT] * 3 + [PROFILE] * 3
    assert ts_us(got) == [T0, T0 + S] + [T0 + i * S for i in range(3)] * 2
    value = got["value"].to_pylist()
    assert value[0] == 20.5 and math.isnan(value[1])  # a BAD number: NaN, as stored
    assert value[2:] == [None] * 6  # no number in a text's or an array's row
    assert got["text"].to_pylist() == [None] * 2 + LOTS + [None] * 3
    assert got["array"].to_pylist() == [None] * 5 + PROFILES
    assert got["quality"].to_pylist() == [0, 0, 0, 0, 2, 0, 0, 2]
    described = json.loads(got.schema.metadata[b"smartfab.signals"])
    assert [(d["data_type"], d["length"]) for d in described] == [
        ("float", None), ("string", None), ("array", 2)
    ]  # fmt: skip


def test_csv_quotes_texts_and_writes_arrays_as_json(data: PlantData) -> None:
    plan = plan_export(data, [LOT, PROFILE, TEMP], *WINDOW, "csv")
    text = b"".join(plan.stream()).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["path", "ts", "value", "text", "array", "quality"]
    assert [r["text"] for r in rows[:3]] == LOTS  # commas, quotes and newlines survive
    assert [json.loads(r["array"]) for r in rows[3:6]] == PROFILES
    assert [r["value"] for r in rows[6:]] == ["20.5", "nan"]
    assert {r["array"] for r in rows[:3] + rows[6:]} == {""}  # other kinds: empty


def test_numbers_alone_keep_the_columns_they_always_had(data: PlantData) -> None:
    plan = plan_export(data, [TEMP], *WINDOW, "parquet")
    assert plan.schema == EXPORT_SCHEMA
    assert plan_export(data, [LOT], *WINDOW, "csv").schema.names == [
        "path", "ts", "value", "text", "quality"
    ]  # fmt: skip


def test_array_elements_are_limited_too(data: PlantData, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("smartfab.platform.export.MAX_ELEMENTS", 5)
    with pytest.raises(ExportTooLarge, match="6 array elements"):
        plan_export(data, [PROFILE], *WINDOW, "parquet")
