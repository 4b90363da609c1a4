"""`smartfab lineage`, `export` and `retention` on a copy of the filled demo store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from smartfab.cli.main import _register, app
from smartfab.platform.store.duckdb import DuckDBStore
from tests.conftest import FILLED_END_US, FILLED_START_US

runner = CliRunner(env={"COLUMNS": "250"})
_register()

SIGNAL = "shenyang/machining/cnc-line-1/cell-1/cnc-01/spindle_power"
START, END = (str(FILLED_START_US // 1_000_000), str(FILLED_END_US // 1_000_000))


@pytest.fixture
def data_dir(tmp_path: Path, filled_store: Path) -> Path:
    shutil.copy(filled_store, tmp_path / "smartfab.duckdb")
    return tmp_path


def stored(data_dir: Path) -> pa.Table:
    with DuckDBStore(data_dir / "smartfab.duckdb") as store:
        (sid,) = [s.id for s in store.signals() if s.path == SIGNAL]
        return store.raw([sid], FILLED_START_US, FILLED_END_US).select(["ts", "value", "quality"])


@pytest.mark.parametrize("name", ["power.parquet", "power.csv"])
def test_export_writes_a_file_equal_to_the_stored_points(data_dir: Path, name: str) -> None:
    from datetime import UTC, datetime

    iso = [datetime.fromtimestamp(int(t), UTC).isoformat() for t in (START, END)]
    out = data_dir / name
    result = runner.invoke(app, ["export", "-s", SIGNAL, "--start", iso[0], "--end", iso[1],
                                 "-o", str(out), "-d", str(data_dir)])  # fmt: skip
    assert result.exit_code == 0, result.output
    want = stored(data_dir)
    assert f"{want.num_rows:,} points" in result.output
    if name.endswith(".parquet"):
        got = pq.read_table(out)
    else:
        types = {"ts": pa.timestamp("us", tz="UTC"), "value": pa.float64(), "quality": pa.uint8()}
        got = pacsv.read_csv(out, convert_options=pacsv.ConvertOptions(column_types=types))
    assert got.select(["ts", "value", "quality"]).equals(want)
    assert not list(data_dir.glob("*.partial"))


def test_export_refuses_an_unknown_signal_and_too_many_points(data_dir: Path) -> None:
    out = data_dir / "x.csv"
    result = runner.invoke(app, ["export", "-s", "nope", "-o", str(out), "-d", str(data_dir)])
    assert result.exit_code == 1 and not out.exists()
    result = runner.invoke(app, ["export", "-s", SIGNAL, "--start", "2026-11-17T00:00:00+00:00",
                                 "--end", "2026-11-19T00:00:00+00:00", "--max-rows", "10",
                                 "-o", str(out), "-d", str(data_dir)])  # fmt: skip
    assert result.exit_code == 1 and not out.exists()


def test_lineage_and_retention_commands(data_dir: Path) -> None:
    result = runner.invoke(app, ["lineage", "--under", SIGNAL, "-d", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "opcua:opcua-factory" in result.output and "opc.tcp://" in result.output
    result = runner.invoke(app, ["retention", "set", "measurement=0", "-d", str(data_dir)])
    assert result.exit_code == 1
    # A slip (0.001 for 1000) would delete nearly every point; 1e308 overflows every cutoff.
    for days in ("0.001", "1e308", "nan", "36501"):
        result = runner.invoke(app, ["retention", "set", f"*={days}", "-d", str(data_dir)])
        assert result.exit_code == 1 and "from 1 to 36500" in str(result.exception), days
    result = runner.invoke(app, ["retention", "show", "-d", str(data_dir)])
    assert "no retention policy" in result.output  # nothing was saved
    result = runner.invoke(
        app, ["retention", "set", "measurement=1", "*=never", "-d", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["retention", "show", "-d", str(data_dir)])
    assert "measurement: 1 days" in result.output and "*: for ever" in result.output
    before = stored(data_dir).num_rows
    result = runner.invoke(app, ["retention", "apply", "-d", str(data_dir)])
    assert result.exit_code == 0, result.output
    # The filled history is more than a day old: the measurement's points are gone.
    assert stored(data_dir).num_rows == 0 < before
    assert "points deleted" in result.output


def test_export_of_texts_and_arrays(tmp_path: Path) -> None:
    """A string and an array signal exported by the command line, read back by another reader."""
    import csv
    import json
    from datetime import UTC, datetime

    from smartfab.platform.points import EventBatch, PointBatch
    from tests.platform.store.points import EQ, T0, S, array_info, arrays, text_info, texts

    with DuckDBStore(tmp_path / "smartfab.duckdb") as store:
        lot, profile = store.register_signals([text_info("lot"), array_info("profile", 2)]).values()
        lots = texts([0, 1], lot, ["Л-1, «A»", "批-2"])
        store.append(PointBatch.empty(), EventBatch.empty(), lots,
                     arrays([0, 1], profile, [[0.5, 1.5], [2.5, 3.5]]))  # fmt: skip
    iso = [datetime.fromtimestamp(T0 // S + d, UTC).isoformat() for d in (0, 10)]
    window = ["--start", iso[0], "--end", iso[1]]
    for name in ("kinds.csv", "kinds.parquet"):
        out = tmp_path / name
        result = runner.invoke(app, ["export", "-s", f"{EQ}/lot", "-s", f"{EQ}/profile", *window,
                                     "-o", str(out), "-d", str(tmp_path)])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "4 points" in result.output
    with (tmp_path / "kinds.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["text"] for r in rows] == ["Л-1, «A»", "批-2", "", ""]
    assert [json.loads(r["array"]) for r in rows[2:]] == [[0.5, 1.5], [2.5, 3.5]]
    parquet = pq.read_table(tmp_path / "kinds.parquet")
    assert parquet["array"].to_pylist() == [None, None, [0.5, 1.5], [2.5, 3.5]]
