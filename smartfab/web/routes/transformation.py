"""Digital-transformation management over HTTP (:mod:`smartfab.apps.transformation`): the maturity
questionnaires, the platform's evidence and proposals, assessments with their history, the KPIs
with their trend, the gains the platform measured, projects with their appraisal (a benefit may
rest on a measured gain, which the server measures itself), the summary as PDF or XLSX and the
sovereignty
report, and the national insights when the server knows the econ data folder (the
``insights_data`` setting). Everyone with ``transformation.read`` reads; ``transformation.edit``
(engineers and admins: the managers' role) records assessments, KPIs and projects. Both concern
the whole plant, so both need a whole-plant grant."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from smartfab.apps.monitoring.production import AssetError, equipment_below
from smartfab.apps.transformation.data import TransformationError, problems
from smartfab.apps.transformation.evidence import Evidence, gather
from smartfab.apps.transformation.finance import Project, ProjectBook, appraise, resolve
from smartfab.apps.transformation.gains import GainKind, GainRef, Measured, default_periods, measure
from smartfab.apps.transformation.insights import (
    YEARS,
    Wdi,
    countries_of,
    joined,
    missing_files,
    overview,
    sheets,
    write_csv,
)
from smartfab.apps.transformation.insights import write_xlsx as insights_xlsx
from smartfab.apps.transformation.kpis import KpiHistory, kpis, national_figures
from smartfab.apps.transformation.maturity import (
    MODELS,
    AnswerIn,
    AssessmentBook,
    check_answers,
    propose,
    questionnaire,
    targets,
)
from smartfab.apps.transformation.sovereignty import outbound, report, sbom_json
from smartfab.apps.transformation.subsidies import programmes
from smartfab.apps.transformation.summary import build, write_pdf, write_xlsx
from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security.roles import Principal
from smartfab.web.auth import guards, require
from smartfab.web.schemas import Instant

READ = require("transformation.read")
EDIT = require("transformation.edit")
Days = Annotated[float, Query(gt=0, le=366, description="Days of stored data the evidence covers")]
Model = Literal["gbt39116", "siri", "acatech"]
Countries = Annotated[str, Query(max_length=2000, description="ISO3 codes, comma-separated, "
                                 "or a group of economies.yaml: major, sco")]  # fmt: skip
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
When = Annotated[
    Instant | None,
    Query(
        description="ISO 8601; give all four times or none "
        "(none: two periods ending at the asset's newest data)"
    ),
]


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Model
    answers: dict[str, AnswerIn] = Field(default_factory=dict, max_length=200)
    days: float = Field(default=7.0, gt=0, le=366)


def _unprocessable(exc: Exception) -> HTTPException:
    return HTTPException(422, str(exc))


def _invalid(exc: ValidationError) -> HTTPException:
    return HTTPException(422, problems(exc, "periods"))


def _file(content: bytes, media: str, name: str) -> Response:
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def router(
    data: PlantData,
    models_dir: Path | None = None,
    *,
    insights: Path | None = None,
    addresses: Sequence[tuple[str, str]] = (),
) -> APIRouter:
    """``insights``: the econ data folder (the ``insights_data`` setting), without which the
    insights answer ``available: false`` and the KPIs have no national figures; ``addresses``:
    what the settings make smartfab talk to (``Settings.addresses``), for the sovereignty
    report."""
    api = APIRouter(prefix="/transformation", tags=["transformation"])
    folder = models_dir.parent / "transformation" if models_dir is not None else None

    def plant() -> Plant:
        if data.plant is None:
            raise HTTPException(409, "this server was started without a plant model")
        return data.plant

    def evidence(request: Request, days: float) -> dict[str, Evidence]:
        return gather(plant(), data.store, days=days, models_dir=models_dir,
                      security=guards(request).security,
                      tls=request.url.scheme == "https")  # fmt: skip

    @api.get("/models", summary="The maturity questionnaires (en/zh/ru) and the targets",
             dependencies=[READ])  # fmt: skip
    def models() -> dict[str, Any]:
        t = targets(folder)
        return {
            "models": {m: questionnaire(m, folder).model_dump() for m in MODELS},
            "targets": [x.model_dump() for x in t.targets],
            "tiers": [x.model_dump() for x in t.tiers],
        }

    @api.get("/evidence", summary="The platform's evidence and the answers it proposes",
             dependencies=[READ])  # fmt: skip
    def proposals(request: Request, days: Days = 7.0) -> dict[str, Any]:
        found = evidence(request, days)
        return {
            "evidence": [e.to_dict() for e in found.values()],
            "proposals": {m: [p.to_dict() for p in propose(questionnaire(m, folder), found)]
                          for m in MODELS},
        }  # fmt: skip

    @api.get("/assessments", summary="Assessments, oldest first", dependencies=[READ])
    def assessments(model: Model | None = None) -> list[dict[str, Any]]:
        return AssessmentBook(data.store).all(model)

    @api.post("/assessments", status_code=201, summary="Record an assessment: the proposals "
              "stand where no answer is given; an override needs a comment")  # fmt: skip
    def assess(
        request: Request, body: AssessmentIn, who: Annotated[Principal, EDIT]
    ) -> dict[str, Any]:
        q = questionnaire(body.model, folder)
        try:
            answers = check_answers(q, propose(q, evidence(request, body.days)), body.answers)
        except TransformationError as exc:
            raise _unprocessable(exc) from None
        return AssessmentBook(data.store).add(q, answers, who.name, targets(folder).tiers)

    @api.get("/kpis", summary="The KPIs against the national targets, and their recorded trend",
             dependencies=[READ])  # fmt: skip
    def kpi_now(request: Request, days: Days = 7.0) -> dict[str, Any]:
        national = national_figures(insights) if insights is not None else None
        rows = kpis(evidence(request, days), targets(folder).targets, national)
        return {"kpis": rows, "trend": KpiHistory(data.store).all(), "national": national}

    @api.post("/kpis", status_code=201, summary="Record the KPIs now, for the trend",
              dependencies=[EDIT])  # fmt: skip
    def kpi_record(request: Request, days: Days = 7.0) -> dict[str, Any]:
        rows = kpis(evidence(request, days), targets(folder).targets)
        return KpiHistory(data.store).record(rows)

    @api.get("/gains", summary="A gain the platform measured: an asset's OEE, energy per good "
             "part, scrap or unplanned downtime before and after a change, per year and in "
             "money at the plant file's prices", dependencies=[READ])  # fmt: skip
    def gain(
        gain: GainKind,
        path: Annotated[
            str,
            Query(min_length=1, max_length=500, description="Site, area, line, cell or equipment"),
        ],
        before_start: When = None,
        before_end: When = None,
        after_start: When = None,
        after_end: When = None,
    ) -> dict[str, Any]:
        the_plant = plant()
        try:
            equipment_below(the_plant, path)
        except AssetError as exc:
            raise HTTPException(404, str(exc)) from None
        times = (before_start, before_end, after_start, after_end)
        try:
            if all(t is None for t in times):
                before, after = default_periods(the_plant, data.store, path)
                ref = GainRef(gain=gain, path=path, before=before, after=after)
            elif any(t is None for t in times):
                raise HTTPException(422, "give before_start, before_end, after_start and "
                                    "after_end together, or none of them")  # fmt: skip
            else:
                ref = GainRef.model_validate({
                    "gain": gain, "path": path,
                    "before": {"start": before_start, "end": before_end},
                    "after": {"start": after_start, "end": after_end}})  # fmt: skip
            result = measure(the_plant, data.store, ref)
        except ValidationError as exc:
            raise _invalid(exc) from None
        except TransformationError as exc:
            raise _unprocessable(exc) from None
        return Measured(**ref.model_dump(), result=result).model_dump(mode="json")

    @api.get("/projects", summary="The projects, each appraised with and without subsidies",
             dependencies=[READ])  # fmt: skip
    def projects() -> dict[str, Any]:
        rules = programmes(folder)
        return {
            "programmes": [p.model_dump() for p in rules],
            "projects": [appraise(p, rules) for p in ProjectBook(data.store).all()],
        }

    @api.put("/projects/{project_id}", summary="Add or replace a project; its appraisal",
             dependencies=[EDIT])  # fmt: skip
    def put_project(project_id: str, body: Project) -> dict[str, Any]:
        if body.id != project_id:
            raise HTTPException(422, f"the body's id {body.id!r} is not {project_id!r}")
        book = ProjectBook(data.store)
        stored = next((p for p in book.all() if p.id == project_id), None)
        try:
            if any(b.measured is not None for b in body.benefits):
                body = resolve(body, plant(), data.store, stored)
            result = appraise(body, programmes(folder))
        except TransformationError as exc:
            raise _unprocessable(exc) from None
        try:
            book.put(body)
        except TransformationError as exc:  # the most projects the plant keeps
            raise HTTPException(409, str(exc)) from None
        return result

    @api.delete("/projects/{project_id}", status_code=204, summary="Remove a project",
                dependencies=[EDIT])  # fmt: skip
    def delete_project(project_id: str) -> Response:
        try:
            ProjectBook(data.store).delete(project_id)
        except TransformationError as exc:
            raise HTTPException(404, str(exc)) from None
        return Response(status_code=204)

    @api.get("/summary", summary="The summary for a bank or a ministry, as PDF or XLSX",
             response_class=Response, dependencies=[READ])  # fmt: skip
    def summary(
        request: Request,
        format: Literal["pdf", "xlsx"] = "pdf",
        lang: Literal["en", "zh", "ru"] = "en",
        days: Days = 7.0,
    ) -> Response:
        s = build(plant(), data.store, evidence(request, days), folder, insights)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"summary.{format}"
            (write_pdf if format == "pdf" else write_xlsx)(s, path, lang)
            content = path.read_bytes()
        media = "application/pdf" if format == "pdf" else XLSX
        return _file(content, media, f"transformation-{lang}.{format}")

    @api.get("/sovereignty", summary="Where each part of the stack runs; smartfab's packages "
             "and licences; the connections this server holds beyond this machine",
             dependencies=[READ])  # fmt: skip
    def sovereignty() -> dict[str, Any]:
        found = outbound(os.getpid())
        return {**report(plant(), addresses), "outbound": {
            "pid": os.getpid(), "connections": found,
            "internet": sum(c["internet"] for c in found)}}  # fmt: skip

    @api.get("/sbom", summary="smartfab's software bill of materials (CycloneDX 1.5 JSON)",
             response_class=Response, dependencies=[READ])  # fmt: skip
    def sbom() -> Response:
        return _file(sbom_json().encode(), "application/vnd.cyclonedx+json", "smartfab-sbom.json")

    def econ() -> Path:
        if insights is None:
            raise HTTPException(409, "this server was started without the insights_data setting")
        missing = missing_files(insights)
        if missing:
            raise HTTPException(409, f"the insights_data folder lacks {', '.join(missing)}")
        return insights

    @api.get("/insights", summary="National industry figures of the countries, China's "
             "accounts and the article's figures checked against the data",
             dependencies=[READ])  # fmt: skip
    def national(countries: Countries = "major") -> dict[str, Any]:
        missing = missing_files(insights) if insights is not None else []
        if insights is None or missing:
            return {"available": False, "setting": "insights_data",
                    "variable": "SMARTFAB_INSIGHTS_DATA", "missing": missing}  # fmt: skip
        try:
            return {"available": True, **overview(econ(), countries_of(countries, folder), folder)}
        except TransformationError as exc:
            raise _unprocessable(exc) from None

    @api.get("/insights/export", summary="The countries' series as CSV or XLSX",
             response_class=Response, dependencies=[READ])  # fmt: skip
    def national_export(
        countries: Countries = "major", format: Literal["csv", "xlsx"] = "csv"
    ) -> Response:
        try:
            start, end = min(y[0] for y in YEARS.values()), max(y[1] for y in YEARS.values())
            tables = sheets(Wdi(econ()), countries_of(countries, folder), start, end)
        except TransformationError as exc:
            raise _unprocessable(exc) from None
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"insights.{format}"
            if format == "csv":
                write_csv(joined(tables), path)
            else:
                insights_xlsx(tables, path)
            content = path.read_bytes()
        media = "text/csv; charset=utf-8" if format == "csv" else XLSX
        return _file(content, media, f"insights.{format}")

    return api
