from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from smartfab.apps.warehouse.mapf import Grid, MapfError, load_map, load_scenario

MAP = "type octile\nheight 3\nwidth 5\nmap\n.....\n.@@T.\n..G..\n"
HEADER = "version 1\n"


def line(sx: int, sy: int, gx: int, gy: int, width: int = 5, height: int = 3) -> str:
    return f"0\tsome/where/tiny.map\t{width}\t{height}\t{sx}\t{sy}\t{gx}\t{gy}\t0\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def grid(tmp_path: Path) -> Grid:
    return load_map(write(tmp_path, "tiny.map", MAP))


def test_a_map_is_read_row_by_row(grid: Grid) -> None:
    assert (grid.width, grid.height, grid.vertices, grid.name) == (5, 3, 12, "tiny")
    assert grid.vertex((0, 0)) == 0 and grid.vertex((4, 1)) == 6 and grid.cell(6) == (4, 1)
    # (0, 1)'s neighbours: up (0, 0), right a wall, down (0, 2), left off the map.
    assert sorted(int(u) for u in grid.neighbours[grid.vertex((0, 1))] if u >= 0) == [0, 7]
    assert np.array_equal(grid.cells_of(np.array([0, 6])), [[0, 0], [4, 1]])


def test_width_may_come_before_height(tmp_path: Path) -> None:
    text = MAP.replace("height 3\nwidth 5", "width 5\nheight 3")
    assert load_map(write(tmp_path, "w.map", text)).vertices == 12


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MAP.replace("type octile", "octile"), r":1: expected 'type octile'"),
        (MAP.replace("height 3", "height three"), r":2: expected 'height H' and 'width W'"),
        (MAP.replace("width 5", "height 5"), r":3: expected 'height H' and 'width W'"),
        (MAP.replace("map\n", "grid\n"), r":4: expected 'map' before the rows"),
        (MAP.replace("..G..\n", ""), r":7: wrong size: the header says height 3 but 2 rows"),
        (MAP + ".....\n", r":8: wrong size: the header says height 3 but 4 rows"),
        (
            MAP.replace(".@@T.", ".@@T"),
            r":6: wrong size: row 1 has 4 cells, the header says width 5",
        ),
        (MAP.replace(".@@T.", ".@#T."), r":6: unknown map character '#' at x=2"),
    ],
)
def test_a_bad_map_names_its_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MapfError, match=message):
        load_map(write(tmp_path, "bad.map", text))


def test_a_scenario_is_read_in_file_order(tmp_path: Path, grid: Grid) -> None:
    text = HEADER + line(0, 0, 4, 2) + "\n" + line(4, 0, 0, 2)
    scen = load_scenario(write(tmp_path, "s.scen", text), grid)
    assert len(scen) == 2 and scen.lines.tolist() == [2, 4]
    assert scen.starts.tolist() == [[0, 0], [4, 0]] and scen.goals.tolist() == [[4, 2], [0, 2]]
    assert len(scen.first(1)) == 1 and scen.where(1).endswith("s.scen:4")
    with pytest.raises(MapfError, match="has 2 agents, cannot take the first 3"):
        scen.first(3)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (line(0, 0, 4, 2, width=6), r":2: wrong size: 6x3, the map tiny is 5x3"),
        (line(0, 0, 4, 2) + line(1, 1, 0, 2), r":3: start cell \(1, 1\) is a wall"),
        (line(0, 0, 4, 2) + line(0, 0, 0, 2), r":3: duplicate start \(0, 0\): line 2 has it too"),
        (line(0, 0, 4, 2) + line(1, 0, 4, 2), r":3: duplicate goal \(4, 2\): line 2 has it too"),
        (line(0, 0, 5, 2), r":2: goal cell \(5, 2\) is off the 5x3 grid"),
        ("0\ttiny.map\t5\t3\t0\t0\t4\n", r":2: expected 9 fields"),
        ("0\ttiny.map\t5\t3\t0\tx\t4\t2\t0\n", r":2: a size, coordinate or length is not a number"),
        ("", r":2: no agents"),
    ],
)
def test_a_bad_scenario_names_its_line(tmp_path: Path, grid: Grid, body: str, message: str) -> None:
    with pytest.raises(MapfError, match=message):
        load_scenario(write(tmp_path, "bad.scen", HEADER + body), grid)


def test_files_that_cannot_be_read(tmp_path: Path, grid: Grid) -> None:
    with pytest.raises(MapfError, match="cannot read"):
        load_map(tmp_path / "absent.map")
    (tmp_path / "binary.scen").write_bytes(b"version 1\n\xff\xfe\n")
    with pytest.raises(MapfError, match="cannot read"):
        load_scenario(tmp_path / "binary.scen", grid)
    with pytest.raises(MapfError, match="expected 'version 1'"):
        load_scenario(write(tmp_path, "v.scen", line(0, 0, 4, 2)), grid)


def test_the_planner_runs_without_numba() -> None:
    # The kernels as plain Python: a tiny instance and a few fleet steps, in a process where
    # numba cannot be imported.
    code = """
import sys
sys.modules["numba"] = None
import numpy as np
from smartfab.apps.warehouse.mapf import FleetPlanner, Grid, Task
from smartfab.apps.warehouse.mapf._jit import COMPILED
from smartfab.apps.warehouse.mapf.lacam import solve
assert not COMPILED
grid = Grid.from_rows(["@@@.@@@", "......."])
s = solve(grid, np.array([1, 7], np.int32), np.array([7, 1], np.int32), refine_seconds=0.2)
assert s.solved and s.sum_of_costs >= s.lower_bound == 12
fleet = FleetPlanner(grid)
fleet.add_agent("a", (0, 1))
fleet.submit(Task("t", (6, 1), (3, 0)))
done = [r.delivered for r in (fleet.step() for _ in range(20)) if r.delivered]
assert done == [(("a", "t"),)], done
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                         cwd=Path(__file__).resolve().parents[4], timeout=120)  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
