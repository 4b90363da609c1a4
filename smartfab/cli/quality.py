"""`smartfab quality ...`: defect Pareto, defect prediction scored on the stored history, and
recommendations of operating parameters (proposed here; approved in the web app or over the API,
where the setpoint path runs). See docs/energy-quality.md."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from smartfab.cli.common import ConfigOpt, DataDirOpt, PlantOpt, console, settings
from smartfab.cli.twin import DaysOpt, EndOpt, StartOpt, _window

app = typer.Typer(
    help="Defect prediction and energy-optimal operating parameters. See docs/energy-quality.md.",
    no_args_is_help=True,
)
EquipmentArg = Annotated[str, typer.Argument(help="Equipment path (with a process block).")]


@app.command()
def evaluate(
    equipment: EquipmentArg,
    start: StartOpt = None,
    end: EndOpt = None,
    days: DaysOpt = 30,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """Defect Pareto of the window, and defect prediction trained on its first 70 % and scored on
    the rest: PR-AUC and F1 per defect type against the historical rate."""
    from smartfab.apps.quality.defects import evaluate as score
    from smartfab.apps.quality.store import parts_from_store
    from smartfab.runtime.system import plant_and_store

    with plant_and_store(settings(config, data_dir, plant)) as (the_plant, store):
        start_us, end_us = _window(store, start, end, days)
        table = parts_from_store(store, the_plant, equipment, start_us, end_us)
    counts = {n: int((table.defect == c).sum()) for c, n in table.defects.items()}
    console.print(f"{len(table):,} parts, {np.mean(table.defect != 0):.2%} defective: " + ", ".join(
        f"{n} {k}" for n, k in sorted(counts.items(), key=lambda kv: -kv[1])))  # fmt: skip
    _, scores = score(table)
    t = Table(title="defect prediction (last 30 % of the parts)")
    for col in ("defect", "defects", "PR-AUC", "baseline", "F1", "baseline F1"):
        t.add_column(col)
    for s in scores.values():
        t.add_row(s.name, str(s.defects), f"{s.pr_auc:.3f}", f"{s.baseline_pr_auc:.3f}",
                  f"{s.f1:.3f}", f"{s.baseline_f1:.3f}")  # fmt: skip
    console.print(t)


@app.command()
def recommend(
    equipment: EquipmentArg,
    start: StartOpt = None,
    end: EndOpt = None,
    days: DaysOpt = 30,
    trials: Annotated[int, typer.Option(min=10, help="Optuna trials.")] = 150,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """Learn the process from the window and propose the parameters that use the least energy per
    good part within the plant file's limits; the proposal waits in the recommendation book for
    an engineer's approval."""
    from smartfab.apps.quality.optimise import Limits
    from smartfab.apps.quality.optimise import recommend as propose
    from smartfab.apps.quality.recommendations import RecommendationBook
    from smartfab.apps.quality.store import parts_from_store, process_of
    from smartfab.apps.quality.surrogate import Surrogate
    from smartfab.runtime.system import plant_and_store

    s = settings(config, data_dir, plant)
    with plant_and_store(s) as (the_plant, store):
        start_us, end_us = _window(store, start, end, days)
        table = parts_from_store(store, the_plant, equipment, start_us, end_us)
        ref, pr = process_of(the_plant, equipment)
    sigs = {x.name: x for x in ref.equipment.signals}
    ranges = [sigs[p.signal].range or (0.0, 0.0) for p in pr.parameters]
    limits = Limits(np.array([r[0] for r in ranges]), np.array([r[1] for r in ranges]),
                    np.array([p.max_step for p in pr.parameters]), pr.max_defect_rate,
                    pr.takt_s)  # fmt: skip
    rec = propose(Surrogate.fit(table), table.params()[-1], limits, trials=trials)
    entry = RecommendationBook(s.data_dir / "models" / "quality").propose(
        ref.path, [f"{ref.path}/{p.signal}" for p in pr.parameters], rec, int(table.ts[0])
    )
    t = Table(title=f"recommendation {entry.id} for {ref.path}")
    for col in ("parameter", "now", "recommended"):
        t.add_column(col)
    for name, a, b in zip(rec.parameters, rec.current, rec.recommended, strict=True):
        t.add_row(name, f"{a:g}", f"{b:g}")
    console.print(t)
    console.print(
        f"energy per good part {rec.energy_now:.4f} -> {rec.energy_new:.4f} kWh: saving "
        f"{rec.saving:.4f} [{rec.saving_low:.4f}, {rec.saving_high:.4f}] "
        f"({rec.saving_fraction:.1%}); defect risk {rec.risk_new:.2%} (upper "
        f"{rec.risk_upper:.2%}, limit {pr.max_defect_rate:.2%}); cycle {rec.cycle_new:.1f} s "
        f"(takt {pr.takt_s:g} s)"
    )


@app.command("list")
def list_recommendations(
    equipment: Annotated[str | None, typer.Argument(help="Equipment path.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """The recommendations and what became of them."""
    from smartfab.apps.quality.recommendations import RecommendationBook

    s = settings(config, data_dir, plant)
    t = Table(title="recommendations")
    for col in ("id", "equipment", "status", "saving", "by", "realised"):
        t.add_column(col)
    for e in RecommendationBook(s.data_dir / "models" / "quality").entries(equipment):
        r = e.realised
        realised = "-" if r is None else (
            f"{(r['energy_before'] - r['energy_after']) / r['energy_before']:.1%}"
        )  # fmt: skip
        t.add_row(str(e.id), e.equipment, e.status,
                  f"{e.recommendation['saving']:.4f}", e.decided_by or "-", realised)  # fmt: skip
    console.print(t)
