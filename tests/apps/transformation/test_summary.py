"""The summary as XLSX and PDF, in English, Chinese and Russian: the same figures in both, and
the PDF's text drawn with an embedded font that has every glyph."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest
from openpyxl import load_workbook

from smartfab.apps.transformation.evidence import Evidence
from smartfab.apps.transformation.finance import Project, appraise
from smartfab.apps.transformation.kpis import kpis
from smartfab.apps.transformation.maturity import AssessmentBook, questionnaire, targets
from smartfab.apps.transformation.subsidies import programmes
from smartfab.apps.transformation.summary import LANGS, Lang, Summary, label, write_pdf, write_xlsx
from smartfab.platform.store.duckdb import DuckDBStore

AT = 1_794_895_200_000_000  # 2026-11-17


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> Summary:
    q = questionnaire("gbt39116")
    with DuckDBStore(tmp_path_factory.mktemp("s") / "s.duckdb") as store:
        record = AssessmentBook(store).add(
            q,
            {x.id: {"value": 2.0} for x in q.questions},
            "li",
            targets().tiers,
            at=1_794_895_200_000_000,
        )
    ev = {"cnc_rate": Evidence("cnc_rate", 0.7, 7, 10, "plant file", "7 of 10")}
    p = Project.model_validate({
        "id": "mes", "name": "MES 智能车间", "programme": "suzhou", "demonstration": "city",
        "items": [{"name": "device", "kind": "hardware", "amount": 5_000_000}],
        "benefits": [{"name": "OEE", "kind": "oee", "annual": 1_500_000}],
    })  # fmt: skip
    return Summary(
        plant="Northern Drive Components", generated="2026-11-17",
        assessments=[(q, record)], kpis=kpis(ev, targets().targets),
        appraisals=[appraise(p, programmes())],
    )  # fmt: skip


def test_the_workbook_holds_the_figures(summary: Summary, tmp_path: Path) -> None:
    wb = load_workbook(write_xlsx(summary, tmp_path / "s.xlsx"))
    assert wb.sheetnames[0] == "Maturity"
    maturity = list(wb["Maturity"].values)
    assert maturity[1][2] == "2 Standard" and maturity[1][4] == "basic"
    assert maturity[1][1] == "2026-11-17"
    projects = list(wb["Investment projects"].values)
    # 20 % of the 5 million yuan device and the city award: 1.5 million.
    assert projects[1][:4] == ("MES 智能车间", "5,000,000", "1,500,000", "1,500,000")
    kpi = list(wb["KPIs and national targets"].values)
    assert [r[2] for r in kpi[1:3]] == ["> 70 % (2027)", "> 75 % (2027)"]
    assert kpi[2][3] == "5.00"


def unicode_of_pdf(path: Path) -> set[str]:
    """Characters the PDF's ToUnicode maps name: what a reader extracts and searches."""
    raw = path.read_bytes()
    chars: set[str] = set()
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", raw, re.S):
        try:
            text = zlib.decompress(m.group(1)).decode("latin-1")
        except zlib.error:
            continue
        for hexcode in re.findall(r"<[0-9A-Fa-f]+>\s*<([0-9A-Fa-f]{4,})>", text):
            chars.add(bytes.fromhex(hexcode).decode("utf-16-be"))
    return chars


@pytest.mark.parametrize("lang", LANGS)
def test_the_pdf_embeds_a_font_with_every_glyph(
    summary: Summary, tmp_path: Path, lang: Lang
) -> None:
    path = write_pdf(summary, tmp_path / f"s-{lang}.pdf", lang)
    raw = path.read_bytes()
    assert raw.startswith(b"%PDF") and b"/FontFile2" in raw  # embedded, not the reader's
    drawn = unicode_of_pdf(path)
    for word in (label("title", lang), label("maturity", lang), "智能车间"):
        missing = {c for c in word if not c.isspace() and c not in drawn}
        assert not missing, (lang, word, missing)
