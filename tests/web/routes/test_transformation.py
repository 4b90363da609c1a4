"""Transformation routes on the demo plant's store: the questionnaires, evidence and proposals,
an assessment recorded by an editor (a viewer reads only), the KPIs and their trend, a project
appraised, the summary files and the sovereignty report. The figures themselves are tested in
tests/apps/transformation; here: the routes serve them and store what they should."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.web.api import create_app
from tests.apps.transformation.econ import econ_dir
from tests.web.conftest import bearer

T = "/api/transformation"


@pytest.fixture(scope="module")
def store(filled_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    path = tmp_path_factory.mktemp("transformation") / "s.duckdb"
    shutil.copy(filled_store, path)  # assessments and projects are written to its settings
    with DuckDBStore(path) as s:
        yield s


@pytest.fixture(scope="module")
def client(store: DuckDBStore, demo_plant: Plant, security: Security) -> TestClient:
    app = create_app(PlantData(store, demo_plant), security=security)
    return TestClient(app, headers=bearer(security, "engineer", name="manager"))


def test_models_evidence_and_an_assessment(client: TestClient, security: Security) -> None:
    models = client.get(f"{T}/models").json()
    assert set(models["models"]) == {"gbt39116", "siri", "acatech"}
    assert models["models"]["gbt39116"]["levels"]["3"]["zh"] == "集成级"
    assert {t["value"] for t in models["targets"] if t["kpi"] == "cnc_rate"} == {70, 75}
    found = client.get(f"{T}/evidence", params={"days": 1}).json()
    by_metric = {e["metric"]: e for e in found["evidence"]}
    assert by_metric["collection_coverage"]["source"].startswith("store, 2026-11-16")
    data = next(p for p in found["proposals"]["gbt39116"] if p["question"] == "data")
    assert data["value"] == 3 and data["evidence"]["metric"] == "collection_coverage"
    unanswered = [p["question"] for p in found["proposals"]["gbt39116"] if p["value"] is None]
    answers = {q: {"value": 2} for q in unanswered}
    r = client.post(f"{T}/assessments", json={"model": "gbt39116", "answers": {
        **answers, "data": {"value": 4}}, "days": 1})  # fmt: skip
    assert r.status_code == 422 and "data: 4 overrides the proposed 3" in r.json()["detail"]
    viewer = bearer(security, "viewer")
    body = {
        "model": "gbt39116",
        "answers": {**answers, "data": {"value": 4, "comment": "the MES holds the rest"}},
        "days": 1,
    }
    assert client.post(f"{T}/assessments", json=body, headers=viewer).status_code == 403
    r = client.post(f"{T}/assessments", json=body)
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["by"].startswith("manager") and record["answers"]["data"]["overridden"]
    assert record["result"]["tier"]["tier"] == "basic"
    history = client.get(f"{T}/assessments", params={"model": "gbt39116"}, headers=viewer).json()
    assert [a["id"] for a in history] == [record["id"]]


def test_kpis_and_their_trend(client: TestClient) -> None:
    now = client.get(f"{T}/kpis", params={"days": 1}).json()
    rows = {r["kpi"]: r for r in now["kpis"]}
    assert rows["cnc_rate"]["value"] == 70 and rows["connection_rate"]["value"] == 100
    assert client.post(f"{T}/kpis", params={"days": 1}).status_code == 201
    trend = client.get(f"{T}/kpis", params={"days": 1}).json()["trend"]
    assert trend[-1]["values"]["cnc_rate"] == 70


def test_projects_summary_and_sovereignty(client: TestClient) -> None:
    project = {
        "id": "mes", "name": "MES", "programme": "heilongjiang", "type": "smart_factory",
        "items": [{"name": "line", "kind": "hardware", "amount": 120_000_000}],
        "benefits": [{"name": "OEE", "kind": "oee", "annual": 30_000_000}],
    }  # fmt: skip
    r = client.put(f"{T}/projects/mes", json=project)
    assert r.status_code == 200, r.text
    assert r.json()["subsidies"][0]["amount"] == 10_000_000 and r.json()["subsidies"][0]["capped"]
    assert client.put(f"{T}/projects/other", json=project).status_code == 422
    listed = client.get(f"{T}/projects").json()
    assert [a["project"]["id"] for a in listed["projects"]] == ["mes"]
    pdf = client.get(f"{T}/summary", params={"format": "pdf", "lang": "ru", "days": 1})
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    xlsx = client.get(f"{T}/summary", params={"format": "xlsx", "days": 1})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.delete(f"{T}/projects/mes").status_code == 204
    assert client.delete(f"{T}/projects/mes").status_code == 404
    sov = client.get(f"{T}/sovereignty").json()
    assert sov["without_licence"] == [] and any(p["name"] == "fastapi" for p in sov["packages"])
    # This process holds no connection beyond this machine (its test client is in-process).
    assert sov["outbound"]["internet"] == 0 and sov["outbound"]["pid"] > 0
    sbom = client.get(f"{T}/sbom")
    assert sbom.headers["content-type"] == "application/vnd.cyclonedx+json"
    assert sbom.json()["bomFormat"] == "CycloneDX"


def test_without_the_econ_data_the_insights_say_which_setting(client: TestClient) -> None:
    found = client.get(f"{T}/insights").json()
    assert found == {"available": False, "setting": "insights_data",
                     "variable": "SMARTFAB_INSIGHTS_DATA", "missing": []}  # fmt: skip
    r = client.get(f"{T}/insights/export")
    assert r.status_code == 409 and "insights_data" in r.json()["detail"]
    assert "national" not in client.get(f"{T}/kpis", params={"days": 1}).json()["kpis"][0]


def test_insights_national_kpis_and_the_settings_addresses(
    store: DuckDBStore, demo_plant: Plant, security: Security
) -> None:
    econ = econ_dir()
    app = create_app(PlantData(store, demo_plant), security=security, insights=econ,
                     addresses=[("alarm_notify webhook", "https://hooks.example.com")])  # fmt: skip
    viewer = TestClient(app, headers=bearer(security, "viewer"))
    found = viewer.get(f"{T}/insights", params={"countries": "sco"}).json()
    assert found["available"] and found["groups"]["sco"]["name"]["ru"].startswith("Государства")
    manufactures = {s["code"]: s for s in found["manufactures"]["series"]}
    assert set(manufactures) == set(found["groups"]["sco"]["countries"])
    assert found["manufactures"]["years"][0] == 2002 and len(manufactures["CHN"]["values"]) == 22
    assert [s["code"] for s in found["high_tech"]["series"]] == ["CHN", "RUS", "IND"]
    assert found["high_tech"]["vintage"] == "2026-04-08"
    tech = next(f for f in found["figures"] if f["what"].startswith("high-technology"))
    assert (tech["article"], tech["data"], tech["agrees"]) == (23.12, 27.7651, False)
    assert tech["title"]["zh"].startswith("高技术")
    assert round(found["china"]["industry_share_of_gdp"], 2) == 33.19
    r = viewer.get(f"{T}/insights", params={"countries": "CHN,XXX"})
    assert r.status_code == 422 and "XXX" in r.json()["detail"]
    csv = viewer.get(f"{T}/insights/export", params={"countries": "CHN,USA"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "indicator,country,name,year,value"
    xlsx = viewer.get(f"{T}/insights/export", params={"countries": "sco", "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    rows = {r["kpi"]: r for r in viewer.get(f"{T}/kpis", params={"days": 1}).json()["kpis"]}
    assert rows["cnc_rate"]["national"]["value"] > 0
    sov = viewer.get(f"{T}/sovereignty").json()
    hook = next(x for x in sov["stack"] if x["what"] == "alarm_notify webhook")
    assert hook["where"] == "external"


def test_a_measured_gain_prefills_a_benefit_and_reaches_the_summary(
    client: TestClient, security: Security
) -> None:
    line = "shenyang/machining/cnc-line-1"
    viewer = bearer(security, "viewer")
    found = client.get(f"{T}/gains", params={"gain": "downtime", "path": line}, headers=viewer)
    assert found.status_code == 200, found.text
    gain = found.json()
    # Without periods: the six hours of data halved, ending at the newest whole minute.
    assert gain["after"]["end"] == "2026-11-17T11:59:00Z"
    assert gain["before"]["end"] == gain["after"]["start"] == "2026-11-17T09:00:00Z"
    assert gain["before"]["start"] == "2026-11-17T06:01:00Z"
    r = gain["result"]
    assert r["price_from"] == "economics.downtime_cost_per_hour" and r["price"] == 900
    assert r["annual"] == pytest.approx(r["quantity"] * 900) and r["unit"] == "h"
    at = {k: gain[p][e] for p in ("before", "after") for e in ("start", "end")
          for k in [f"{p}_{e}"]}  # fmt: skip
    again = client.get(f"{T}/gains", params={"gain": "downtime", "path": line, **at}).json()
    assert again["result"]["annual"] == pytest.approx(r["annual"])

    project = {
        "id": "tpm", "name": "Predictive maintenance", "programme": "suzhou",
        "items": [{"name": "sensors", "kind": "hardware", "amount": 800_000}],
        "benefits": [{"name": "Less downtime", "kind": "downtime", "measured": gain}],
    }  # fmt: skip
    put = client.put(f"{T}/projects/tpm", json=project)
    assert put.status_code == 200, put.text
    a = put.json()
    assert a["benefits"][0]["annual"] == pytest.approx(r["annual"], abs=0.01)
    assert a["annual_benefit"] == a["benefits"][0]["annual"]
    assert a["project"]["benefits"][0]["measured"]["result"]["price"] == 900
    xlsx = client.get(f"{T}/summary", params={"format": "xlsx", "lang": "zh", "days": 1})
    sheet = load_workbook(BytesIO(xlsx.content))["收益所依据的实测改进"]
    rows = list(sheet.values)
    assert rows[1][:4] == ("Predictive maintenance", "Less downtime", "非计划停机", line)
    assert "economics.downtime_cost_per_hour" in rows[1][7]
    pdf = client.get(f"{T}/summary", params={"format": "pdf", "lang": "ru", "days": 1})
    assert pdf.status_code == 200
    assert client.delete(f"{T}/projects/tpm").status_code == 204


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"gain": "oee", "path": "shenyang/nowhere"}, 404, "no equipment at or below"),
        ({"gain": "profit", "path": "shenyang"}, 422, "gain"),
        ({"gain": "oee", "path": "shenyang", "before_start": "2026-11-17T06:00"}, 422,
         "give before_start, before_end, after_start and after_end together"),
        ({"gain": "oee", "path": "shenyang", "before_start": "2026-11-17T09:00",
          "before_end": "2026-11-17T12:00", "after_start": "2026-11-17T06:00",
          "after_end": "2026-11-17T09:00"}, 422, "must end by the start of the after period"),
        ({"gain": "oee", "path": "shenyang", "before_start": "0001-01-01T00:00",
          "before_end": "2026-11-17T12:00", "after_start": "2026-11-17T12:00",
          "after_end": "9999-12-31T00:00"}, 422, "a time from 1970 to 2200"),
        ({"gain": "oee", "path": "shenyang", "before_start": "2025-01-01",
          "before_end": "2026-11-17", "after_start": "2026-11-17",
          "after_end": "2026-11-18"}, 422, "spans at most 400 days"),
        ({"gain": "oee", "path": "shenyang", "extra": "1"}, 422, "takes no parameter 'extra'"),
    ],
)  # fmt: skip
def test_a_gain_asked_for_wrongly_is_refused_with_the_reason(
    client: TestClient, params: dict[str, str], status: int, says: str
) -> None:
    r = client.get(f"{T}/gains", params=params)
    assert r.status_code == status, r.text
    assert says in str(r.json()["detail"])


def _project(**kw: object) -> dict[str, object]:
    return {"id": "x", "name": "X", "items": [{"name": "m", "kind": "hardware", "amount": 1000}],
            **kw}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (_project(items=[{"name": "m", "kind": "hardware", "amount": 1e308}]),
         "items.0.amount: Input should be less than or equal to 1000000000000000"),
        (_project(items=[{"name": "m", "kind": "hardware", "amount": 1, "year": -1}]),
         "items.0.year"),
        (_project(start=-2026), "start"),
        (_project(years=-3), "years"),
        (_project(discount_rate=1e308), "discount_rate"),
        (_project(benefits=[{"name": "b", "annual": -1e308}]), "benefits.0.annual"),
        (_project(name="a\u0000b"), "name"),
        (_project(items=[{"name": "m", "kind": "hardware", "amount": 1}] * 201), "items"),
        (_project(benefits=[{"name": "b", "annual": 1}] * 21), "benefits"),
        (_project(benefits=[{"name": "b", "kind": "oee", "measured": {
            "gain": "oee", "path": "shenyang", "before": {"start": "2026-11-17T06:00",
            "end": "1e308"}, "after": {"start": "2026-11-17T09:00", "end": "2026-11-17T12:00"}}}]),
         "benefits.0.measured.before.end"),
    ],
)  # fmt: skip
def test_extreme_projects_are_refused_with_the_field(
    client: TestClient, body: dict[str, object], says: str
) -> None:
    r = client.put(f"{T}/projects/x", json=body)
    assert r.status_code == 422, r.text
    where = [".".join(str(x) for x in e["loc"][1:]) + ": " + e["msg"] for e in r.json()["detail"]]
    assert any(w.startswith(says) for w in where), where


def test_numbers_that_are_not_finite_are_refused(client: TestClient) -> None:
    nan = b'{"id": "x", "name": "X", "items": [{"name": "m", "kind": "hardware", "amount": NaN}]}'
    r = client.put(f"{T}/projects/x", content=nan, headers={"Content-Type": "application/json"})
    assert (
        r.status_code == 422 and r.json()["detail"][0]["msg"] == "Input should be a finite number"
    )
    answer = b'{"model": "siri", "answers": {"vertical_integration": {"value": Infinity}}}'
    r = client.post(f"{T}/assessments", content=answer,
                    headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 422 and "inf is not a level from 0 to 5" in r.json()["detail"]


def test_no_countries_are_refused(
    store: DuckDBStore, demo_plant: Plant, security: Security
) -> None:
    app = create_app(PlantData(store, demo_plant), security=security, insights=econ_dir())
    viewer = TestClient(app, headers=bearer(security, "viewer"))
    for countries in ("", " , ,"):
        for route in ("insights", "insights/export"):
            r = viewer.get(f"{T}/{route}", params={"countries": countries})
            assert r.status_code == 422 and "give ISO 3166 alpha-3 codes" in r.json()["detail"]
