"""The transformation summary a manager takes to a bank or a ministry, as PDF and XLSX from one
:class:`Summary`: the latest maturity assessments (level, smart-factory tier, first actions), the
KPIs against the national targets with their sources, each project's cost, subsidies, NPV,
IRR and payback without and with them, and their sensitivity to the benefit estimate, and the
gains the platform measured that the benefits rest on (what, where, the periods before and after,
the figures, the price and its source, and the figure the manager used instead, if any).

The PDF is written in English, Chinese or Russian: it embeds a system font that has the glyphs
(WenQuanYi, Noto CJK, Droid Sans Fallback: found on the machine, nothing downloaded), or falls
back to the PDF reader's Song typeface (a CID font, which every CJK-capable reader has)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

from smartfab.apps.transformation.evidence import Evidence
from smartfab.apps.transformation.maturity import MODELS, AssessmentBook, Questionnaire
from smartfab.model.plant import Plant
from smartfab.platform.store.base import Store

Lang = Literal["en", "zh", "ru"]
LANGS: tuple[Lang, ...] = ("en", "zh", "ru")

# Fonts with Latin, Cyrillic and CJK glyphs, in order of preference (file, sub-font index).
FONT_FILES = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)

LABELS: dict[str, dict[Lang, str]] = {
    "title": {"en": "Digital transformation summary", "zh": "数字化转型概要",
              "ru": "Сводка цифровой трансформации"},
    "maturity": {"en": "Maturity", "zh": "成熟度", "ru": "Зрелость"},
    "model": {"en": "Model", "zh": "模型", "ru": "Модель"},
    "level": {"en": "Level", "zh": "等级", "ru": "Уровень"},
    "score": {"en": "Score", "zh": "得分", "ru": "Балл"},
    "assessed": {"en": "Assessed", "zh": "评估日期", "ru": "Дата оценки"},
    "tier": {"en": "Smart-factory tier", "zh": "智能工厂层级", "ru": "Уровень умной фабрики"},
    "none": {"en": "none yet", "zh": "尚未达到", "ru": "пока нет"},
    "actions": {"en": "First actions", "zh": "优先行动", "ru": "Первоочередные действия"},
    "kpis": {"en": "KPIs and national targets", "zh": "指标与国家目标",
             "ru": "Показатели и национальные цели"},
    "kpi": {"en": "KPI", "zh": "指标", "ru": "Показатель"},
    "value": {"en": "Plant", "zh": "本厂", "ru": "Завод"},
    "target": {"en": "Target", "zh": "目标", "ru": "Цель"},
    "gap": {"en": "Gap (points)", "zh": "差距（百分点）", "ru": "Отставание (п.п.)"},
    "source": {"en": "Source", "zh": "来源", "ru": "Источник"},
    "projects": {"en": "Investment projects", "zh": "投资项目", "ru": "Инвестиционные проекты"},
    "project": {"en": "Project", "zh": "项目", "ru": "Проект"},
    "cost": {"en": "Cost", "zh": "投资", "ru": "Затраты"},
    "subsidy": {"en": "Subsidy", "zh": "补贴", "ru": "Субсидия"},
    "benefit": {"en": "Benefit / year", "zh": "年收益", "ru": "Эффект в год"},
    "without": {"en": "without subsidy", "zh": "无补贴", "ru": "без субсидии"},
    "with": {"en": "with subsidy", "zh": "含补贴", "ru": "с субсидией"},
    "npv": {"en": "NPV", "zh": "净现值", "ru": "ЧПС"},
    "irr": {"en": "IRR", "zh": "内部收益率", "ru": "ВНД"},
    "payback": {"en": "Payback (years)", "zh": "回收期（年）", "ru": "Окупаемость (лет)"},
    "sensitivity": {"en": "Sensitivity to the benefit estimate", "zh": "对收益估计的敏感性",
                    "ru": "Чувствительность к оценке эффекта"},
    "factor": {"en": "Benefit x", "zh": "收益倍数", "ru": "Эффект x"},
    "never": {"en": "never", "zh": "无法回收", "ru": "не окупается"},
    "gains": {"en": "Measured gains behind the benefits", "zh": "收益所依据的实测改进",
              "ru": "Измеренные улучшения, на которых основан эффект"},
    "benefit_name": {"en": "Benefit", "zh": "收益", "ru": "Эффект"},
    "gain": {"en": "Measured", "zh": "实测指标", "ru": "Показатель"},
    "asset": {"en": "Asset", "zh": "对象", "ru": "Объект"},
    "before": {"en": "Before", "zh": "改进前", "ru": "До"},
    "after": {"en": "After", "zh": "改进后", "ru": "После"},
    "per_year": {"en": "Gain per year", "zh": "年改进量", "ru": "Улучшение в год"},
    "price": {"en": "Price (plant file)", "zh": "单价（工厂文件）", "ru": "Цена (файл завода)"},
    "measured": {"en": "Measured / year", "zh": "实测年收益", "ru": "Измерено в год"},
    "used": {"en": "Used / year", "zh": "采用年收益", "ru": "Принято в год"},
    "no_price": {"en": "no price", "zh": "无单价", "ru": "нет цены"},
    "overridden": {"en": "set by the manager", "zh": "由管理者设定", "ru": "задано руководителем"},
    "gain.oee": {"en": "OEE", "zh": "设备综合效率（OEE）", "ru": "ОЭО (OEE)"},
    "gain.energy": {"en": "Energy per good part", "zh": "单位合格品能耗",
                    "ru": "Энергия на годную деталь"},
    "gain.scrap": {"en": "Scrap rate", "zh": "废品率", "ru": "Доля брака"},
    "gain.downtime": {"en": "Unplanned downtime", "zh": "非计划停机", "ru": "Внеплановые простои"},
    "unit.parts": {"en": "parts", "zh": "件", "ru": "шт."},
    "unit.kWh": {"en": "kWh", "zh": "千瓦时", "ru": "кВт·ч"},
    "unit.h": {"en": "h", "zh": "小时", "ru": "ч"},
    "unit.kwh_per_part": {"en": "kWh/part", "zh": "千瓦时/件", "ru": "кВт·ч/шт."},
    "kpi.cnc_rate": {"en": "Key-process CNC rate", "zh": "关键工序数控化率",
                     "ru": "Доля ключевых операций с ЧПУ"},
    "kpi.rd_tool_penetration": {"en": "Digital R&D tool penetration",
                                "zh": "数字化研发设计工具普及率",
                                "ru": "Охват цифровыми средствами проектирования"},
    "kpi.connection_rate": {"en": "Equipment connection rate", "zh": "设备联网率",
                            "ru": "Доля подключённого оборудования"},
    "kpi.collection_coverage": {"en": "Data collection coverage", "zh": "数据采集覆盖率",
                                "ru": "Охват сбора данных"},
}  # fmt: skip


def label(key: str, lang: Lang) -> str:
    return LABELS[key][lang]


@dataclass
class Summary:
    plant: str
    generated: str  # ISO date
    assessments: list[tuple[Questionnaire, dict[str, Any]]] = field(default_factory=list)
    kpis: list[dict[str, Any]] = field(default_factory=list)
    appraisals: list[dict[str, Any]] = field(default_factory=list)


def build(
    plant: Plant,
    store: Store,
    evidence: dict[str, Evidence],
    folder: Path | None = None,
    econ: Path | None = None,
) -> Summary:
    """The summary of the plant as the store holds it: the newest assessment of each model, the
    KPIs now, and every project appraised."""
    from smartfab.apps.transformation.finance import ProjectBook, appraise
    from smartfab.apps.transformation.kpis import kpis, national_figures
    from smartfab.apps.transformation.maturity import questionnaire, targets
    from smartfab.apps.transformation.subsidies import programmes

    book = AssessmentBook(store)
    newest = [(questionnaire(m, folder), h[-1]) for m in MODELS if (h := book.all(m))]
    national = national_figures(econ) if econ is not None else None
    rules = programmes(folder)
    return Summary(
        plant=plant.enterprise or plant.site.title or plant.site.name,
        generated=datetime.now(UTC).date().isoformat(),
        assessments=newest,
        kpis=kpis(evidence, targets(folder).targets, national),
        appraisals=[appraise(p, rules) for p in ProjectBook(store).all()],
    )


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f} %"


def _money(x: float) -> str:
    return f"{x:,.0f}"


def _payback(x: float | None, lang: Lang) -> str:
    return label("never", lang) if x is None else f"{x:.2f}"


def _irr(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f} %"


def _indicator(gain: str, v: float, lang: Lang) -> str:
    return f"{v:.3f} {label('unit.kwh_per_part', lang)}" if gain == "energy" else f"{100 * v:.2f} %"


def _gains(s: Summary, lang: Lang) -> list[list[str]]:
    """A row per measured benefit: what was measured where and when, and what it is worth."""
    head = ("project", "benefit_name", "gain", "asset", "before", "after", "per_year", "price",
            "measured", "used")  # fmt: skip
    rows = [[label(k, lang) for k in head]]
    for a in s.appraisals:
        p = a["project"]
        for b, shown in zip(p["benefits"], a["benefits"], strict=True):
            m = b["measured"]
            if m is None or m["result"] is None:
                continue
            r = m["result"]
            when = "{} .. {} UTC"
            price = label("no_price", lang) if r["price"] is None else (
                f"{r['price']:,.4g} {r['currency']}/{label('unit.' + r['unit'], lang)} "
                f"({r['price_from']})")  # fmt: skip
            used = _money(shown["annual"]) + (
                f" ({label('overridden', lang)}: {b['basis']})" if shown["overridden"] else ""
            )
            rows.append([
                p["name"], b["name"], label(f"gain.{m['gain']}", lang), m["path"],
                f"{_indicator(m['gain'], r['before'], lang)}\n"
                + when.format(*(x[:16].replace("T", " ") for x in m["before"].values())),
                f"{_indicator(m['gain'], r['after'], lang)}\n"
                + when.format(*(x[:16].replace("T", " ") for x in m["after"].values())),
                f"{r['quantity']:,.0f} {label('unit.' + r['unit'], lang)}", price,
                "-" if r["annual"] is None else _money(r["annual"]), used,
            ])  # fmt: skip
    return rows


def tables(s: Summary, lang: Lang) -> list[tuple[str, list[list[str]]]]:
    """The summary as titled tables (header row first): what both writers lay out."""
    out: list[tuple[str, list[list[str]]]] = []
    rows = [[label(k, lang) for k in ("model", "assessed", "level", "score", "tier")]]
    actions = [[label("model", lang), label("actions", lang)]]
    for q, a in s.assessments:
        r = a["result"]
        level = q.levels.get(r["level"])
        name = f"{r['level']} {getattr(level, lang) if level else ''}".strip()
        tier = "-" if "tier" not in r else r["tier"]["tier"] or label("none", lang)
        day = datetime.fromtimestamp(a["at"] / 1e6, UTC).date().isoformat()
        rows.append([getattr(q.title, lang), day, name, f"{r['score']:.2f}", tier])
        for g in r["roadmap"][:3]:
            actions.append([q.id, getattr(q.question(g["question"]).action, lang)])
    out.append((label("maturity", lang), rows))
    out.append((label("actions", lang), actions))
    rows = [[label(k, lang) for k in ("kpi", "value", "target", "gap", "source")]]
    for k in s.kpis:
        name = label(f"kpi.{k['kpi']}", lang)
        if not k["targets"]:
            rows.append([name, _pct(k["value"]), "-", "-", k["source"]])
        for t in k["targets"]:
            rows.append([name, _pct(k["value"]), f"> {t['value']:g} % ({t['year']})",
                         "-" if t["gap"] is None else f"{t['gap']:.2f}", t["url"]])  # fmt: skip
    out.append((label("kpis", lang), rows))
    head = [label(k, lang) for k in ("project", "cost", "subsidy", "benefit")] + [
        f"{label(k, lang)} ({label(w, lang)})"
        for w in ("without", "with") for k in ("npv", "irr", "payback")
    ]  # fmt: skip
    rows = [head]
    sens = [[label("project", lang), label("factor", lang), *head[4:]]]
    for a in s.appraisals:
        p = a["project"]
        rows.append([
            p["name"], _money(a["cost"]), _money(a["subsidy"]), _money(a["annual_benefit"]),
            *(x for w in ("without", "with") for x in (
                _money(a[w]["npv"]), _irr(a[w]["irr"]), _payback(a[w]["payback_years"], lang))),
        ])  # fmt: skip
        for v in a["sensitivity"]:
            sens.append([
                p["name"], f"{v['factor']:g}",
                *(x for w in ("without", "with") for x in (
                    _money(v[w]["npv"]), _irr(v[w]["irr"]), _payback(v[w]["payback_years"], lang))),
            ])  # fmt: skip
    out.append((label("projects", lang), rows))
    out.append((label("sensitivity", lang), sens))
    out.append((label("gains", lang), _gains(s, lang)))
    return out


def write_xlsx(s: Summary, path: Path, lang: Lang = "en") -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    first = True
    for title, rows in tables(s, lang):
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        first = False
        ws.title = title[:31]
        for row in rows:
            ws.append(row)
        for cell in ws[1]:
            cell.font = Font(bold=True)
    wb.save(path)
    return path


def pdf_font() -> str:
    """A registered font that writes Latin, Cyrillic and CJK text."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    if "SmartfabText" in pdfmetrics.getRegisteredFontNames():
        return "SmartfabText"
    for file, index in FONT_FILES:
        if Path(file).is_file():
            pdfmetrics.registerFont(TTFont("SmartfabText", file, subfontIndex=index))
            return "SmartfabText"
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def write_pdf(s: Summary, path: Path, lang: Lang = "en") -> Path:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = pdf_font()
    base = getSampleStyleSheet()
    title = ParagraphStyle("t", parent=base["Title"], fontName=font)
    head = ParagraphStyle("h", parent=base["Heading2"], fontName=font)
    cell = ParagraphStyle("c", parent=base["BodyText"], fontName=font, fontSize=7.5, leading=9)
    story: list[Any] = [
        Paragraph(f"{label('title', lang)} — {s.plant}", title),
        Paragraph(s.generated, cell),
    ]
    for name, rows in tables(s, lang):
        story += [Spacer(1, 4 * mm), Paragraph(name, head)]
        if len(rows) == 1:
            story.append(Paragraph("-", cell))
            continue
        cells = [[Paragraph(escape(c).replace("\n", "<br/>"), cell) for c in r] for r in rows]
        t = Table(cells, repeatRows=1, hAlign="LEFT")
        t.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6eaee")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))  # fmt: skip
        story.append(t)
    doc = SimpleDocTemplate(
        str(path), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
        topMargin=12 * mm, bottomMargin=12 * mm, title=label("title", lang),
    )  # fmt: skip
    doc.build(story)
    return path
