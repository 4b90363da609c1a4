"""Machine-choice neighbourhoods for flexible problems (large neighbourhood search).

CP-SAT on a whole flexible job shop must choose a machine for every operation and an order on
every machine at once; on the larger Brandimarte instances (mk10: 240 operations with up to five
machines each) that search space is too wide for a minute on two cores. A neighbourhood keeps
the machine of most operations as in the best plan so far and lets CP-SAT re-choose only the
others (and re-order everything), hinted with that plan: a far smaller problem, solved in a
couple of seconds, whose best plan is never worse than the one it started from. Which operations
are freed alternates between those on a few machines (moves work between them) and a random
share of all operations.
"""

from __future__ import annotations

import random
from collections.abc import Sequence, Set
from dataclasses import replace

from smartfab.apps.scheduling.problem import Operation, Problem
from smartfab.apps.scheduling.schedule import Assignment

OpKey = tuple[int, int]  # (job, operation)


def free_operations(problem: Problem, plan: Sequence[Assignment], rng: random.Random) -> set[OpKey]:
    """The operations whose machine a neighbourhood of ``plan`` may change."""
    flexible = [
        (a.job, a.operation)
        for a in plan
        if len(problem.jobs[a.job].operations[a.operation].alternatives) > 1
    ]
    if rng.random() < 0.5:
        machines = rng.sample(
            range(len(problem.machines)), min(len(problem.machines), rng.randint(2, 4))
        )
        chosen = set(machines)
        # Operations now on those machines and those that could move onto them.
        return {
            (j, k)
            for j, k in flexible
            if any(alt.machine in chosen for alt in problem.jobs[j].operations[k].alternatives)
        }
    return set(rng.sample(flexible, round(len(flexible) * rng.uniform(0.2, 0.4))))


def restricted(problem: Problem, plan: Sequence[Assignment], free: Set[OpKey]) -> Problem:
    """``problem`` with every operation outside ``free`` limited to its machine in ``plan``."""
    machine = {(a.job, a.operation): a.machine for a in plan}
    jobs = []
    for j, job in enumerate(problem.jobs):
        ops = tuple(
            op
            if (j, k) in free
            else Operation(
                tuple(alt for alt in op.alternatives if alt.machine == machine[j, k]), op.name
            )
            for k, op in enumerate(job.operations)
        )
        jobs.append(replace(job, operations=ops))
    return replace(problem, jobs=tuple(jobs))
