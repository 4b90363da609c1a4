"""Shift and daily production reports: OEE, output, losses and top alarms of an asset over one
shift or one local day, written as PDF (to print and sign) and XLSX (to analyse further).

A report is built from the store once (:func:`build_report`) and then rendered by each writer, so
the PDF and the workbook always show the same figures. Which shift or day: :func:`report_period`
picks it by name from the asset's work calendar, or the last one that has ended. The figures are
:func:`~.production.asset_oee`'s, the same the API and the web app show: a shift in progress is
reported up to now, and a period without data says "no data".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from smartfab.apps.monitoring.alarms.journal import from_events
from smartfab.apps.monitoring.alarms.load import AlarmLoad, alarm_load
from smartfab.apps.monitoring.oee import OeeFigures
from smartfab.apps.monitoring.periods import calendar_periods
from smartfab.apps.monitoring.production import AssetError, asset_oee, shifts_of
from smartfab.model.plant import Plant, Shift
from smartfab.platform.points import EventKind, now_us
from smartfab.platform.store.base import Store

ReportKind = Literal["shift", "day"]
_US = 1_000_000
_HOUR_S = 3600.0


@dataclass(frozen=True)
class KpiRow:
    """One asset's figures over the report period (NaN where a KPI is not defined)."""

    name: str
    no_data: bool  # nothing is known of the period: its KPIs are NaN for want of data
    oee: float
    availability: float
    performance: float
    quality: float
    good: float
    scrap: float
    planned_busy_h: float
    down_h: float
    failures: int

    @classmethod
    def of(cls, name: str, f: OeeFigures) -> KpiRow:
        return cls(
            name,
            bool(f.no_data[0]),
            float(f.oee[0]),
            float(f.availability[0]),
            float(f.performance[0]),
            float(f.quality[0]),
            float(f.good[0]),
            float(f.scrap[0]),
            float(f.planned_busy_s[0]) / _HOUR_S,
            float(f.down_s[0]) / _HOUR_S,
            int(f.failures[0]),
        )


@dataclass(frozen=True)
class ProductionReport:
    asset: str
    kind: ReportKind
    label: str  # "2026-11-17 early" or "2026-11-17"
    start: int  # epoch µs
    end: int
    until: int  # the figures cover [start, until): until < end while the period is in progress
    data_until: int | None  # the store's data ends here, before ``until``: unknown after it
    timezone: str
    generated: int
    total: KpiRow
    lines: list[KpiRow]  # the lines below the asset (empty when the asset is a line or below)
    equipment: list[KpiRow]
    losses_h: dict[str, float]  # the six big losses, hours
    alarms: AlarmLoad

    @property
    def in_progress(self) -> bool:
        return self.until < self.end

    @property
    def span(self) -> str:
        """From when to when, and up to when the figures go while the period is in progress."""
        text = f"{self.local(self.start)} to {self.local(self.end)}"
        if self.in_progress:
            text += f" (in progress: up to {self.local(self.until)})"
        # Ingestion keeps the newest data seconds behind the clock; only a real gap is news.
        if self.data_until is not None and self.until - self.data_until > 60 * _US:
            text += f"; no data after {self.local(self.data_until)}"
        return text

    @property
    def file_stem(self) -> str:
        asset = self.asset.replace("/", "_")
        return f"{self.kind}-report_{asset}_{self.label.replace(' ', '_')}"

    def local(self, us: int) -> str:
        when = datetime.fromtimestamp(us / _US, UTC).astimezone(ZoneInfo(self.timezone))
        return when.strftime("%Y-%m-%d %H:%M %Z")


def report_period(
    plant: Plant,
    asset: str,
    kind: ReportKind,
    day: date | None = None,
    shift: str | None = None,
    now: int | None = None,
) -> tuple[int, int, str]:
    """(start, end, label) of the shift named ``shift`` (or day) on local ``day``; without ``day``,
    the last such period that has ended by ``now``."""
    calendar = plant.work_calendar(asset.strip("/"))
    zone = ZoneInfo(calendar.timezone)
    now = now_us() if now is None else now
    if day is None:
        today = datetime.fromtimestamp(now / _US, zone).date()
        first, last = today - timedelta(days=8), today + timedelta(days=1)
    else:
        first = last = day
    start = int(datetime.combine(first, datetime.min.time(), zone).timestamp() * _US)
    # A day longer than the days asked for, so that a night shift that begins on the last of
    # them is whole rather than cut at midnight; a period belongs to the day it begins on.
    end = int(
        datetime.combine(last + timedelta(days=2), datetime.min.time(), zone).timestamp() * _US
    )
    shifts = shifts_of(plant, asset)
    found = calendar_periods(start, end, calendar.timezone, shifts if kind == "shift" else None)
    days = {str(first + timedelta(days=i)) for i in range((last - first).days + 1)}
    rows = [
        (int(s), int(e), str(lab))
        for s, e, lab in zip(found.start, found.end, found.label, strict=True)
        if str(lab).split(" ", 1)[0] in days
        and (shift is None or str(lab).endswith(f" {shift}"))
        and (day is not None or e <= now)
    ]
    if not rows:
        what = f"shift {shift!r}" if shift else kind
        when = f"on {day}" if day else "that has ended in the last week"
        names = ", ".join(s.name if isinstance(s, Shift) else s[0] for s in shifts)
        hint = f" (shifts: {names})" if kind == "shift" else ""
        raise AssetError(f"no {what} of {asset!r} {when}{hint}")
    if day is not None and kind == "shift" and shift is None and len(rows) > 1:
        names = ", ".join(lab.split(" ", 1)[1] for _, _, lab in rows)
        raise AssetError(f"{day} has several shifts ({names}): name one")
    return rows[-1]


def build_report(
    store: Store,
    plant: Plant,
    asset: str,
    start: int,
    end: int,
    label: str,
    kind: ReportKind,
    now: int | None = None,
) -> ProductionReport:
    """The report of ``asset`` over [start, end), up to ``now`` (default: the clock) if that is
    earlier."""
    asset = asset.strip("/")
    now = now_us() if now is None else now
    figures = asset_oee(store, plant, asset, start, end, "range", now)
    # Lines are the third level (site/area/line); below a line there are none to list.
    lines = [] if asset.count("/") >= 2 else list(dict.fromkeys(
        "/".join(p.split("/")[:3]) for p in figures.equipment
    ))  # fmt: skip
    line_rows = [
        KpiRow.of(line, asset_oee(store, plant, line, start, end, "range", now).figures)
        for line in lines
    ]
    f = figures.figures
    losses = {
        "breakdowns": f.breakdown_loss_s,
        "setup and adjustments": f.setup_loss_s,
        "small stops and idling": f.small_stop_loss_s,
        "reduced speed": f.reduced_speed_loss_s,
        "process defects": f.process_defect_loss_s,
        "reduced yield": f.reduced_yield_loss_s,
    }
    until = int(figures.periods.end[-1])
    events = store.events(start, until, asset, [EventKind.ALARM], None)
    return ProductionReport(
        asset=asset,
        kind=kind,
        label=label,
        start=start,
        end=end,
        until=until,
        data_until=figures.known_until,
        timezone=plant.work_calendar(asset).timezone,
        generated=now,
        total=KpiRow.of(asset, f),
        lines=line_rows,
        equipment=[KpiRow.of(p, e) for p, e in figures.equipment.items()],
        losses_h={k: float(v[0]) / _HOUR_S for k, v in losses.items()},
        alarms=alarm_load(from_events(events), start, until, top=10),
    )


NO_DATA = "no data"


def _pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:.1f} %"


def oee_text(row: KpiRow) -> str:
    """The OEE as a reader should see it: a percentage, "no data", or "–" when the period had
    no planned busy time (nothing was planned to be produced)."""
    return NO_DATA if row.no_data else _pct(row.oee)


def _num(x: float, digits: int = 0) -> str:
    return "–" if math.isnan(x) else f"{x:,.{digits}f}"


_KPI_HEADER = ["asset", "OEE", "availability", "performance", "quality", "good", "scrap",
               "planned busy h", "down h", "failures"]  # fmt: skip


def _kpi_cells(r: KpiRow, short: str) -> list[str]:
    return [
        short, oee_text(r), _pct(r.availability), _pct(r.performance), _pct(r.quality),
        _num(r.good), _num(r.scrap), _num(r.planned_busy_h, 2), _num(r.down_h, 2), str(r.failures),
    ]  # fmt: skip


def write_xlsx(report: ProductionReport, path: Path) -> Path:
    """The report as an Excel workbook: Summary, Equipment, Losses and Alarms sheets, numbers as
    numbers (percentages formatted, not text) so that they can be analysed further."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.worksheet import Worksheet

    bold = Font(bold=True)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Summary"
    ws.append([f"{report.kind.capitalize()} report: {report.asset}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["period", report.label])
    ws.append(["from", report.local(report.start)])
    ws.append(["to", report.local(report.end)])
    if report.in_progress:
        ws.append(["in progress: figures up to", report.local(report.until)])
    ws.append(["generated", report.local(report.generated)])
    ws.append([])

    def table(sheet: Worksheet, rows: list[KpiRow]) -> None:
        sheet.append(_KPI_HEADER)
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for r in rows:
            values = [r.name, r.oee, r.availability, r.performance, r.quality, r.good, r.scrap,
                      r.planned_busy_h, r.down_h, r.failures]  # fmt: skip
            cells = [None if isinstance(v, float) and math.isnan(v) else v for v in values]
            sheet.append([r.name, NO_DATA, *cells[2:]] if r.no_data else cells)
            for cell in sheet[sheet.max_row][1:5]:
                cell.number_format = "0.0%"
            for cell in sheet[sheet.max_row][7:9]:
                cell.number_format = "0.00"
        sheet.column_dimensions["A"].width = 48

    table(ws, [report.total, *report.lines])
    table(wb.create_sheet("Equipment"), report.equipment)
    losses = wb.create_sheet("Losses")
    losses.append(["six big losses", "hours"])
    for name, hours in report.losses_h.items():
        losses.append([name, None if math.isnan(hours) else hours])
        losses.cell(losses.max_row, 2).number_format = "0.00"
    losses.column_dimensions["A"].width = 28
    alarms = wb.create_sheet("Alarms")
    a = report.alarms
    alarms.append(["alarms annunciated", a.total])
    alarms.append(["average per 10 min", a.average_per_10min])
    alarms.append(["peak per 10 min", a.peak_per_10min])
    alarms.append(["flood periods %", a.flood_percent])
    alarms.append([])
    alarms.append(["top alarms", "count", "share"])
    for actor in a.bad_actors:
        alarms.append([actor.alarm_id, actor.count, actor.share])
        alarms.cell(alarms.max_row, 3).number_format = "0.0%"
    alarms.column_dimensions["A"].width = 64
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_pdf(report: ProductionReport, path: Path) -> Path:
    """The report as an A4 PDF: header, KPI tables, a bar chart of the losses, top alarms."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Flowable,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    grid = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
            ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde3ea")),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ]
    )

    def short(name: str) -> str:
        return name.removeprefix(report.asset + "/") or name

    def kpi_table(rows: list[KpiRow]) -> Table:
        data = [_KPI_HEADER] + [_kpi_cells(r, short(r.name)) for r in rows]
        t = Table(data, repeatRows=1, hAlign="LEFT")
        t.setStyle(grid)
        return t

    story: list[Flowable] = [
        Paragraph(f"{report.kind.capitalize()} report — {report.asset}", styles["Title"]),
        Paragraph(
            f"{report.label}: {report.span}; generated {report.local(report.generated)}",
            styles["Normal"],
        ),
        Spacer(1, 4 * mm),
        kpi_table([report.total, *report.lines]),
        Spacer(1, 4 * mm),
        Paragraph("Equipment", styles["Heading2"]),
        kpi_table(report.equipment),
    ]
    names = list(report.losses_h)
    hours = [0.0 if math.isnan(h) else h for h in report.losses_h.values()]
    chart_drawing = Drawing(170 * mm, 45 * mm)
    chart = HorizontalBarChart()
    chart.x, chart.y = int(40 * mm), int(2 * mm)
    chart.width, chart.height = int(120 * mm), int(40 * mm)
    chart.data = [hours]
    chart.categoryAxis.categoryNames = names
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = min(0.0, *hours)
    chart.bars[0].fillColor = colors.HexColor("#5b7083")
    chart_drawing.add(chart)
    story.append(
        KeepTogether([Paragraph("Six big losses (hours)", styles["Heading2"]), chart_drawing])
    )
    a = report.alarms
    story += [
        Paragraph("Alarms", styles["Heading2"]),
        Paragraph(
            f"{a.total} annunciated; {a.average_per_10min:.2f} per 10 min on average, peak "
            f"{a.peak_per_10min:.0f}, {a.flood_percent:.1f} % of 10-minute periods in flood "
            "(EEMUA 191: about 1 on average, under 1 % flood)",
            styles["Normal"],
        ),
    ]
    if a.bad_actors:
        data = [["top alarms", "count", "share"]] + [
            [b.alarm_id, str(b.count), _pct(b.share)] for b in a.bad_actors
        ]
        t = Table(data, repeatRows=1, hAlign="LEFT")
        t.setStyle(grid)
        story.append(t)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(
        str(path), pagesize=landscape(A4), title=f"{report.kind} report {report.label}",
        leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
    )  # fmt: skip
    doc.build(story)
    return path


WRITERS = {"pdf": write_pdf, "xlsx": write_xlsx}


def write_report(report: ProductionReport, folder: Path, formats: list[str]) -> list[Path]:
    """Write the report in each of ``formats`` ("pdf", "xlsx") into ``folder``."""
    unknown = sorted(set(formats) - set(WRITERS))
    if unknown:
        raise ValueError(f"unknown report format(s) {unknown}: choose from {sorted(WRITERS)}")
    return [WRITERS[f](report, folder / f"{report.file_stem}.{f}") for f in formats]
