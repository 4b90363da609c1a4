"""`smartfab maintenance ...`: train and evaluate the predictive-maintenance models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from smartfab.cli.common import (
    ConfigOpt,
    DataDirOpt,
    PlantOpt,
    console,
    progress_bar,
    settings,
)

app = typer.Typer(
    help="Predictive maintenance: remaining useful life (RUL) with an interval from run-to-failure "
    "histories (the plant's recorded failures, NASA C-MAPSS files), and failure prediction from "
    "process data (AI4I 2020). Models are versioned under <data-dir>/models.",
    no_args_is_help=True,
)

_DATA_HELP = "public data sets, ../shared/data beside the project root by default"
CmapssOpt = Annotated[
    Path | None,
    typer.Option(
        "--cmapss-dir",
        help=f"Folder of C-MAPSS files named as NASA names them ({_DATA_HELP}).",
    ),
]
SubsetsOpt = Annotated[
    str, typer.Option("--subsets", help="Comma-separated C-MAPSS subsets, e.g. FD001,FD003.")
]
Ai4iOpt = Annotated[
    Path | None, typer.Option("--ai4i", help=f"The AI4I 2020 CSV file ({_DATA_HELP}).")
]
SkipOpt = Annotated[
    bool, typer.Option("--skip-ai4i", help="Leave out the AI4I failure classifier.")
]


def _paths(cmapss_dir: Path | None, ai4i: Path | None) -> tuple[Path, Path]:
    from smartfab.apps.maintenance.training import DEFAULT_AI4I, DEFAULT_CMAPSS

    return cmapss_dir or DEFAULT_CMAPSS, ai4i or DEFAULT_AI4I


def _models(config: Path | None, data_dir: Path | None) -> Path:
    return settings(config, data_dir, None).data_dir / "models"


@app.command()
def train(
    cmapss_dir: CmapssOpt = None,
    subsets: SubsetsOpt = "FD001,FD003",
    ai4i: Ai4iOpt = None,
    skip_ai4i: SkipOpt = False,
    seeds: Annotated[
        int, typer.Option(min=1, help="RUL: tree ensembles averaged (different seeds).")
    ] = 3,
    trees: Annotated[int, typer.Option(min=10, help="RUL: trees per ensemble.")] = 500,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Train one RUL model per C-MAPSS subset (on its train file; operating regimes are found
    and normalised automatically) and the failure classifier on the AI4I file; store each as
    a new version with its training data's sha256 and figures."""
    from smartfab.apps.maintenance.registry import ModelRegistry
    from smartfab.apps.maintenance.rul import RulParams
    from smartfab.apps.maintenance.training import parse_subsets, train_failure, train_rul

    params = RulParams(seeds=seeds, trees=trees, quantile_trees=max(10, trees * 2 // 5))

    cmapss, ai4i_path = _paths(cmapss_dir, ai4i)
    registry = ModelRegistry(_models(config, data_dir))
    names = parse_subsets(subsets)
    table = Table(title="trained models")
    for column in ("model", "version", "train s", "detail"):
        table.add_column(column)
    with progress_bar() as bar:
        steps = len(names) + (0 if skip_ai4i else 1)
        task = bar.add_task("training", total=steps, detail="")
        for subset in names:
            bar.update(task, detail=f"RUL {subset}: features")

            def step(what: str, subset: str = subset) -> None:
                bar.update(task, detail=f"RUL {subset}: {what}")

            info = train_rul(cmapss, subset, registry, params, progress=step)
            f = info.meta["figures"]
            table.add_row(info.name, str(info.version), f"{f['train_seconds']:.1f}",
                          f"{f['regimes']} regime(s), {f['features']} features")  # fmt: skip
            bar.advance(task)
        if not skip_ai4i:
            bar.update(task, detail="failure classifier")
            info = train_failure(ai4i_path, registry)
            f = info.meta["figures"]
            table.add_row(info.name, str(info.version), f"{f['train_seconds']:.1f}",
                          f"threshold {f['threshold']}")  # fmt: skip
            bar.advance(task)
    console.print(table)
    console.print(f"models stored in {registry.root}")


@app.command("train-fleet")
def train_fleet(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """Train the plant's RUL models now (the server also trains them in the background): one
    per kind of equipment that has enough recorded failures in its last 30 days and no model
    yet, on the stored history up to now. Stop the server first when its store is the embedded
    DuckDB file (one process at a time)."""
    from smartfab.apps.maintenance.fleet import MIN_FAILURES, FleetAssessor
    from smartfab.apps.maintenance.registry import ModelRegistry
    from smartfab.platform.points import now_us
    from smartfab.platform.queries import PlantData
    from smartfab.runtime.system import plant_and_store

    s = settings(config, data_dir, plant)
    registry = ModelRegistry(s.data_dir / "models")
    with plant_and_store(s) as (the_plant, store), console.status("training ..."):
        trained = FleetAssessor(PlantData(store, the_plant), registry).train(now_us())
    for info in trained:
        f = info.meta["figures"]
        console.print(f"{info.name} v{info.version}: {f['failures']} failures of "
                      f"{len(f['equipment'])} equipment, {f['train_seconds']:.1f} s")  # fmt: skip
    if not trained:
        console.print(f"no model trained: a kind of equipment needs {MIN_FAILURES} recorded "
                      "failures and has no model yet")  # fmt: skip
    console.print(f"models stored in {registry.root}")


@app.command()
def evaluate(
    cmapss_dir: CmapssOpt = None,
    subsets: SubsetsOpt = "FD001,FD003",
    ai4i: Ai4iOpt = None,
    skip_ai4i: SkipOpt = False,
    folds: Annotated[int, typer.Option(min=2, help="AI4I cross-validation folds.")] = 5,
    version: Annotated[
        int | None, typer.Option(help="Model version to evaluate [default: the newest].")
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Evaluate the stored models by the benchmark protocols: RUL at the last cycle of each
    C-MAPSS test unit against the published true RUL (RMSE, NASA score, interval coverage); the
    failure classifier's configuration by stratified cross-validation on AI4I (F1, PR-AUC)."""
    from smartfab.apps.maintenance.registry import ModelRegistry
    from smartfab.apps.maintenance.training import (
        AI4I_MODEL,
        evaluate_failure,
        evaluate_rul,
        parse_subsets,
        rul_model_name,
    )

    cmapss, ai4i_path = _paths(cmapss_dir, ai4i)
    registry = ModelRegistry(_models(config, data_dir))
    names = parse_subsets(subsets)
    table = Table(title="evaluation")
    for column in ("model", "version", "figures"):
        table.add_column(column)
    with progress_bar() as bar:
        task = bar.add_task("evaluating", total=len(names) + (0 if skip_ai4i else 1), detail="")
        for subset in names:
            bar.update(task, detail=f"RUL {subset}")
            model, info = registry.load(rul_model_name(subset), version)
            f = evaluate_rul(model, cmapss, subset)
            table.add_row(info.name, str(info.version),
                          f"RMSE {f['rmse']:.2f}  score {f['score']:.0f}  "
                          f"{f['interval'][0]:.0%}-{f['interval'][1]:.0%} interval holds "
                          f"{f['interval_coverage']:.0%} of {f['test_units']} units")  # fmt: skip
            bar.advance(task)
        if not skip_ai4i:
            bar.update(task, detail=f"failure classifier, {folds}-fold cross-validation")
            model, info = registry.load(AI4I_MODEL, version)
            f = evaluate_failure(ai4i_path, model.candidates, folds)
            table.add_row(info.name, str(info.version),
                          f"F1 {f['f1']:.3f}  PR-AUC {f['pr_auc']:.3f}  "
                          f"precision {f['precision']:.3f}  recall {f['recall']:.3f}")  # fmt: skip
            bar.advance(task)
    console.print(table)
