"""Shift and daily reports over the demo plant's six stored hours (tests/conftest.py)."""

from __future__ import annotations

import base64
import contextlib
import math
import re
import shutil
import zlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from smartfab.apps.monitoring.production import AssetError, asset_oee
from smartfab.apps.monitoring.reports import build_report, report_period, write_report
from smartfab.model.plant import Plant
from smartfab.platform.store.duckdb import DuckDBStore
from tests.cli.test_main import smartfab
from tests.conftest import FILLED_END_US, FILLED_START_US

HOUR = 3_600_000_000


@pytest.fixture(scope="module")
def store(filled_store: Path) -> Iterator[DuckDBStore]:
    with DuckDBStore(filled_store) as s:
        yield s


def test_the_report_period_is_a_named_shift_or_the_last_one_ended(demo_plant: Plant) -> None:
    start, end, label = report_period(demo_plant, "shenyang", "shift", date(2026, 11, 17), "late")
    assert (start, end, label) == (FILLED_START_US, FILLED_START_US + 8 * HOUR, "2026-11-17 late")
    # At 15:00 UTC (23:00 local) the late shift has ended, the night shift has not.
    last = report_period(demo_plant, "shenyang", "shift", now=FILLED_START_US + 9 * HOUR)
    assert last[2] == "2026-11-17 late"
    day = report_period(demo_plant, "shenyang", "day", date(2026, 11, 17))
    assert day[2] == "2026-11-17" and day[1] - day[0] == 24 * HOUR
    # A night shift is whole, not cut at the midnight of the day it begins on.
    night = report_period(demo_plant, "shenyang", "shift", date(2026, 11, 17), "night")
    assert (night[0], night[1], night[2]) == (
        FILLED_START_US + 8 * HOUR,
        FILLED_START_US + 16 * HOUR,
        "2026-11-17 night",
    )
    with pytest.raises(AssetError, match=r"several shifts .*early, late, night"):
        report_period(demo_plant, "shenyang", "shift", date(2026, 11, 17))
    with pytest.raises(AssetError, match="no shift 'lunch'"):
        report_period(demo_plant, "shenyang", "shift", date(2026, 11, 17), "lunch")


def _pdf_text(path: Path) -> str:
    """The content streams, decoded as ReportLab encodes them (ASCII85, then deflate)."""
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", path.read_bytes(), re.S):
        data = stream.strip()
        if data.endswith(b"~>"):
            data = base64.a85decode(data[:-2])
        with contextlib.suppress(zlib.error):
            data = zlib.decompress(data)
        chunks.append(data.decode("latin-1"))
    return "".join(chunks)


def test_pdf_and_xlsx_carry_the_same_figures(
    store: DuckDBStore, demo_plant: Plant, tmp_path: Path
) -> None:
    line = "shenyang/machining/cnc-line-1"
    report = build_report(store, demo_plant, "shenyang", FILLED_START_US, FILLED_END_US,
                          "2026-11-17 late", "shift")  # fmt: skip
    site = asset_oee(store, demo_plant, "shenyang", FILLED_START_US, FILLED_END_US).figures
    assert report.total.oee == pytest.approx(float(site.oee[0]))
    assert [r.name for r in report.lines][:1] == [line]
    assert report.alarms.total > 0  # the demo's fault alarms are in the journal
    pdf, xlsx = write_report(report, tmp_path, ["pdf", "xlsx"])
    assert pdf.read_bytes().startswith(b"%PDF")
    text = _pdf_text(pdf)
    assert "Six big losses" in text and f"{100 * report.total.oee:.1f} %" in text
    wb = load_workbook(xlsx)
    summary = [row for row in wb["Summary"].iter_rows(values_only=True) if row and row[0]]
    total = next(row for row in summary if row[0] == "shenyang")
    assert total[1] == pytest.approx(report.total.oee)
    assert total[5] == report.total.good
    equipment = {row[0]: row for row in wb["Equipment"].iter_rows(min_row=2, values_only=True)}
    assert set(equipment) == {r.name for r in report.equipment}
    losses = dict(wb["Losses"].iter_rows(min_row=2, values_only=True))
    for name, hours in report.losses_h.items():
        assert losses[name] == (None if math.isnan(hours) else pytest.approx(hours))


def test_report_command_writes_the_files(filled_store: Path, tmp_path: Path) -> None:
    # A copy: the module's fixture holds the shared store open, and DuckDB locks it.
    shutil.copy(filled_store, tmp_path / "smartfab.duckdb")
    out = tmp_path / "reports"
    done = smartfab("report", "shift", "--day", "2026-11-17", "--shift", "late", "--out", str(out),
                    "-d", str(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2026-11-17 late shenyang: OEE" in done.stdout
    assert sorted(p.suffix for p in out.iterdir()) == [".pdf", ".xlsx"]
    # A shift before the first data: "no data", never "nan%".
    before = smartfab("report", "shift", "--day", "2026-11-10", "--shift", "late", "--out",
                      str(out), "-d", str(tmp_path))  # fmt: skip
    assert before.returncode == 0, before.stderr
    assert "2026-11-10 late shenyang: OEE no data" in before.stdout
    assert "nan" not in before.stdout.lower()
    wrong = smartfab("report", "week", "-d", str(tmp_path))
    assert wrong.returncode == 1 and "choose 'shift' or 'day'" in wrong.stderr


def test_a_shift_in_progress_is_reported_up_to_now(
    store: DuckDBStore, demo_plant: Plant, tmp_path: Path
) -> None:
    # At 16:00 local (08:00 UTC) the late shift (14:00-22:00) has run two hours.
    now = FILLED_START_US + 2 * HOUR
    start, end = FILLED_START_US, FILLED_START_US + 8 * HOUR
    report = build_report(store, demo_plant, "shenyang", start, end, "late", "shift", now=now)
    assert report.in_progress and report.until == now and report.end == end
    so_far = asset_oee(store, demo_plant, "shenyang", start, now).figures
    assert report.total.oee == pytest.approx(float(so_far.oee[0]))
    assert report.total.planned_busy_h <= 2 * len(report.equipment)  # two hours a machine
    pdf, xlsx = write_report(report, tmp_path, ["pdf", "xlsx"])
    assert "(in progress: up to" in _pdf_text(pdf)
    summary = {r[0]: r[1] for r in load_workbook(xlsx)["Summary"].iter_rows(values_only=True)}
    assert summary["in progress: figures up to"] == report.local(now)


def test_a_period_without_data_says_so_in_every_format(
    store: DuckDBStore, demo_plant: Plant, tmp_path: Path
) -> None:
    start = FILLED_START_US - 7 * 24 * HOUR
    report = build_report(store, demo_plant, "shenyang", start, start + 8 * HOUR, "x", "shift")
    assert report.total.no_data and all(r.no_data for r in report.equipment)
    pdf, xlsx = write_report(report, tmp_path, ["pdf", "xlsx"])
    assert "no data" in _pdf_text(pdf) and "nan" not in _pdf_text(pdf).lower()
    total = next(r for r in load_workbook(xlsx)["Summary"].iter_rows(values_only=True)
                 if r and r[0] == "shenyang")  # fmt: skip
    assert total[1] == "no data"
