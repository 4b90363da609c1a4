"""Reports on a schedule: after every shift and day ends, its report is written to a folder and,
optionally, e-mailed (through the SMTP server of the alarm notifications).

The schedule is driven by the files, not by a timer per period: every minute the last ended shift
and day of each asset is looked up, and its report is made unless its files are in the folder
already. So a restart neither repeats nor misses a report (one that ended while smartfab was down
is made when it is back, as long as it is the last of its kind), and a period is reported
``delay_s`` after its end, when late data has arrived.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from smartfab.apps.monitoring.alarms.notify import NotifySettings, send_mail
from smartfab.apps.monitoring.production import AssetError
from smartfab.apps.monitoring.reports import (
    ReportKind,
    build_report,
    report_period,
    write_report,
)
from smartfab.model.plant import Plant
from smartfab.platform.points import now_us
from smartfab.platform.store.base import Store

log = logging.getLogger(__name__)
Format = Literal["pdf", "xlsx"]
_KINDS: tuple[ReportKind, ...] = ("shift", "day")
_FORMATS: tuple[Format, ...] = ("pdf", "xlsx")


class ReportSchedule(BaseModel):
    """Which reports to make by themselves; none while ``folder`` is not set."""

    model_config = ConfigDict(extra="forbid")

    folder: Path | None = None
    kinds: list[ReportKind] = Field(default_factory=lambda: list(_KINDS))
    assets: list[str] = Field(default_factory=list)  # default: the site
    formats: list[Format] = Field(default_factory=lambda: list(_FORMATS))
    delay_s: float = Field(default=300, ge=0)  # after the period's end
    mail_to: list[str] = Field(default_factory=list)
    poll_s: float = Field(default=60, gt=0)


def write_due_reports(
    store: Store,
    plant: Plant,
    schedule: ReportSchedule,
    smtp: NotifySettings | None = None,
    now: int | None = None,
) -> list[Path]:
    """Make the reports that are due at ``now`` and not in the folder yet; returns their files.
    A report that cannot be made (an asset without shifts, say) is logged, never raised: the
    others still come."""
    if schedule.folder is None:
        return []
    now = now_us() if now is None else now
    made: list[Path] = []
    for asset in schedule.assets or [plant.site.name]:
        for kind in schedule.kinds:
            try:
                start, end, label = report_period(
                    plant, asset, kind, now=now - int(schedule.delay_s * 1e6)
                )
                report = build_report(store, plant, asset, start, end, label, kind)
            except AssetError as exc:
                log.warning("scheduled %s report of %s: %s", kind, asset, exc)
                continue
            wanted = [schedule.folder / f"{report.file_stem}.{f}" for f in schedule.formats]
            if all(p.exists() for p in wanted):
                continue
            files = write_report(report, schedule.folder, list(schedule.formats))
            made += files
            log.info("wrote the %s report %s of %s", kind, label, asset)
            if schedule.mail_to and smtp is not None and smtp.smtp_host:
                t = report.total
                try:
                    send_mail(
                        smtp,
                        schedule.mail_to,
                        f"{kind} report {label} {asset}: OEE {t.oee:.1%}",
                        f"The {kind} report {label} of {asset} is attached.\n\n"
                        f"OEE {t.oee:.1%}, good {t.good:,.0f}, scrap {t.scrap:,.0f}, "
                        f"{report.alarms.total} alarms.\n",
                        files,
                    )
                except (smtplib.SMTPException, OSError) as exc:
                    log.error("mailing the %s report %s failed: %s", kind, label, exc)
    return made


async def run_report_schedule(
    store: Store, plant: Plant, schedule: ReportSchedule, smtp: NotifySettings | None = None
) -> None:
    """Make due reports every ``poll_s`` until cancelled (in a worker thread: a report reads
    the store for seconds)."""
    while True:
        try:
            await asyncio.to_thread(write_due_reports, store, plant, schedule, smtp)
        except Exception:  # a bug in one round must not end the schedule for good
            log.exception("scheduled reports failed")
        await asyncio.sleep(schedule.poll_s)
