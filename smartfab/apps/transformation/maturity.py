"""Maturity self-assessment with three published models, whose questionnaires are data files:
GB/T 39116-2020 with the level determination of GB/T 39117-2020, Singapore's SIRI and the acatech
Industrie 4.0 Maturity Index (see ``data/*.yaml`` for each model's structure and rule).

The platform proposes an answer where it holds evidence (:mod:`.evidence`) and cites it; a person
confirms or overrides each answer, an override with a comment. The result is the level per the
model's rule, the gaps to the next level, a roadmap of actions ranked by gap times impact and, for
GB/T 39116, the smart-factory tier the plant would qualify for. Assessments are kept with their
history in the store's settings (:class:`AssessmentBook`)."""

from __future__ import annotations

import itertools
import json
import math
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from smartfab.apps.transformation.data import TransformationError, load_model
from smartfab.apps.transformation.evidence import Evidence
from smartfab.platform.points import now_us
from smartfab.platform.store.base import Store

MODELS = ("gbt39116", "siri", "acatech")
TIER_MODEL = "gbt39116"  # the smart-factory tiers are defined on GB/T 39116 levels
SETTING = "transformation.assessments"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)
    ru: str = Field(min_length=1)


class EvidenceRule(_Strict):
    metric: str
    thresholds: list[float] = Field(min_length=1)  # the metric reaches t[k]: level k+1 supported

    @model_validator(mode="after")
    def _rising(self) -> EvidenceRule:
        t = self.thresholds
        if any(b < a for a, b in itertools.pairwise(t)) or not 0 <= t[0] <= t[-1] <= 1:
            raise ValueError(f"thresholds {t}: rising shares between 0 and 1")
        return self


class Question(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    group: str
    title: Text
    text: Text
    weight: float = Field(default=1.0, gt=0)
    impact: int = Field(default=1, ge=1, le=3)
    action: Text
    evidence: EvidenceRule | None = None


class Questionnaire(_Strict):
    id: str
    title: Text
    source: Text
    method: Literal["threshold", "mean", "lowest_group"]
    threshold: float = Field(default=0.8, gt=0, le=1)
    scale: tuple[int, int]
    levels: dict[int, Text]
    groups: dict[str, Text]
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Questionnaire:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("question ids must be unique")
        for q in self.questions:
            if q.group not in self.groups:
                raise ValueError(f"question {q.id}: group {q.group!r} is not among the groups")
            if q.evidence and len(q.evidence.thresholds) > self.scale[1]:
                raise ValueError(f"question {q.id}: more thresholds than levels")
        return self

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise TransformationError(f"{self.id}: no question {qid!r}")


class Tier(_Strict):
    id: str
    name: Text
    min_level: int
    why: Text


class Target(_Strict):
    kpi: str
    year: int
    value: float
    country: str
    source: Text
    url: str
    label: Text | None = None  # who set it, briefly, in the web app's languages


class Targets(_Strict):
    targets: list[Target]
    tiers: list[Tier]


def questionnaire(model: str, folder: Path | None = None) -> Questionnaire:
    if model not in MODELS:
        raise TransformationError(f"maturity model {model!r}: choose one of {', '.join(MODELS)}")
    q = load_model(f"{model}.yaml", Questionnaire, folder)
    if q.id != model:
        raise TransformationError(f"{model}.yaml: its id is {q.id!r}, not {model!r}")
    return q


def targets(folder: Path | None = None) -> Targets:
    return load_model("targets.yaml", Targets, folder)


# --- proposals from evidence --------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    question: str
    value: int | None  # None: no evidence, a person answers
    evidence: Evidence | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "value": self.value,
            "evidence": self.evidence.to_dict() if self.evidence else None,
        }


def propose(q: Questionnaire, evidence: Mapping[str, Evidence]) -> list[Proposal]:
    """Per question, the level its evidence supports (the thresholds the metric reaches)."""
    out = []
    for item in q.questions:
        rule = item.evidence
        found = evidence.get(rule.metric) if rule else None
        if rule is None or found is None:
            out.append(Proposal(item.id, None, None))
            continue
        level = sum(found.value >= t - 1e-9 for t in rule.thresholds)
        out.append(Proposal(item.id, level, found))
    return out


# --- answers and the result ---------------------------------------------------------------------


class AnswerIn(BaseModel):
    """A person's answer: the level (half levels allowed), and a comment, which an override of
    the proposed answer needs."""

    model_config = ConfigDict(extra="forbid")
    value: float
    comment: str = Field(default="", max_length=2000)


def check_answers(
    q: Questionnaire, proposals: list[Proposal], given: Mapping[str, AnswerIn]
) -> dict[str, dict[str, Any]]:
    """The answers to store: a proposal stands where the person gives none; every question
    without evidence needs an answer, every override a comment."""
    unknown = sorted(set(given) - {x.id for x in q.questions})
    if unknown:
        raise TransformationError(f"{q.id}: no such questions: {', '.join(unknown)}")
    low, high = q.scale
    out: dict[str, dict[str, Any]] = {}
    missing = []
    for p in proposals:
        a = given.get(p.question)
        if a is None and p.value is None:
            missing.append(p.question)
            continue
        value = float(p.value if a is None else a.value)  # type: ignore[arg-type]
        if not (math.isfinite(value) and low <= value <= high) or value * 2 != round(value * 2):
            raise TransformationError(
                f"{q.id}.{p.question}: {value:g} is not a level from {low} to {high} "
                "(half levels allowed)"
            )
        comment = a.comment.strip() if a is not None else ""
        overridden = p.value is not None and value != p.value
        if overridden and not comment:
            raise TransformationError(
                f"{q.id}.{p.question}: {value:g} overrides the proposed {p.value} "
                f"({p.evidence.detail if p.evidence else ''}); say why in a comment"
            )
        out[p.question] = {
            "value": value,
            "proposed": p.value,
            "overridden": overridden,
            "comment": comment,
            "evidence": p.evidence.to_dict() if p.evidence else None,
        }
    if missing:
        raise TransformationError(
            f"{q.id}: no evidence for {', '.join(missing)}: answer them (level {low}-{high})"
        )
    return out


def _level_scores(q: Questionnaire, values: Mapping[str, float]) -> dict[int, float]:
    """GB/T 39117: per level, the weighted share of the sub-domains meeting it (a half level
    meets half of the next)."""
    total = sum(x.weight for x in q.questions)
    return {
        level: sum(x.weight * min(1.0, max(0.0, values[x.id] - (level - 1)))
                   for x in q.questions) / total
        for level in range(1, q.scale[1] + 1)
    }  # fmt: skip


def result(q: Questionnaire, answers: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Level, score, group means, gaps to the next level and the roadmap."""
    values = {k: float(v["value"]) for k, v in answers.items()}
    groups: dict[str, list[tuple[float, float]]] = {}
    for x in q.questions:
        groups.setdefault(x.group, []).append((values[x.id], x.weight))
    means = {g: sum(v * w for v, w in vw) / sum(w for _, w in vw) for g, vw in groups.items()}
    top = q.scale[1]
    per_level: dict[int, float] = {}
    if q.method == "threshold":
        per_level = _level_scores(q, values)
        level = 0
        while level < top and per_level[level + 1] >= q.threshold - 1e-9:
            level += 1
        score = level + (per_level[level + 1] if level < top else 0.0)
    elif q.method == "mean":
        total = sum(x.weight for x in q.questions)
        score = sum(values[x.id] * x.weight for x in q.questions) / total
        level = math.floor(score + 1e-9)
    else:  # lowest_group: the stage every area has reached
        score = min(means.values())
        level = math.floor(score + 1e-9)
    target = min(level + 1, top)
    gaps: list[dict[str, Any]] = []
    for x in q.questions:
        gap = max(0.0, target - values[x.id])
        if gap > 0:
            gaps.append({"question": x.id, "group": x.group, "value": values[x.id],
                         "target": target, "gap": gap, "impact": x.impact,
                         "priority": gap * x.impact * x.weight})  # fmt: skip
    gaps.sort(key=lambda g: (-g["priority"], g["question"]))
    return {
        "model": q.id,
        "level": level,
        "score": round(score, 3),
        "target": target,
        "per_level": {str(k): round(v, 4) for k, v in per_level.items()},
        "groups": {g: round(m, 3) for g, m in means.items()},
        "values": values,
        "roadmap": gaps,
    }


def tier(level: int, tiers: list[Tier]) -> dict[str, Any]:
    """The highest smart-factory tier a GB/T 39116 level qualifies for, and the next one."""
    ranked = sorted(tiers, key=lambda t: t.min_level)
    got = [t for t in ranked if level >= t.min_level]
    nxt = next((t for t in ranked if level < t.min_level), None)
    return {
        "tier": got[-1].id if got else None,
        "why": got[-1].why.model_dump() if got else None,
        "next": nxt.id if nxt else None,
        "next_needs_level": nxt.min_level if nxt else None,
        "next_why": nxt.why.model_dump() if nxt else None,
    }


# --- the assessments with their history ---------------------------------------------------------


class AssessmentBook:
    """Every assessment made, oldest first, in the store's settings (so that every worker and a
    restart see the same history). An assessment is never changed: a new one supersedes it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()

    def all(self, model: str | None = None) -> list[dict[str, Any]]:
        raw = self.store.get_setting(SETTING)
        items: list[dict[str, Any]] = json.loads(raw) if raw else []
        return [a for a in items if model is None or a["model"] == model]

    def get(self, assessment_id: str) -> dict[str, Any]:
        for a in self.all():
            if a["id"] == assessment_id:
                return a
        raise TransformationError(f"no assessment {assessment_id!r}")

    def add(
        self,
        q: Questionnaire,
        answers: dict[str, dict[str, Any]],
        by: str,
        tiers: list[Tier] | None = None,
        at: int | None = None,
    ) -> dict[str, Any]:
        res = result(q, answers)
        if q.id == TIER_MODEL and tiers is not None:
            res["tier"] = tier(res["level"], tiers)
        record = {
            "id": uuid.uuid4().hex[:12],
            "model": q.id,
            "at": at if at is not None else now_us(),
            "by": by,
            "answers": answers,
            "result": res,
        }
        with self._lock:
            items = self.all()
            items.append(record)
            self.store.set_setting(SETTING, json.dumps(items, sort_keys=True))
        return record
