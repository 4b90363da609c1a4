"""Warehouse planning evidence: multi-agent path finding on the MovingAI warehouse maps, lifelong
task throughput of an AGV fleet, and the storage and picking optimisations against their plain
baselines.

MAPF protocol (../shared/data/README.md): on every map of ``--maps`` named in ``RANDOM_MAPS``,
instances of 100 to 1,000 agents drawn with fixed seeds (distinct random starts, distinct random
goals); and every ``.scen`` file of ``--scen`` whole (its map found in ``--maps`` by the name in
its map column). Per instance: solved within the time limit or not, seconds (distance tables
included) to the first solution, sum of costs over its lower bound (the sum of each agent's
shortest-path length; the files' optimal-length column is 0, so it is computed here) for the first
solution and after the refinement, makespan. Every solution is checked
(starts, goals, moves to neighbours, no vertex or swap conflict) before it is counted. The raw
limit beside the seconds is the time of one breadth-first distance table times the agents:
what any planner that looks up every agent's distance to its goal pays before it plans.

Lifelong: agents at random cells of warehouse-20-40-10-2-1, a queue of random pickup -> drop
tasks kept as long as the fleet, tasks delivered per 1,000 steps; the raw limit is the fleet
driving loaded all the time on shortest paths (agents x 1,000 / mean pickup-drop distance).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np
import numpy.typing as npt

from smartfab.apps.warehouse import batching, routing, sequencing, slotting
from smartfab.apps.warehouse.mapf import FleetPlanner, Grid, MapfError, Task, load_map
from smartfab.apps.warehouse.mapf.core import bfs, unreached
from smartfab.apps.warehouse.mapf.grid import load_scenario
from smartfab.apps.warehouse.mapf.lacam import Solution, distance_tables, random_agents, solve
from smartfab.errors import SmartfabError

RANDOM_MAPS = ("warehouse-10-20-10-2-1", "warehouse-20-40-10-2-1")
AGENTS = (100, 250, 500, 750, 1000)
SEEDS = (1, 2, 3, 4, 5)
LIFELONG_MAP = "warehouse-20-40-10-2-1"
LIFELONG_AGENTS = (100, 300, 500)

Progress = Callable[[dict[str, Any]], None]


def check_paths(grid: Grid, starts: npt.NDArray[np.int32], goals: npt.NDArray[np.int32],
                paths: npt.NDArray[np.int32]) -> None:  # fmt: skip
    """``SmartfabError`` unless ``paths`` (T+1, N) go from the starts to the goals by moves to
    a neighbour or staying, with no two agents on one vertex or swapping at any step."""
    if not (np.array_equal(paths[0], starts) and np.array_equal(paths[-1], goals)):
        raise SmartfabError("a plan that does not lead every agent from its start to its goal")
    v = np.int64(grid.vertices)
    for t in range(1, paths.shape[0]):
        here, there = paths[t - 1].astype(np.int64), paths[t].astype(np.int64)
        if np.unique(there).size != there.size:
            raise SmartfabError(f"two agents on one vertex at step {t}")
        moved = here != there
        steps = (grid.neighbours[here[moved]] == there[moved, None]).any(axis=1)
        if not steps.all():
            raise SmartfabError(f"an agent jumps at step {t}")
        edges = here[moved] * v + there[moved]
        if np.intersect1d(edges, there[moved] * v + here[moved]).size:
            raise SmartfabError(f"two agents swap at step {t}")


def _run(
    grid: Grid,
    starts: npt.NDArray[np.int32],
    goals: npt.NDArray[np.int32],
    time_limit: float,
    refine: float,
    what: dict[str, Any],
    label: Callable[[int], str] | None = None,
) -> dict[str, Any]:
    solution: Solution = solve(grid, starts, goals, time_limit=time_limit, refine_seconds=refine,
                               seed=0, label=label)  # fmt: skip
    row = what | {
        "solved": solution.solved,
        "seconds": round(solution.seconds, 3),
        "distance_seconds": round(solution.distance_seconds, 3),
        "lower_bound": solution.lower_bound,
    }
    if solution.solved and solution.paths is not None:
        check_paths(grid, starts, goals, solution.paths)
        row |= {
            "sum_of_costs": solution.sum_of_costs,
            "cost_ratio": round(solution.cost_ratio, 4),
            "first_cost_ratio": round(
                solution.first_sum_of_costs / max(solution.lower_bound, 1), 4
            ),
            "refine_seconds": round(solution.refine_seconds, 3),
            "makespan": solution.makespan,
        }
    return row


def bfs_seconds(grid: Grid, repeat: int = 50) -> float:
    """Seconds of one breadth-first distance table on ``grid`` (the median of ``repeat``)."""
    out = np.empty(grid.vertices, distance_tables(grid, np.zeros(1, np.int32)).dtype)
    queue = np.empty(grid.vertices, np.int32)
    blocked = np.zeros(grid.vertices, np.bool_)
    times = []
    for source in np.linspace(0, grid.vertices - 1, repeat).astype(np.int64):
        began = time.perf_counter()
        bfs(grid.neighbours, int(source), blocked, out, queue)
        times.append(time.perf_counter() - began)
    return float(np.median(times))


def _maps(maps: Path) -> dict[str, Path]:
    found = {p.stem: p for p in sorted(maps.glob("*.map"))}
    if not found:
        raise SmartfabError(f"no .map files in {maps}")
    return found


def _scen_map(path: Path) -> str:
    """The map a scenario names (its second column, a path as the publisher had it)."""
    with path.open(encoding="utf-8") as f:
        f.readline()
        fields = f.readline().split("\t")
    if len(fields) < 2:
        raise MapfError("expected the map's name in the second column", f"{path}:2")
    return Path(fields[1].strip().replace("\\", "/")).stem


def bench_mapf(
    maps: Path,
    scen: Path | None,
    time_limit: float,
    agents: Sequence[int] = AGENTS,
    seeds: Sequence[int] = SEEDS,
    progress: Progress | None = None,
    refine: float = 0.0,
) -> dict[str, Any]:
    """Every instance of the protocol, solved within ``time_limit`` and then refined for up to
    ``refine`` seconds while the limit lasts, and checked; the figures and one row per run."""
    grids = {name: load_map(path) for name, path in _maps(maps).items()}
    runs: list[dict[str, Any]] = []

    def record(row: dict[str, Any]) -> None:
        runs.append(row)
        if progress:
            progress(row)

    for name in RANDOM_MAPS:
        grid = grids.get(name)
        if grid is None:
            continue
        for n in agents:
            for seed in seeds:
                starts, goals = random_agents(grid, n, seed)
                what = {"map": name, "agents": n, "seed": seed}
                record(_run(grid, starts, goals, time_limit, refine, what))
    for path in sorted(scen.glob("*.scen")) if scen else []:
        name = _scen_map(path)
        grid = grids.get(name)
        if grid is None:
            raise SmartfabError(f"{path} is for map {name!r}, which is not in {maps}")
        instance = load_scenario(path, grid)
        what = {"map": name, "agents": len(instance), "scen": path.name}
        record(_run(grid, grid.vertices_of(instance.starts), grid.vertices_of(instance.goals),
                    time_limit, refine, what, label=instance.where))  # fmt: skip
    if not runs:
        raise SmartfabError(f"no instances: none of {', '.join(RANDOM_MAPS)} in {maps}, no scen")
    solved = [r for r in runs if r["solved"]]
    figures: dict[str, Any] = {
        "mapf.instances": len(runs),
        "mapf.solved_fraction": round(len(solved) / len(runs), 4),
        "mapf.mean_cost_ratio": round(mean(r["cost_ratio"] for r in solved), 4) if solved else None,
        "mapf.mean_first_cost_ratio": (
            round(mean(r["first_cost_ratio"] for r in solved), 4) if solved else None
        ),
    }
    for n in (1000, 10000):
        of_n = [r for r in runs if r["agents"] == n]
        if of_n:
            # An unsolved instance took at least the time limit.
            figures[f"mapf.max_seconds_{n}"] = max(
                r["seconds"] if r["solved"] else max(r["seconds"], time_limit) for r in of_n
            )
            for name in sorted({r["map"] for r in of_n}):
                figures[f"mapf.{name}.max_seconds_{n}"] = max(
                    r["seconds"] for r in of_n if r["map"] == name
                )
                figures[f"mapf.{name}.solved_fraction_{n}"] = round(
                    mean(r["solved"] for r in of_n if r["map"] == name), 4
                )
            figures[f"mapf.mean_cost_ratio_{n}"] = (
                round(mean(r["cost_ratio"] for r in of_n if r["solved"]), 4)
                if any(r["solved"] for r in of_n)
                else None
            )
    for name in sorted({r["map"] for r in runs}):
        one = bfs_seconds(grids[name])
        largest = max(r["agents"] for r in runs if r["map"] == name)
        figures[f"mapf.{name}.bfs_seconds"] = round(one, 6)
        figures[f"mapf.{name}.raw_seconds_{largest}"] = round(one * largest, 3)
    figures["mapf.runs"] = runs
    return figures


def lifelong(grid: Grid, agents: int, steps: int, seed: int) -> dict[str, Any]:
    """Tasks delivered in ``steps`` steps by ``agents`` agents, the queue kept as long as the
    fleet; every step's moves are checked."""
    rng = np.random.default_rng(seed)
    starts, _ = random_agents(grid, agents, seed)
    fleet = FleetPlanner(grid, seed=seed)
    for k, v in enumerate(starts):
        fleet.add_agent(f"agv{k}", grid.cell(int(v)))
    table = distance_tables(grid, starts[:1])[0]
    pool = np.flatnonzero(table != unreached(table.dtype))
    made = 0
    lengths: list[int] = []
    delivered = 0
    began = time.perf_counter()
    before = starts.astype(np.int64)
    for _ in range(steps):
        while len(fleet.queued()) < agents:
            pickup, drop = (int(v) for v in rng.choice(pool, 2, replace=False))
            fleet.submit(Task(f"t{made}", grid.cell(pickup), grid.cell(drop)))
            lengths.append(int(distance_tables(grid, np.array([drop], np.int32))[0, pickup]))
            made += 1
        result = fleet.step()
        after = grid.vertices_of(np.array(list(result.positions.values()), np.int64))
        check_paths(
            grid, before.astype(np.int32), after, np.stack([before, after]).astype(np.int32)
        )
        before = after.astype(np.int64)
        delivered += len(result.delivered)
    seconds = time.perf_counter() - began
    return {
        "agents": agents,
        "steps": steps,
        "delivered": delivered,
        "throughput": round(delivered * 1000 / steps, 1),
        "loaded_travel_bound": round(agents * 1000 / mean(lengths), 1),
        "seconds_per_step": round(seconds / steps, 5),
    }


def bench_lifelong(
    maps: Path, agents: Iterable[int] = LIFELONG_AGENTS, steps: int = 1000, seed: int = 1,
    progress: Progress | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``lifelong.<agents>.*`` on warehouse-20-40-10-2-1."""
    path = _maps(maps).get(LIFELONG_MAP)
    if path is None:
        raise SmartfabError(f"{LIFELONG_MAP}.map is not in {maps}")
    grid = load_map(path)
    figures: dict[str, Any] = {}
    for n in agents:
        row = lifelong(grid, n, steps, seed)
        if progress:
            progress({"lifelong": n} | row)
        for key in ("throughput", "loaded_travel_bound", "seconds_per_step"):
            figures[f"lifelong.{n}.{key}"] = row[key]
    return figures


def _skewed_demand(skus: int, rng: np.random.Generator) -> list[slotting.Demand]:
    """Order lines per SKU falling off like a Pareto curve (about 20 % of the SKUs make 80 % of
    the lines), one to three locations of stock each."""
    lines = 1.0 / np.arange(1, skus + 1) ** 1.1
    lines = rng.permutation(lines) * 1000 / lines.sum()
    return [
        slotting.Demand(f"sku{i}", float(lines[i]), int(rng.integers(1, 4))) for i in range(skus)
    ]


def bench_storage(seed: int = 1, orders: int = 2000) -> dict[str, Any]:
    """Slotting, picking (batching and routing) and crane sequencing against their baselines
    on a synthetic warehouse of seeded demand: ``storage.*``, ``picking.*``, ``crane.*``."""
    rng = np.random.default_rng(seed)
    block = routing.Block(aisles=12, bays=30, aisle_pitch=3.0, bay_length=1.3)
    faces = [(a, b) for a in range(block.aisles) for b in range(block.bays)] * 2  # two sides
    depot = np.zeros((1, 2))
    positions = np.array([block.position(a, b) for a, b in faces])
    # A location's cost: metres from the depot to it.
    costs = [float(c) for c in routing.distances(block, np.vstack([depot, positions]))[0, 1:]]
    demand = _skewed_demand(300, rng)
    placements = {
        "random": slotting.random_storage(demand, costs, seed=seed),
        "class_based": slotting.class_based(demand, costs, seed=seed),
        "cube_per_order_index": slotting.cube_per_order_index(demand, costs),
    }
    figures: dict[str, Any] = {
        f"storage.{name}.travel_per_line_m": round(
            slotting.travel_per_line(demand, costs, placement), 2
        )
        for name, placement in placements.items()
    }
    proposals = slotting.reslot(demand, costs, placements["random"], moves=100)
    figures["storage.reslot_100.travel_per_line_m"] = round(
        slotting.travel_per_line(demand, costs, slotting.apply(placements["random"], proposals)), 2
    )

    # Orders of one to five lines, the SKUs drawn by their demand, arriving in a busy spell.
    weights = np.array([d.lines for d in demand])
    weights /= weights.sum()
    todo: list[tuple[float, list[int]]] = []
    arrival = 0.0
    for _ in range(orders):
        arrival += float(rng.exponential(45.0))
        todo.append(
            (arrival, [int(s) for s in rng.choice(len(demand), rng.integers(1, 6), p=weights)])
        )
    picking = batching.Picking(block, capacity=24, pickers=3)
    for name, placement, policy, router in (
        ("baseline", "random", "single", "s_shape"),
        ("optimised", "cube_per_order_index", "seed", "largest_gap"),
        ("optimised_shortest", "cube_per_order_index", "seed", "shortest"),
    ):
        where = slotting.locations_of(placements[placement])
        choose = np.random.default_rng(seed)
        order_list = [
            batching.Order(
                f"o{k}", at,
                tuple(faces[where[demand[s].sku][int(choose.integers(len(where[demand[s].sku])))]]
                      for s in skus),
            )
            for k, (at, skus) in enumerate(todo)
        ]  # fmt: skip
        result = batching.simulate(order_list, picking, policy=policy, router=router)
        figures |= {
            f"picking.{name}.metres_per_line": round(result.metres_per_line, 2),
            f"picking.{name}.lines_per_hour": round(result.lines_per_hour, 1),
            f"picking.{name}.mean_lead_s": round(result.mean_lead_s, 1),
        }

    # One crane aisle: 60 bays of 1.4 m at 3 m/s, 15 levels of 1.2 m at 1 m/s, 5 s a fork.
    def move(a: sequencing.Loc, b: sequencing.Loc) -> float:
        return max(abs(a[0] - b[0]) * 1.4 / 3.0, abs(a[1] - b[1]) * 1.2 / 1.0)

    cells = [(b, lv) for b in range(60) for lv in range(15)]
    shuffled = [cells[int(i)] for i in rng.permutation(len(cells))]
    full, free = shuffled[: len(cells) // 2], shuffled[len(cells) // 2 :]
    requests: list[sequencing.Request] = []
    arrival = 0.0
    for k in range(400):
        arrival += float(rng.exponential(55.0))
        requests.append(
            sequencing.Request(arrival, "retrieve", full.pop())
            if k % 2
            else sequencing.Request(arrival, "store")
        )
    for policy in sequencing.POLICIES:
        crane = sequencing.simulate(requests, free, move, fork_s=5.0, policy=policy, seed=seed)
        name = "baseline" if policy == "single" else "optimised"
        figures |= {
            f"crane.{name}.moves_per_hour": round(crane.moves_per_hour, 1),
            f"crane.{name}.mean_lead_s": round(crane.mean_lead_s, 1),
        }
    return figures


VIRTUAL_KEYS = (
    "orders",
    "order_lines",
    "otif",
    "lead_time_h",
    "travel_m_per_line",
    "throughput_lines_per_h",
    "crane_utilisation",
    "agv_utilisation",
    "line_stockouts",
    "line_stockout_h",
    "dock_to_stock_min",
)


def bench_virtual(days: float = 30, seed: int = 1) -> dict[str, Any]:
    """The demo plant's virtual warehouse for ``days``, optimised (``virtual.*``) and with the
    plain baseline (``virtual.baseline_*``), on the same seed."""
    from smartfab.virtual.warehouse.sim import run_virtual_warehouse

    figures: dict[str, Any] = {}
    for optimised, prefix in ((True, "virtual."), (False, "virtual.baseline_")):
        metrics = run_virtual_warehouse(days, seed, optimised)
        figures |= {f"{prefix}{key}": round(metrics[key], 4) for key in VIRTUAL_KEYS}
    return figures
