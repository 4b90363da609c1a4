from __future__ import annotations

import json
from pathlib import Path

import pytest

from smartfab.bench.scheduling import bench_scheduling, instance_files, read_bounds
from smartfab.errors import SmartfabError
from tests.apps.scheduling.data import shared

# Job a: m0 for 3 then m1 for 2; job b: m1 for 4 then m0 for 1. Machine m1 has 6 of work,
# and a on m0 [0,3), b on m1 [0,4), a on m1 [4,6), b on m0 [4,5) achieves 6: the optimum.
TWO_BY_TWO = "# a tiny job shop\n2 2\n0 3 1 2\n\n1 4 0 1\n"
# One machine: 2 + 3 + 4 = 9 whatever the order.
ONE_MACHINE = "3 1\n0 2\n0 3\n0 4\n"
# Job 0: (m0 for 3 or m1 for 5) then m1 for 2; job 1: m0 for 4. Either choice loads one
# machine with 7, and 7 is reached (job 0 on m1 while job 1 runs on m0): the optimum.
FLEXIBLE = "2 2 1.5\n2 2 0 3 1 5 1 1 2\n1 1 0 4\n"


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_bench_reports_gaps_against_the_bounds_csv(tmp_path: Path) -> None:
    folder = write(tmp_path / "jsp", {"t2": TWO_BY_TWO, "t10": ONE_MACHINE, ".hidden": "x"})
    bounds = tmp_path / "bounds.csv"
    bounds.write_text(
        "name,jobs,best_known_upper_bound,peer_x_makespan,peer_x_status\n"
        "t2,2,6,6,Optimal\n"
        "t10,3,8,10,Feasible\n",
        encoding="utf-8",
    )
    seen: list[str] = []
    figures = bench_scheduling(folder, bounds, 2, 1, progress=lambda e: seen.append(e["name"]))
    json.dumps(figures)  # the CLI prints it as one JSON line
    assert seen == ["t2", "t10"] and [e["name"] for e in figures["instances"]] == seen
    tiny, one = figures["instances"]
    assert tiny["makespan"] == 6 and tiny["gap"] == 0.0 and tiny["proven_optimal"]
    assert (tiny["jobs"], tiny["machines"], tiny["best_known"]) == (2, 2, 6)
    assert tiny["peer_x_makespan"] == 6 and tiny["peer_x_status"] == "Optimal"
    assert tiny["peer_x_gap"] == 0.0
    # Against a best known of 8 (deliberately wrong: 9 is optimal) and a peer's 10.
    assert one["makespan"] == 9 and one["gap"] == 0.125 and one["peer_x_gap"] == 0.25
    assert figures["mean_gap"] == 0.0625 and figures["max_gap"] == 0.125
    assert figures["peer_x_mean_gap"] == 0.125
    assert figures["instances_with_bound"] == 2 and figures["proven_optimal"] == 2
    assert (figures["time_limit_s"], figures["workers"], figures["flexible"]) == (2, 1, False)
    assert all(e["seconds"] < 2.5 for e in figures["instances"])


def test_bench_reads_flexible_files_and_instances_without_bound(tmp_path: Path) -> None:
    folder = write(tmp_path / "fjsp", {"flex.fjs": FLEXIBLE, "other.fjs": FLEXIBLE})
    bounds = tmp_path / "bounds.csv"
    bounds.write_text("name,best_known_upper_bound\nflex,7\n", encoding="utf-8")
    figures = bench_scheduling(folder, bounds, 2, 1, flexible=True, names=["flex", "other"])
    flex, other = figures["instances"]
    assert flex["makespan"] == 7 and flex["gap"] == 0.0 and flex["proven_optimal"]
    assert other["best_known"] is None and other["gap"] is None
    assert figures["instances_with_bound"] == 1 and figures["mean_gap"] == 0.0


def test_bench_input_errors_are_clear(tmp_path: Path) -> None:
    folder = write(tmp_path / "jsp", {"a": TWO_BY_TWO, "a.txt": TWO_BY_TWO})
    with pytest.raises(SmartfabError, match="two files for instance 'a'"):
        instance_files(folder, None)
    single = write(tmp_path / "single", {"a": TWO_BY_TWO})
    with pytest.raises(SmartfabError, match="no file for instance"):
        instance_files(single, ["a", "zz"])
    with pytest.raises(SmartfabError, match="not a folder"):
        instance_files(tmp_path / "nowhere", None)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SmartfabError, match="no instance files"):
        instance_files(empty, None)
    bad = tmp_path / "bad.csv"
    bad.write_text("instance,bks\nx,1\n", encoding="utf-8")
    with pytest.raises(SmartfabError, match="needs the columns"):
        read_bounds(bad)


def test_bench_on_public_instances_matches_their_optimum() -> None:
    figures = bench_scheduling(
        shared("jsp", "instances"), shared("jsp", "bounds.csv"), 5, 1, names=["la01", "ft06"]
    )
    assert [e["name"] for e in figures["instances"]] == ["ft06", "la01"]
    assert figures["mean_gap"] == 0.0 and figures["proven_optimal"] == 2
    assert figures["instances"][0]["peer_cpsat_900s_8workers_makespan"] == 55
