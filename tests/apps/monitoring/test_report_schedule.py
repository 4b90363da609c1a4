"""Scheduled reports over the demo plant's six stored hours (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from smartfab.apps.monitoring.alarms.notify import NotifySettings
from smartfab.apps.monitoring.report_schedule import ReportSchedule, write_due_reports
from smartfab.model.plant import Plant
from smartfab.platform.store.duckdb import DuckDBStore
from tests.apps.monitoring.smtp import smtp_server
from tests.conftest import FILLED_START_US

HOUR = 3_600_000_000


@pytest.fixture(scope="module")
def store(filled_store: Path) -> Iterator[DuckDBStore]:
    with DuckDBStore(filled_store) as s:
        yield s


def test_due_reports_are_written_once_and_mailed(
    store: DuckDBStore, demo_plant: Plant, tmp_path: Path
) -> None:
    schedule = ReportSchedule(folder=tmp_path, kinds=["shift", "day"], delay_s=600,
                              mail_to=["manager@plant.example"])  # fmt: skip
    # 14:05 UTC: the late shift (14:00-22:00 Shenyang) ended 5 minutes ago, less than the delay,
    # so the last one due is the early shift; the day of 2026-11-17 is not over.
    with smtp_server() as (port, inbox):
        smtp = NotifySettings(smtp_host="127.0.0.1", smtp_port=port, mail_from="r@plant.example")
        early = write_due_reports(
            store, demo_plant, schedule, smtp, FILLED_START_US + 8 * HOUR + 300_000_000
        )
        names = sorted(p.name for p in early)
        assert any("2026-11-17_early" in n for n in names) and len(names) == 4  # shift + day
        later = FILLED_START_US + 8 * HOUR + 700_000_000  # the delay has passed
        late = write_due_reports(store, demo_plant, schedule, smtp, later)
        assert sorted(p.name for p in late) == [
            "shift-report_shenyang_2026-11-17_late.pdf",
            "shift-report_shenyang_2026-11-17_late.xlsx",
        ]
        assert write_due_reports(store, demo_plant, schedule, smtp, later) == []  # made already
    mails = [message_from_bytes(c, policy=policy.default) for _, _, c in inbox.messages]
    assert len(mails) == 3  # the early shift, the day before, the late shift
    late_mail = mails[-1]
    assert str(late_mail["Subject"]).startswith("shift report 2026-11-17 late shenyang: OEE")
    attached = sorted(str(part.get_filename()) for part in late_mail.iter_attachments())  # type: ignore[attr-defined]
    assert attached == [p.name for p in sorted(late)]


def test_no_folder_no_reports(store: DuckDBStore, demo_plant: Plant) -> None:
    assert write_due_reports(store, demo_plant, ReportSchedule()) == []
