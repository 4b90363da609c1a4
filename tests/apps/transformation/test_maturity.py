"""The maturity models as data, the GB/T 39117 level determination on hand-computed cases, answers
checked (overrides need a comment) and assessments kept with their history."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartfab.apps.transformation.data import TransformationError
from smartfab.apps.transformation.evidence import Evidence
from smartfab.apps.transformation.maturity import (
    MODELS,
    AnswerIn,
    AssessmentBook,
    check_answers,
    propose,
    questionnaire,
    result,
    targets,
    tier,
)
from smartfab.platform.store.duckdb import DuckDBStore


def answers(values: dict[str, float]) -> dict[str, dict[str, float]]:
    return {k: {"value": v} for k, v in values.items()}


def test_the_three_models_have_their_published_structure() -> None:
    gb = questionnaire("gbt39116")
    assert len(gb.questions) == 20 and set(gb.groups) == {
        "personnel", "technology", "resources", "manufacturing"}  # fmt: skip
    assert [gb.levels[k].zh for k in range(1, 6)] == [
        "规划级",
        "规范级",
        "集成级",
        "优化级",
        "引领级",
    ]
    siri = questionnaire("siri")
    assert len(siri.questions) == 16 and len(siri.groups) == 8 and siri.scale == (0, 5)
    aca = questionnaire("acatech")
    assert len(aca.levels) == 6 and aca.levels[6].en == "Adaptability"
    for model in MODELS:  # every text in the three languages (the schema requires each)
        q = questionnaire(model)
        assert all(x.text.ru and x.text.zh and x.action.ru for x in q.questions)


def test_gbt39117_a_level_needs_080_at_it_and_every_level_below() -> None:
    q = questionnaire("gbt39116")
    ids = [x.id for x in q.questions]
    # 16 of 20 sub-domains at level 3 and 4 at level 2: level 3 scores 16/20 = 0.80, attained.
    r = result(q, answers({i: 3 if k < 16 else 2 for k, i in enumerate(ids)}))
    assert r["per_level"]["3"] == 0.8 and r["level"] == 3 and r["score"] == 3.0
    # 15 of 20: level 3 scores 0.75, so level 2, and the score is 2 + 0.75.
    r = result(q, answers({i: 3 if k < 15 else 2 for k, i in enumerate(ids)}))
    assert r["level"] == 2 and r["score"] == 2.75 and r["target"] == 3
    # A half level meets half of the next: all at 2.5 score 0.5 at level 3.
    r = result(q, answers(dict.fromkeys(ids, 2.5)))
    assert r["level"] == 2 and r["per_level"]["3"] == 0.5 and r["score"] == 2.5
    # A gap at a low level holds everything back: one sub-domain at 0 is 0.95 at level 1, still
    # attained; five at 0 make level 1 fail although the others are at 5.
    r = result(q, answers({i: 0 if k < 5 else 5 for k, i in enumerate(ids)}))
    assert r["per_level"]["1"] == 0.75 and r["level"] == 0 and r["score"] == 0.75


def test_roadmap_ranks_gaps_by_gap_times_impact() -> None:
    q = questionnaire("gbt39116")
    values = {x.id: 3.5 for x in q.questions}  # gap 0.5 to level 4: priority at most 1.5
    values["purchasing"] = 1  # impact 1, gap 3: priority 3
    values["operations"] = 2  # impact 3, gap 2: priority 6
    values["strategy"] = 3  # impact 2, gap 1: priority 2
    r = result(q, answers(values))
    assert r["level"] == 3 and r["target"] == 4
    top = [(g["question"], g["priority"]) for g in r["roadmap"][:4]]
    assert top == [("operations", 6), ("purchasing", 3), ("strategy", 2), ("data", 1.5)]
    assert len(r["roadmap"]) == 20 and r["roadmap"][-1]["priority"] == 0.5


def test_siri_is_the_mean_band_and_acatech_the_lowest_area() -> None:
    siri = questionnaire("siri")
    r = result(
        siri, answers({x.id: (3 if x.group == "connectivity" else 2) for x in siri.questions})
    )
    assert r["score"] == round((3 * 3 + 13 * 2) / 16, 3) and r["level"] == 2
    assert r["groups"]["connectivity"] == 3
    aca = questionnaire("acatech")
    r = result(aca, answers({x.id: (2 if x.group == "culture" else 4) for x in aca.questions}))
    assert r["level"] == 2 and r["groups"]["resources"] == 4


def test_tiers_follow_the_gbt39116_level() -> None:
    tiers = targets().tiers
    assert tier(1, tiers)["tier"] is None and tier(1, tiers)["next"] == "basic"
    assert tier(3, tiers)["tier"] == "advanced" and tier(3, tiers)["next_needs_level"] == 4
    assert tier(5, tiers)["tier"] == "leading" and tier(5, tiers)["next"] is None


def evidence(metric: str, value: float) -> Evidence:
    return Evidence(metric, value, value * 10, 10, "store", f"{value * 10:g} of 10")


def test_proposals_take_the_levels_the_evidence_reaches_and_overrides_need_a_comment() -> None:
    q = questionnaire("gbt39116")
    props = {
        p.question: p for p in propose(q, {"connection_rate": evidence("connection_rate", 0.6)})
    }
    assert props["integration"].value == 2 and props["network"].value == 2  # 0.1, 0.5 reached
    assert props["strategy"].value is None and props["data"].value is None  # no evidence
    given = {x.id: AnswerIn(value=1) for x in q.questions if x.id not in ("integration", "network")}
    stored = check_answers(q, list(props.values()), given)
    assert stored["integration"] == {
        "value": 2.0, "proposed": 2, "overridden": False, "comment": "",
        "evidence": evidence("connection_rate", 0.6).to_dict(),
    }  # fmt: skip
    with pytest.raises(TransformationError, match=r"integration: 3 overrides the proposed 2"):
        check_answers(q, list(props.values()), {**given, "integration": AnswerIn(value=3)})
    ok = check_answers(
        q, list(props.values()),
        {**given, "integration": AnswerIn(value=3, comment="MES links planning")},
    )  # fmt: skip
    assert ok["integration"]["overridden"] and ok["integration"]["comment"] == "MES links planning"
    with pytest.raises(TransformationError, match=r"no evidence for strategy: answer"):
        check_answers(q, list(props.values()), {k: v for k, v in given.items() if k != "strategy"})
    with pytest.raises(TransformationError, match=r"strategy: 7 is not a level from 0 to 5"):
        check_answers(q, list(props.values()), {**given, "strategy": AnswerIn(value=7)})
    with pytest.raises(TransformationError, match=r"strategy: 1.3 is not a level"):
        check_answers(q, list(props.values()), {**given, "strategy": AnswerIn(value=1.3)})
    with pytest.raises(TransformationError, match=r"no such questions: nope"):
        check_answers(q, list(props.values()), {**given, "nope": AnswerIn(value=1)})


def test_assessments_are_kept_with_their_history(tmp_path: Path) -> None:
    q = questionnaire("gbt39116")
    path = tmp_path / "s.duckdb"
    with DuckDBStore(path) as store:
        book = AssessmentBook(store)
        first = book.add(q, answers({x.id: 2 for x in q.questions}), "li", targets().tiers, at=1)
        book.add(q, answers({x.id: 3 for x in q.questions}), "li", targets().tiers, at=2)
        book.add(questionnaire("siri"), answers({x.id: 1 for x in questionnaire("siri").questions}),
                 "wang")  # fmt: skip
    with DuckDBStore(path) as store:  # survives a restart
        book = AssessmentBook(store)
        history = book.all("gbt39116")
        assert [a["result"]["level"] for a in history] == [2, 3]
        assert [a["result"]["tier"]["tier"] for a in history] == ["basic", "advanced"]
        assert book.get(first["id"])["by"] == "li" and len(book.all()) == 3
        with pytest.raises(TransformationError, match="no assessment 'x'"):
            book.get("x")


def test_a_plant_folder_overrides_the_packaged_file_and_a_bad_one_is_refused(
    tmp_path: Path,
) -> None:
    text = (Path(questionnaire.__code__.co_filename).parent / "data" / "siri.yaml").read_text(
        encoding="utf-8"
    )
    (tmp_path / "siri.yaml").write_text(text.replace("Band 5", "Band five"), encoding="utf-8")
    assert questionnaire("siri", tmp_path).levels[5].en == "Band five"
    assert questionnaire("acatech", tmp_path).levels[1].en == "Computerisation"  # packaged
    (tmp_path / "siri.yaml").write_text(text.replace("impact: 3", "impact: 9", 1), "utf-8")
    with pytest.raises(TransformationError, match=r"siri.yaml: questions.0.impact: .*less than"):
        questionnaire("siri", tmp_path)
    with pytest.raises(TransformationError, match="maturity model 'x': choose one of"):
        questionnaire("x")
