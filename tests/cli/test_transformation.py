"""`smartfab transformation` and `smartfab insights` on the demo plant's store and the real econ
data: evidence, an assessment stored with its history, KPIs, a project appraised and kept, the
summary files, the sovereignty report, and `insights verify` ending with its JSON line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook
from typer.testing import CliRunner

from smartfab.apps.transformation.maturity import AssessmentBook
from smartfab.cli.main import _register as register
from smartfab.cli.main import app
from smartfab.platform.store.duckdb import DuckDBStore
from tests.apps.transformation.econ import econ_dir

runner = CliRunner()
register()


@pytest.fixture
def data(filled_store: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(filled_store, folder / "smartfab.duckdb")
    return folder


def run(*args: str) -> str:
    r = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    assert r.exit_code == 0, (r.output, r.exception)
    return r.output


def test_evidence_assessment_kpis_and_summary(data: Path, tmp_path: Path) -> None:
    out = run("transformation", "evidence", "--data-dir", str(data), "--days", "1")
    assert "collection_coverage" in out and "store, 2026-11-16" in out
    out = run("transformation", "assess", "--data-dir", str(data), "--days", "1")
    assert "answer it" in out and "strategy" in out
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({
        "strategy": 2, "skills": 2, "purchasing": 2, "warehousing": 1, "logistics": 2,
        "sales": 2, "customer_service": 2, "product_service": 1,
        "security": {"value": 2, "comment": "HTTPS is set up on the plant's proxy"},
    }), encoding="utf-8")  # fmt: skip
    out = run("transformation", "assess", "--data-dir", str(data), "--days", "1",
              "--answers", str(answers), "--by", "manager")  # fmt: skip
    assert "level 2 (Standard)" in out and "smart-factory tier: basic" in out
    with DuckDBStore(data / "smartfab.duckdb") as store:
        (a,) = AssessmentBook(store).all("gbt39116")
    assert a["by"] == "manager" and a["answers"]["security"]["overridden"]
    # An override without a comment is refused, and nothing is stored.
    answers.write_text(yaml.safe_dump({"security": 3}), encoding="utf-8")
    r = runner.invoke(app, ["transformation", "assess", "--data-dir", str(data), "--days", "1",
                            "--answers", str(answers)])  # fmt: skip
    assert r.exit_code != 0 and "overrides the proposed 0" in str(r.exception or r.output)
    out = run("transformation", "kpis", "--data-dir", str(data), "--days", "1", "--record",
              "--json", "--data", str(econ_dir()))  # fmt: skip
    rows = {r["kpi"]: r for r in json.loads(out)}
    assert rows["cnc_rate"]["value"] == 70 and rows["cnc_rate"]["national"]["value"] == 66.2
    project = tmp_path / "p.yaml"
    project.write_text(yaml.safe_dump({
        "id": "mes", "name": "MES", "programme": "suzhou", "type": "software",
        "items": [{"name": "MES licences", "kind": "software", "amount": 2_000_000}],
        "benefits": [{"name": "OEE +3 points", "kind": "oee", "annual": 700_000}],
    }), encoding="utf-8")  # fmt: skip
    out = run("transformation", "appraise", str(project), "--save", "--data-dir", str(data))
    assert "subsidy software: 600,000" in out
    pdf, xlsx = tmp_path / "s.pdf", tmp_path / "s.xlsx"
    run("transformation", "summary", "--out", str(pdf), "--lang", "zh", "--data-dir", str(data))
    run("transformation", "summary", "--out", str(xlsx), "--data-dir", str(data))
    assert pdf.read_bytes().startswith(b"%PDF")
    wb = load_workbook(xlsx)
    assert list(wb["Investment projects"].values)[1][:3] == ("MES", "2,000,000", "600,000")
    assert list(wb["Maturity"].values)[1][2] == "2 Standard"


def test_sovereignty(tmp_path: Path) -> None:
    sbom = tmp_path / "sbom.json"
    out = run("transformation", "sovereignty", "--sbom", str(sbom))
    assert "on_premises" in out and "Kingdee K/3 Cloud" in out and "packages:" in out
    assert json.loads(sbom.read_text(encoding="utf-8"))["bomFormat"] == "CycloneDX"


def test_insights_verify_ends_with_the_discrepancies_as_json() -> None:
    out = run("insights", "verify", "--data", str(econ_dir()))
    last = json.loads(out.strip().splitlines()[-1])
    found = {(d["what"], d["year"]): d for d in last["discrepancies"]}
    tech = found[("high-technology exports, % of manufactured exports", 2022)]
    assert (tech["article"], tech["data"], tech["country"]) == (23.12, 27.7651, "CHN")
    assert "2026-04-08" in tech["vintage"]
    assert found[("industry value added", 2022)]["data"] == 40.1644
    assert last["figures"] == 5 and len(found) == 4


def test_insights_export(tmp_path: Path) -> None:
    out = run("insights", "export", "--data", str(econ_dir()), "--countries", "sco",
              "--out", str(tmp_path / "sco.xlsx"))  # fmt: skip
    assert "high-tech for CHN, RUS, IND" in out
    wb = load_workbook(tmp_path / "sco.xlsx")
    assert len(list(wb["manufactures"].values)) == 1 + 10 * 22
    run("insights", "export", "--data", str(econ_dir()), "--countries", "CHN,USA",
        "--out", str(tmp_path / "m.csv"))  # fmt: skip
    lines = (tmp_path / "m.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "indicator,country,name,year,value" and len(lines) == 1 + 2 * 22 + 2 * 22
    r = runner.invoke(app, ["insights", "export", "--data", str(econ_dir()), "--countries", "ZZZ",
                            "--out", str(tmp_path / "x.csv")])  # fmt: skip
    assert r.exit_code != 0 and "no data for ZZZ" in str(r.exception or r.output)
