"""NPV, IRR and payback against numpy-financial (an independent implementation of the
spreadsheet functions) and a case worked by hand; the subsidy rules on the sources' own
examples; projects kept in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy_financial as npf
import pytest
from pydantic import ValidationError

from smartfab.apps.transformation.data import TransformationError
from smartfab.apps.transformation.finance import (
    Project,
    ProjectBook,
    appraise,
    flows,
    irr,
    npv,
    payback,
)
from smartfab.apps.transformation.subsidies import grants, programmes
from smartfab.platform.store.duckdb import DuckDBStore

PROGRAMMES = {p.id: p for p in programmes()}


def project(**kw: Any) -> Project:
    base: dict[str, Any] = {"id": "p", "name": "P", "items": [
        {"name": "machine", "kind": "hardware", "amount": 1_000_000}]}  # fmt: skip
    return Project.model_validate({**base, **kw})


def test_a_case_worked_by_hand() -> None:
    # 1,000,000 now, 300,000 a year for 5 years at 8 %: the annuity factor
    # (1 - 1.08^-5) / 0.08 = 3.992710 gives NPV = 300,000 x 3.992710 - 1,000,000 = 197,813.
    f = [-1_000_000.0] + [300_000.0] * 5
    assert npv(0.08, f) == pytest.approx(197_813.0, abs=1)
    assert payback(f) == pytest.approx(3 + 100_000 / 300_000)  # 900,000 back after 3 years
    assert irr(f) == pytest.approx(0.152382, abs=1e-6)


@pytest.mark.parametrize(
    "f",
    [
        [-1_000_000.0, 300_000, 300_000, 300_000, 300_000, 300_000],
        [-5_000_000.0, -1_000_000, 800_000, 2_000_000, 2_500_000, 2_500_000, 1_000_000],
        [-200.0, 10, 10, 10, 300],
        [-1_000.0, 100, 100],  # never pays back: a negative IRR
    ],
)
def test_npv_and_irr_agree_with_numpy_financial(f: list[float]) -> None:
    for rate in (0.0, 0.05, 0.12):
        assert npv(rate, f) == pytest.approx(float(npf.npv(rate, f)), rel=1e-12, abs=1e-6)
    assert irr(f) == pytest.approx(float(npf.irr(f)), abs=1e-9)


def test_payback_without_and_with_outlays_after_year_0() -> None:
    assert payback([-100.0, 50, 50]) == 2.0
    assert payback([-100.0, -100, 150, 150]) == pytest.approx(2 + 50 / 150)
    assert payback([-100.0, 10, 10]) is None
    assert irr([100.0, 10]) is None  # no outlay, no rate
    assert irr([-5e-324, 0, 0]) is None  # NPVs whose product underflows to zero


def test_suzhou_pays_a_fifth_of_a_5_million_yuan_smart_device() -> None:
    p = project(items=[{"name": "smart device", "kind": "hardware", "amount": 5_000_000}])
    (g,) = grants(p, PROGRAMMES["suzhou"])
    assert (g["rule"], g["amount"], g["capped"]) == ("hardware", 1_000_000, False)


def test_suzhou_pays_30_percent_of_software_and_only_on_qualifying_items() -> None:
    p = project(items=[
        {"name": "MES", "kind": "software", "amount": 2_000_000},
        {"name": "office PCs", "kind": "hardware", "amount": 400_000, "qualifying": False},
        {"name": "consulting", "kind": "services", "amount": 300_000},
    ])  # fmt: skip
    assert {g["rule"]: g["amount"] for g in grants(p, PROGRAMMES["suzhou"])} == {
        "software": 600_000}  # fmt: skip


@pytest.mark.parametrize(("status", "award"), [("city", 500_000), ("provincial", 1_000_000),
                                               ("national", 2_000_000)])  # fmt: skip
def test_suzhou_demonstration_awards(status: str, award: float) -> None:
    p = project(demonstration=status)
    by_rule = {g["rule"]: g["amount"] for g in grants(p, PROGRAMMES["suzhou"])}
    assert by_rule == {"hardware": 200_000, "demonstration": award}


@pytest.mark.parametrize(
    ("contract", "subsidy", "capped"),
    [(80e6, 8e6, False), (100e6, 10e6, False), (100_000_001, 10e6, True), (150e6, 10e6, True)],
)
def test_heilongjiang_smart_factory_cap_binds_above_100_million(
    contract: float, subsidy: float, capped: bool
) -> None:
    p = project(type="smart_factory", items=[
        {"name": "line", "kind": "hardware", "amount": contract * 0.7},
        {"name": "MES", "kind": "software", "amount": contract * 0.3},
    ])  # fmt: skip
    (g,) = grants(p, PROGRAMMES["heilongjiang"])
    assert g["amount"] == pytest.approx(subsidy) and g["capped"] is capped
    assert g["basis"] == pytest.approx(contract)


def test_heilongjiang_digital_workshop_has_no_cap_and_other_projects_get_nothing() -> None:
    big = [{"name": "workshop", "kind": "hardware", "amount": 150e6}]
    (g,) = grants(project(type="digital_workshop", items=big), PROGRAMMES["heilongjiang"])
    assert g["amount"] == pytest.approx(15e6) and not g["capped"]
    assert grants(project(type="equipment", items=big), PROGRAMMES["heilongjiang"]) == []


def test_appraisal_with_and_without_the_subsidy_and_its_sensitivity() -> None:
    p = project(
        programme="suzhou", discount_rate=0.08, years=5,
        benefits=[{"name": "OEE +5 points", "kind": "oee", "annual": 300_000}],
    )  # fmt: skip
    a = appraise(p, list(PROGRAMMES.values()))
    assert a["subsidy"] == 200_000  # 20 % of the 1,000,000 of hardware
    assert a["without"]["npv"] == pytest.approx(197_813.0, abs=1)
    assert a["with"]["npv"] == pytest.approx(197_813.0 + 200_000 / 1.08, abs=1)
    assert a["with"]["flows"] == flows(p, 200_000) == [-1e6, 500_000, *[300_000.0] * 4]
    assert a["with"]["payback_years"] == pytest.approx(2 + 200_000 / 300_000, abs=1e-3)
    assert a["with"]["irr"] == pytest.approx(float(npf.irr(a["with"]["flows"])), abs=1e-6)
    sens = {s["factor"]: s for s in a["sensitivity"]}
    assert sens[1.0]["without"] == a["without"]
    half = float(npf.npv(0.08, [-1e6] + [150_000.0] * 5))
    assert sens[0.5]["without"]["npv"] == pytest.approx(half, abs=0.01)
    assert sens[0.5]["without"]["payback_years"] is None  # 750,000 back in 5 years: never
    assert [s["with"]["npv"] for s in a["sensitivity"]] == sorted(
        s["with"]["npv"] for s in a["sensitivity"])  # fmt: skip
    with pytest.raises(TransformationError, match="no subsidy programme 'x'"):
        appraise(project(programme="x"), list(PROGRAMMES.values()))


def test_bad_projects_are_refused_with_the_field() -> None:
    with pytest.raises(ValidationError, match="amount"):
        project(items=[{"name": "m", "kind": "hardware", "amount": -1}])
    with pytest.raises(ValidationError, match="after the last benefit year"):
        project(years=2, items=[{"name": "m", "kind": "hardware", "amount": 1, "year": 3}])


def test_projects_are_kept_in_the_store(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        book = ProjectBook(store)
        book.put(project())
        book.put(project(id="q", name="Q"))
        book.put(project(name="P2"))  # replaces p
        assert [(p.id, p.name) for p in book.all()] == [("q", "Q"), ("p", "P2")]
        book.delete("q")
        assert [p.id for p in book.all()] == ["p"] and book.get("p").name == "P2"
        with pytest.raises(TransformationError, match="no project 'q'"):
            book.delete("q")


def test_the_book_keeps_a_bounded_number_of_projects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("smartfab.apps.transformation.finance.MAX_PROJECTS", 2)
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        book = ProjectBook(store)
        book.put(project())
        book.put(project(id="q", name="Q"))
        book.put(project(id="q", name="Q2"))  # a replacement is no new project
        with pytest.raises(TransformationError, match="has 2 projects, the most it keeps"):
            book.put(project(id="r", name="R"))
        assert [p.id for p in book.all()] == ["p", "q"]
