from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from smartfab.apps.warehouse.mapf import Grid, load_map
from smartfab.bench.warehouse import (
    bench_lifelong,
    bench_mapf,
    bench_storage,
    bench_virtual,
    check_paths,
)
from smartfab.cli.bench import app
from smartfab.errors import SmartfabError

# A small floor under a benchmark map's name, so that the random instances run on it.
ROWS = [
    "..........",
    ".@@@..@@@.",
    "..........",
    ".@@@..@@@.",
    "..........",
]


def write_map(folder: Path, name: str, rows: list[str]) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.map"
    path.write_text(
        f"type octile\nheight {len(rows)}\nwidth {len(rows[0])}\nmap\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    return path


def test_mapf_figures_on_random_instances_and_a_scenario(tmp_path: Path) -> None:
    maps = tmp_path / "maps"
    write_map(maps, "warehouse-10-20-10-2-1", ROWS)
    write_map(maps, "small", ROWS)
    scen = tmp_path / "scen"
    scen.mkdir()
    (scen / "anything.scen").write_text(
        "version 1\n"
        "0\t/somewhere/small.map\t10\t5\t0\t0\t9\t4\t0\n"
        "0\t/somewhere/small.map\t10\t5\t9\t4\t0\t0\t0\n",
        encoding="utf-8",
    )
    rows: list[dict[str, Any]] = []
    figures = bench_mapf(maps, scen, 30, agents=[4, 10], seeds=[1, 2], progress=rows.append)
    json.dumps(figures)
    assert figures["mapf.instances"] == 5 == len(rows) == len(figures["mapf.runs"])
    assert figures["mapf.solved_fraction"] == 1.0
    assert figures["mapf.mean_cost_ratio"] >= 1.0
    scen_row = rows[-1]
    assert scen_row["scen"] == "anything.scen" and scen_row["lower_bound"] == 26
    assert scen_row["sum_of_costs"] >= 26 and scen_row["makespan"] >= 13
    assert "mapf.small.bfs_seconds" in figures


def test_a_scenario_for_a_missing_map_is_an_error(tmp_path: Path) -> None:
    maps = tmp_path / "maps"
    write_map(maps, "small", ROWS)
    scen = tmp_path / "scen"
    scen.mkdir()
    (scen / "x.scen").write_text("version 1\n0\tother.map\t10\t5\t0\t0\t9\t4\t0\n", "utf-8")
    with pytest.raises(SmartfabError, match="is for map 'other', which is not in"):
        bench_mapf(maps, scen, 5)


def test_the_checker_refuses_conflicts() -> None:
    grid = Grid.from_rows(["...."])
    starts, goals = np.array([0, 2], np.int32), np.array([1, 3], np.int32)
    check_paths(grid, starts, goals, np.array([[0, 2], [1, 3]], np.int32))
    with pytest.raises(SmartfabError, match="swap"):
        check_paths(grid, *(np.array(x, np.int32) for x in ([0, 1], [1, 0], [[0, 1], [1, 0]])))
    with pytest.raises(SmartfabError, match="one vertex"):
        check_paths(grid, starts, np.array([1, 1], np.int32),
                    np.array([[0, 2], [1, 1]], np.int32))  # fmt: skip
    with pytest.raises(SmartfabError, match="jumps"):
        check_paths(grid, starts, np.array([2, 3], np.int32),
                    np.array([[0, 2], [2, 3]], np.int32))  # fmt: skip


def test_lifelong_figures(tmp_path: Path) -> None:
    rows = ["." * 30 for _ in range(12)]
    for y in (2, 3, 6, 7):
        rows[y] = "." + "@@@@." * 5 + "...."
    write_map(tmp_path, "warehouse-20-40-10-2-1", rows)
    assert load_map(tmp_path / "warehouse-20-40-10-2-1.map").vertices > 200
    figures = bench_lifelong(tmp_path, agents=[10, 30], steps=150)
    for n in (10, 30):
        assert (
            0 < figures[f"lifelong.{n}.throughput"] < figures[f"lifelong.{n}.loaded_travel_bound"]
        )


def test_storage_optimisations_beat_their_baselines() -> None:
    f = bench_storage(seed=2, orders=300)
    json.dumps(f)
    assert (
        f["storage.cube_per_order_index.travel_per_line_m"]
        < f["storage.class_based.travel_per_line_m"]
        < f["storage.random.travel_per_line_m"]
    )
    assert f["picking.optimised.metres_per_line"] < f["picking.baseline.metres_per_line"]
    assert f["crane.optimised.moves_per_hour"] > f["crane.baseline.moves_per_hour"]


def test_virtual_warehouse_figures() -> None:
    f = bench_virtual(days=0.5, seed=3)
    json.dumps(f)
    for key in ("otif", "travel_m_per_line", "crane_utilisation", "line_stockouts"):
        assert f"virtual.{key}" in f and f"virtual.baseline_{key}" in f
    assert 0 <= f["virtual.otif"] <= 1 and 0 <= f["virtual.baseline_otif"] <= 1


def test_the_command_prints_its_figures_as_json_last(tmp_path: Path) -> None:
    rows = ["." * 30 for _ in range(12)]
    for y in (2, 3, 6, 7):
        rows[y] = "." + "@@@@." * 5 + "...."
    maps = tmp_path / "maps"
    write_map(maps, "warehouse-20-40-10-2-1", rows)
    runner = CliRunner(env={"COLUMNS": "200"})
    options = ["--agents", "5,20", "--seeds", "1", "--lifelong-steps", "50",
               "--lifelong-agents", "10", "--refine", "0.2", "--virtual-days", "0"]  # fmt: skip
    result = runner.invoke(app, ["warehouse", "--maps", str(maps), *options])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["mapf.instances"] == 2 and figures["mapf.solved_fraction"] == 1.0
    assert "lifelong.10.throughput" in figures and "crane.optimised.moves_per_hour" in figures
    bad = runner.invoke(app, ["warehouse", "--maps", str(maps), "--agents", "5,x"])
    assert bad.exit_code != 0 and "positive whole numbers" in bad.output
