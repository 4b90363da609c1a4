"""How close the scheduler gets to the best known makespans of public job-shop benchmarks.

Protocol (../shared/data/README.md): each instance is solved for its makespan within the time
limit with the given number of CP-SAT workers; gap = (makespan - best known upper bound) / best
known upper bound. Every schedule is checked against its instance before it is counted.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import mean
from typing import Any

from smartfab.apps.scheduling.formats import instance_name, read_fjsp, read_jsp
from smartfab.apps.scheduling.schedule import check_schedule
from smartfab.apps.scheduling.solver import solve
from smartfab.errors import SmartfabError

NAME = "name"
BEST_KNOWN = "best_known_upper_bound"
# Columns of published peer runs are copied beside each instance; those ending in this suffix
# are makespans, whose gap is computed the same way as ours.
PEER_PREFIX = "peer_"
PEER_MAKESPAN_SUFFIX = "_makespan"


def _natural(name: str) -> list[Any]:
    """Sort key putting ta2 before ta10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _value(text: str | None) -> int | float | str | None:
    text = (text or "").strip()
    if not text:
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def read_bounds(path: Path) -> dict[str, dict[str, Any]]:
    """Rows of the bounds CSV by instance name, with numbers as numbers and blanks as None."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        if NAME not in columns or BEST_KNOWN not in columns:
            raise SmartfabError(f"{path}: needs the columns {NAME!r} and {BEST_KNOWN!r}")
        return {
            row[NAME].strip(): {column: _value(row[column]) for column in columns} for row in reader
        }


def instance_files(instances_dir: Path, names: Sequence[str] | None) -> list[Path]:
    """The instance files of the folder (every visible file), or those named, in natural
    order of their names."""
    if not instances_dir.is_dir():
        raise SmartfabError(f"{instances_dir}: not a folder")
    files: dict[str, Path] = {}
    for path in instances_dir.iterdir():
        if path.is_file() and not path.name.startswith("."):
            name = instance_name(path)
            if name in files:
                raise SmartfabError(f"{instances_dir}: two files for instance {name!r}")
            files[name] = path
    if names is not None:
        missing = [n for n in names if n not in files]
        if missing:
            raise SmartfabError(f"{instances_dir}: no file for instance(s) {', '.join(missing)}")
        files = {n: files[n] for n in names}
    if not files:
        raise SmartfabError(f"{instances_dir}: no instance files")
    return [files[n] for n in sorted(files, key=_natural)]


def _gap(makespan: float, best_known: Any) -> float | None:
    if not isinstance(best_known, int | float) or best_known <= 0:
        return None
    return round((makespan - best_known) / best_known, 6)


def bench_scheduling(
    instances_dir: str | Path,
    bounds_csv: str | Path,
    time_limit_s: float,
    workers: int,
    flexible: bool = False,
    names: Sequence[str] | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Solve every instance of `instances_dir` (OR-Library job-shop files, or Brandimarte
    flexible job-shop files with `flexible`), or only those in `names`, for the makespan, each
    within `time_limit_s` seconds with `workers` CP-SAT threads, and compare with the
    `best_known_upper_bound` column of `bounds_csv` (matched on its `name` column against the
    file name without extension).

    Returns `instances` (per instance: name, jobs, machines, makespan, best_known, gap,
    proven_optimal, bound, seconds, and the bounds CSV's `peer_*` columns with a gap for each
    peer makespan), `mean_gap` over the instances with a known bound, `max_gap`,
    `proven_optimal` (count), `time_limit_s`, `workers`, `flexible`, and per peer makespan
    column the peer's mean gap over the instances it has a figure for. `progress` is called
    with each instance's figures as soon as it is solved.
    """
    bounds = read_bounds(Path(bounds_csv))
    read = read_fjsp if flexible else read_jsp
    results: list[dict[str, Any]] = []
    for path in instance_files(Path(instances_dir), names):
        problem = read(path)
        schedule = solve(problem, "makespan", time_limit_s=time_limit_s, workers=workers)
        check_schedule(problem, schedule)
        row = bounds.get(problem.name, {})
        best_known = row.get(BEST_KNOWN)
        entry: dict[str, Any] = {
            "name": problem.name,
            "jobs": len(problem.jobs),
            "machines": len(problem.machines),
            "makespan": schedule.makespan,
            "best_known": best_known,
            "gap": _gap(schedule.makespan, best_known),
            "proven_optimal": schedule.proven_optimal,
            "bound": schedule.bound,
            "seconds": round(schedule.seconds, 3),
        }
        for column, value in row.items():
            if column.startswith(PEER_PREFIX):
                entry[column] = value
                if column.endswith(PEER_MAKESPAN_SUFFIX) and isinstance(value, int | float):
                    entry[column.removesuffix(PEER_MAKESPAN_SUFFIX) + "_gap"] = _gap(
                        value, best_known
                    )
        results.append(entry)
        if progress is not None:
            progress(entry)
    gaps = [r["gap"] for r in results if r["gap"] is not None]
    figures: dict[str, Any] = {
        "instances": results,
        "mean_gap": round(mean(gaps), 6) if gaps else None,
        "max_gap": max(gaps) if gaps else None,
        "instances_with_bound": len(gaps),
        "proven_optimal": sum(1 for r in results if r["proven_optimal"]),
        "time_limit_s": time_limit_s,
        "workers": workers,
        "flexible": flexible,
    }
    peer_gaps: dict[str, list[float]] = {}
    for r in results:
        for key, value in r.items():
            if key.startswith(PEER_PREFIX) and key.endswith("_gap") and value is not None:
                peer_gaps.setdefault(key, []).append(value)
    for key, values in peer_gaps.items():
        figures[key.removesuffix("_gap") + "_mean_gap"] = round(mean(values), 6)
    return figures
