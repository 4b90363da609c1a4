"""`smartfab transformation ...` (maturity assessment with the platform's evidence, KPIs against
the national targets, investment and subsidy appraisal, the summary, the sovereignty report) and
`smartfab insights ...` (national industry figures and the article's figures checked against
them). See docs/transformation.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from smartfab.cli.common import ConfigOpt, DataDirOpt, PlantOpt, console, settings
from smartfab.config import Settings

app = typer.Typer(
    help="Digital transformation: maturity self-assessment, KPIs against national targets, "
    "investment and subsidy planner, summary, sovereignty report. See docs/transformation.md.",
    no_args_is_help=True,
)
insights = typer.Typer(
    help="National industry insights from the econ data: series for any country, the source "
    "article's figures checked against the data.",
    no_args_is_help=True,
)

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="gbt39116, siri or acatech.")]
DaysOpt = Annotated[float, typer.Option(min=0.01, help="Days of stored data the evidence covers.")]
EconOpt = Annotated[
    Path, typer.Option("--data", help="The econ data folder (../shared/data/econ).")
]


def folder(s: Settings) -> Path:
    """The plant's own transformation data files, which override the packaged ones."""
    return s.data_dir / "transformation"


def _evidence(s: Settings, plant: Any, store: Any, days: float) -> dict[str, Any]:
    from smartfab.apps.transformation.evidence import gather
    from smartfab.platform.security import Security

    security = Security(s.security_file) if s.security_file.is_file() else None
    try:
        return gather(plant, store, days=days, models_dir=s.data_dir / "models",
                      security=security, tls=s.tls_cert is not None)  # fmt: skip
    finally:
        if security is not None:
            security.close()


@app.command()
def evidence(
    days: DaysOpt = 7,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """What the platform knows of the plant's digitalisation, each figure with its source."""
    from smartfab.runtime.system import plant_and_store

    s = settings(config, data_dir, plant)
    with plant_and_store(s) as (the_plant, store):
        found = _evidence(s, the_plant, store, days)
    table = Table("metric", "share", "figures", "source")
    for e in found.values():
        table.add_row(e.metric, f"{e.value:.1%}", e.detail, e.source)
    console.print(table)


@app.command()
def assess(
    model: ModelOpt = "gbt39116",
    answers: Annotated[
        Path | None,
        typer.Option(
            help="YAML: question id -> {value, comment}. Without it: the proposals "
            "only, nothing stored."
        ),
    ] = None,
    by: Annotated[str, typer.Option(help="Who answers (kept with the assessment).")] = "local",
    days: DaysOpt = 7,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """Propose answers from the evidence; with --answers, store the assessment (the proposals
    stand where no answer is given; overriding one needs a comment) and print its level, tier
    and roadmap."""
    from smartfab.apps.transformation.data import TransformationError
    from smartfab.apps.transformation.maturity import (
        AnswerIn,
        AssessmentBook,
        check_answers,
        propose,
        questionnaire,
        targets,
    )
    from smartfab.runtime.system import plant_and_store

    s = settings(config, data_dir, plant)
    q = questionnaire(model, folder(s))
    with plant_and_store(s, writes=answers is not None) as (the_plant, store):
        proposals = propose(q, _evidence(s, the_plant, store, days))
        if answers is None:
            table = Table("question", "proposed", "evidence")
            for p in proposals:
                table.add_row(p.question, "-" if p.value is None else str(p.value),
                              p.evidence.detail if p.evidence else "answer it")  # fmt: skip
            console.print(table)
            return
        raw = yaml.safe_load(answers.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise TransformationError(f"{answers}: a mapping of question id -> value/comment")
        given = {
            k: AnswerIn.model_validate(v if isinstance(v, dict) else {"value": v})
            for k, v in raw.items()
        }
        record = AssessmentBook(store).add(
            q, check_answers(q, proposals, given), by, targets(folder(s)).tiers
        )
    r = record["result"]
    console.print(f"{q.title.en}: level {r['level']} ({q.levels.get(r['level'], q.title).en}), "
                  f"score {r['score']:.2f}; stored as {record['id']}")  # fmt: skip
    if "tier" in r:
        t = r["tier"]
        console.print(f"smart-factory tier: {t['tier'] or 'none yet'}; next: {t['next']} "
                      f"(needs level {t['next_needs_level']})")  # fmt: skip
    for g in r["roadmap"][:5]:
        console.print(f"  {g['priority']:.1f}  {q.question(g['question']).action.en}")


@app.command()
def kpis(
    econ: Annotated[
        Path | None,
        typer.Option("--data", help="The econ data folder (default: the insights_data setting)."),
    ] = None,
    record: Annotated[bool, typer.Option(help="Keep them for the trend.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
    days: DaysOpt = 7,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """The transformation KPIs against every national target (with its source) and the
    national figures."""
    from smartfab.apps.transformation.kpis import KpiHistory, national_figures
    from smartfab.apps.transformation.kpis import kpis as compute
    from smartfab.apps.transformation.maturity import targets
    from smartfab.runtime.system import plant_and_store

    s = settings(config, data_dir, plant)
    econ = econ if econ is not None else s.insights_data
    national = national_figures(econ) if econ is not None else None
    with plant_and_store(s, writes=record) as (the_plant, store):
        rows = compute(_evidence(s, the_plant, store, days), targets(folder(s)).targets, national)
        if record:
            KpiHistory(store).record(rows)
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("KPI", "plant", "target", "gap", "source of the target")
    for r in rows:
        value = "-" if r["value"] is None else f"{r['value']:.1f} %"
        for t in r["targets"] or [None]:
            if t is None:
                table.add_row(r["kpi"], value, "-", "-", r["detail"])
            else:
                gap = "-" if t["gap"] is None else f"{t['gap']:.1f}"
                table.add_row(r["kpi"], value, f"> {t['value']:g} % by {t['year']}", gap,
                              t["source"]["en"])  # fmt: skip
    console.print(table)


@app.command()
def gain(
    kind: Annotated[str, typer.Option("--gain", help="oee, energy, scrap or downtime.")],
    path: Annotated[str, typer.Option(help="Site, area, line, cell or equipment.")],
    before: Annotated[
        str | None,
        typer.Option(
            help="The period before the change: START..END (ISO 8601, UTC unless a zone is given)."
        ),
    ] = None,
    after: Annotated[
        str | None, typer.Option(help="The period after the change: START..END.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print it as JSON.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """A gain the platform measured: the asset's OEE, energy per good part, scrap or unplanned
    downtime before and after a change, per year and in money at the plant file's prices.
    Without periods: two adjacent ones ending at the asset's newest data."""  # fmt: skip
    from pydantic import ValidationError

    from smartfab.apps.transformation.data import TransformationError, problems
    from smartfab.apps.transformation.gains import GainRef, default_periods, measure
    from smartfab.runtime.system import plant_and_store

    if (before is None) != (after is None):
        raise TransformationError("give --before and --after together, or neither")
    s = settings(config, data_dir, plant)
    with plant_and_store(s) as (the_plant, store):
        spans: dict[str, Any] = {}
        try:
            if before is None or after is None:
                spans["before"], spans["after"] = default_periods(the_plant, store, path)
            else:
                for name, text in (("before", before), ("after", after)):
                    start, sep, end = text.partition("..")
                    if not sep:
                        raise TransformationError(f"--{name} {text!r}: write START..END")
                    spans[name] = {"start": start.strip(), "end": end.strip()}
            ref = GainRef.model_validate({"gain": kind, "path": path, **spans})
        except ValidationError as exc:
            raise TransformationError(problems(exc, "periods")) from None
        r = measure(the_plant, store, ref)
    if as_json:
        print(json.dumps({**ref.model_dump(mode="json"), "result": r.model_dump(mode="json")}))
        return

    def fmt(v: float) -> str:
        return f"{v:.4f} kWh/part" if ref.gain == "energy" else f"{v:.2%}"

    console.print(f"{ref.gain} of {ref.path}: {fmt(r.before)} before ({ref.before.text()}), "
                  f"{fmt(r.after)} after ({ref.after.text()})")  # fmt: skip
    money = (f"{r.annual:,.0f} {r.currency} a year at {r.price:,.4g} ({r.price_from})"
             if r.annual is not None and r.price is not None
             else f"no price: the plant file has no {r.price_from}")  # fmt: skip
    console.print(f"per year: {r.quantity:,.0f} {r.unit}; {money}")
    console.print(f"read from the {r.source}; a year is the after period's "
                  f"{r.known_days:.2f} known days scaled")  # fmt: skip


@app.command()
def appraise(
    project: Annotated[Path, typer.Argument(help="Project file (YAML), see the docs.")],
    save: Annotated[bool, typer.Option(help="Keep the project in the store.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """NPV, IRR and payback of a project with and without its subsidies, and their
    sensitivity to the benefit estimate; a benefit with `measured:` is measured from the store
    (see docs/transformation.md#measured-gains)."""
    from pydantic import ValidationError

    from smartfab.apps.transformation.data import TransformationError
    from smartfab.apps.transformation.finance import Project, ProjectBook, resolve
    from smartfab.apps.transformation.finance import appraise as run
    from smartfab.apps.transformation.subsidies import programmes
    from smartfab.runtime.system import plant_and_store

    s = settings(config, data_dir, plant)
    try:
        p = Project.model_validate(yaml.safe_load(project.read_text(encoding="utf-8")))
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(x) for x in e["loc"])
        raise TransformationError(f"{project}: {where}: {e['msg']}") from None
    if save or any(b.measured is not None for b in p.benefits):
        with plant_and_store(s, writes=save) as (the_plant, store):
            book = ProjectBook(store)
            if any(b.measured is not None for b in p.benefits):
                stored = next((x for x in book.all() if x.id == p.id), None)
                p = resolve(p, the_plant, store, stored)
            a = run(p, programmes(folder(s)))
            if save:
                book.put(p)
    else:
        a = run(p, programmes(folder(s)))
    for b in a["benefits"]:
        if b["measured"] is not None:
            used = f", {b['annual']:,.0f} used (the manager's)" if b["overridden"] else ""
            console.print(f"benefit {b['name']}: {b['measured']:,.0f} a year measured{used}")
    for g in a["subsidies"]:
        capped = " (capped)" if g["capped"] else ""
        console.print(f"subsidy {g['rule']}: {g['amount']:,.0f}{capped}")
    table = Table("benefit x", "NPV without", "NPV with", "IRR without", "IRR with",
                  "payback without", "payback with")  # fmt: skip

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.2%}"

    def yrs(x: float | None) -> str:
        return "never" if x is None else f"{x:.2f}"

    for v in a["sensitivity"]:
        w, o = v["with"], v["without"]
        table.add_row(f"{v['factor']:g}", f"{o['npv']:,.0f}", f"{w['npv']:,.0f}", pct(o["irr"]),
                      pct(w["irr"]), yrs(o["payback_years"]), yrs(w["payback_years"]))  # fmt: skip
    console.print(table)


@app.command()
def summary(
    out: Annotated[Path, typer.Option("--out", "-o", help="PDF or XLSX file.")],
    lang: Annotated[str, typer.Option(help="en, zh or ru.")] = "en",
    econ: Annotated[
        Path | None,
        typer.Option("--data", help="The econ data folder (default: the insights_data setting)."),
    ] = None,
    days: DaysOpt = 7,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """The summary for a bank or a ministry: maturity, KPIs against targets, projects."""
    from smartfab.apps.transformation.data import TransformationError
    from smartfab.apps.transformation.summary import LANGS, build, write_pdf, write_xlsx
    from smartfab.runtime.system import plant_and_store

    if lang not in LANGS:
        raise TransformationError(f"--lang {lang!r}: choose one of {', '.join(LANGS)}")
    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".xlsx"):
        raise TransformationError(f"{out}: give a .pdf or .xlsx file")
    s = settings(config, data_dir, plant)
    with plant_and_store(s) as (the_plant, store):
        found = _evidence(s, the_plant, store, days)
        summ = build(the_plant, store, found, folder(s), econ or s.insights_data)
    (write_pdf if suffix == ".pdf" else write_xlsx)(summ, out, lang)  # type: ignore[arg-type]
    console.print(f"written {out}")


@app.command()
def sovereignty(
    sbom: Annotated[Path | None, typer.Option(help="Write the CycloneDX SBOM (JSON) here.")] = None,
    pid: Annotated[
        int | None, typer.Option(help="Check a running smartfab's connections (its process id).")
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """What runs on the premises and what elsewhere, smartfab's licences, and (with --pid) the
    connections a running smartfab holds beyond this machine."""
    from smartfab.apps.transformation.sovereignty import outbound, report, sbom_json
    from smartfab.model.loader import load_plant

    s = settings(config, data_dir, plant)
    rep = report(load_plant(s.plant), s.addresses())
    table = Table("part", "runs", "detail", "origin")
    for x in rep["stack"]:
        table.add_row(x["what"], x["where"], x["detail"], x["origin"])
    console.print(table)
    licences: dict[str, int] = {}
    for p in rep["packages"]:
        name = p["licence"] or "none declared"
        licences[name] = licences.get(name, 0) + 1
    console.print(f"{len(rep['packages'])} packages: " + ", ".join(
        f"{k} {n}" for k, n in sorted(licences.items(), key=lambda kv: -kv[1])))  # fmt: skip
    if sbom is not None:
        sbom.write_text(sbom_json(), encoding="utf-8")
        console.print(f"SBOM written to {sbom}")
    if pid is not None:
        found = outbound(pid)
        console.print(f"process {pid}: {len(found)} connections beyond this machine, "
                      f"{sum(c['internet'] for c in found)} to the internet")  # fmt: skip
        for c in found:
            console.print(f"  {c['remote']}:{c['port']} {c['status']}")


# --- insights -----------------------------------------------------------------------------------


@insights.command()
def verify(econ: EconOpt, data_files: Annotated[
    Path | None, typer.Option("--files", help="Folder overriding the packaged article.yaml.")
] = None) -> None:  # fmt: skip
    """The source article's figures beside the data's; the last line is one JSON object with
    the list of discrepancies (what, year, country, article, data, vintage)."""
    from smartfab.apps.transformation.insights import checksums, discrepancies
    from smartfab.apps.transformation.insights import verify as check

    rows = check(econ, data_files)
    table = Table("figure", "country", "year", "article", "data", "agrees", "vintage")
    for r in rows:
        data = "-" if r["data"] is None else f"{r['data']:g} {r['unit']['en']}"
        article = f"{r['article']:g} {r['unit']['en']}"
        agrees = "yes" if r["agrees"] else "NO"
        table.add_row(r["what"], r["country"], str(r["year"]), article, data, agrees, r["vintage"])
    console.print(table)
    changed = [k for k, ok in checksums(econ).items() if not ok]
    if changed:
        console.print(f"[yellow]note:[/yellow] not the published files: {', '.join(changed)}")
    found = discrepancies(rows)
    print(json.dumps({"figures": len(rows), "discrepancies": found}, ensure_ascii=False))


@insights.command()
def export(
    econ: EconOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV or XLSX file.")],
    countries: Annotated[
        str, typer.Option(help="ISO3 codes, comma-separated, or a group: major, sco.")
    ] = "major",
    start: Annotated[int, typer.Option(help="First year.")] = 2002,
    end: Annotated[int, typer.Option(help="Last year.")] = 2023,
) -> None:
    """Manufactures exports (% of merchandise exports) and high-technology exports (% of
    manufactured exports) of the countries, as CSV (both in one table) or XLSX (a sheet each)."""
    from smartfab.apps.transformation.data import TransformationError
    from smartfab.apps.transformation.insights import (
        Wdi,
        countries_of,
        joined,
        sheets,
        write_csv,
        write_xlsx,
    )

    codes = countries_of(countries)
    tables = sheets(Wdi(econ), codes, start, end)
    if out.suffix.lower() == ".csv":
        write_csv(joined(tables), out)
    elif out.suffix.lower() == ".xlsx":
        write_xlsx(tables, out)
    else:
        raise TransformationError(f"{out}: give a .csv or .xlsx file")
    tech = dict.fromkeys(r[1] for r in tables.get("high-tech", [])[1:])
    console.print(f"written {out} ({', '.join(codes)}; high-tech for {', '.join(tech) or 'none'})")
