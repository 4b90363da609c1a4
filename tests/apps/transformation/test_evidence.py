"""Evidence from the demo plant's store: what is connected, collected and tracked, with where each
figure was read; an assessment of the demo plant whose proposals cite it."""

from __future__ import annotations

from pathlib import Path

from smartfab.apps.transformation.evidence import gather
from smartfab.apps.transformation.maturity import (
    AnswerIn,
    AssessmentBook,
    check_answers,
    propose,
    questionnaire,
    targets,
)
from smartfab.model.plant import Plant
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore


def test_the_demo_plants_evidence_comes_from_its_store_and_plant_file(
    filled_store: Path, demo_plant: Plant, tmp_path: Path
) -> None:
    n_equipment = sum(1 for _ in demo_plant.iter_equipment())
    n_signals = sum(1 for _ in demo_plant.iter_signals())
    with DuckDBStore(filled_store) as store, Security(tmp_path / "s.db") as sec:
        sec.users.ensure_admin()
        ev = gather(demo_plant, store, days=1, models_dir=tmp_path / "models", security=sec)
    # The virtual plant sends every signal of every machine: all connected, all collected.
    assert ev["connection_rate"].numerator == n_equipment == ev["connection_rate"].denominator
    assert ev["collection_coverage"].denominator == n_signals
    assert ev["collection_coverage"].value == 1.0
    assert ev["connection_rate"].source.startswith(
        "store, 2026-11-16 11:59 .. 2026-11-17 11:59 UTC"
    )
    assert ev["oee_tracked"].value == 1.0 and "ideal cycle" in ev["oee_tracked"].detail
    # The demo plant file: 7 of its 10 key processes are numerically controlled; 18 of 24
    # designers use a design tool.
    assert (ev["cnc_rate"].numerator, ev["cnc_rate"].denominator) == (7, 10)
    assert (
        ev["rd_tool_penetration"].value == 0.75 and ev["rd_tool_penetration"].source == "plant file"
    )
    assert ev["alarms_managed"].numerator > 0  # the alarm engine journalled transitions
    assert ev["predictive_maintenance"].value == 0  # no model registered
    assert ev["twin_used"].value == 0
    # Users and the audit chain are on; HTTPS and OPC UA encryption are off in the demo.
    sc = ev["security_controls"]
    assert (sc.numerator, sc.denominator) == (2, 4) and "off: HTTPS" in sc.detail


def test_an_assessment_of_the_demo_plant_cites_its_evidence(
    filled_store: Path, demo_plant: Plant, tmp_path: Path
) -> None:
    with DuckDBStore(filled_store) as store:
        ev = gather(demo_plant, store, days=1)
    q = questionnaire("gbt39116")
    props = propose(q, ev)
    cited = {p.question: p for p in props if p.value is not None}
    assert {"data", "integration", "equipment", "operations", "energy"} <= set(cited)
    assert cited["data"].value == 3 and cited["data"].evidence is not None
    assert cited["data"].evidence.detail.startswith(f"{ev['collection_coverage'].numerator:g} of")
    assert cited["equipment"].value == 3  # 70 % reaches the third threshold, 0.7
    assert cited["product_design"].value == 2  # 75 % of designers: below 0.9
    given = {p.question: AnswerIn(value=1) for p in props if p.value is None}
    given["integration"] = AnswerIn(value=2, comment="planning is not linked to the machines")
    answers = check_answers(q, props, given)
    with DuckDBStore(tmp_path / "book.duckdb") as store:
        record = AssessmentBook(store).add(q, answers, "manager", targets().tiers)
    assert record["answers"]["data"]["evidence"]["source"].startswith("store, ")
    assert record["answers"]["integration"]["overridden"]
    res = record["result"]
    # Seven questions at 1 keep level 2 from 0.8 (13 of 20 meet it): the plant is at level 1.
    assert res["level"] == 1 and res["tier"]["tier"] is None and res["tier"]["next"] == "basic"
    assert res["roadmap"][0]["gap"] > 0
