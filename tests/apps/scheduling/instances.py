"""Small generated instances for tests that must not depend on the shared benchmark data."""

from __future__ import annotations

import random

from smartfab.apps.scheduling.problem import (
    Alternative,
    Job,
    Machine,
    Operation,
    Problem,
    Window,
)


def random_problem(
    jobs: int,
    machines: int,
    seed: int,
    flexible: bool = False,
    windows: bool = False,
    due_dates: bool = False,
) -> Problem:
    """Each job visits every machine once in a random order (with `flexible`, each operation
    may also run on a second machine, slower); optionally a maintenance window per machine and
    due dates."""
    rng = random.Random(seed)
    job_list = []
    for j in range(jobs):
        order = rng.sample(range(machines), machines)
        operations = []
        for m in order:
            alternatives = [Alternative(m, rng.randint(1, 9))]
            if flexible and rng.random() < 0.5:
                other = (m + rng.randint(1, machines - 1)) % machines
                alternatives.append(
                    Alternative(other, alternatives[0].duration + rng.randint(0, 4))
                )
            operations.append(Operation(tuple(alternatives)))
        due = rng.randint(5 * machines, 10 * machines) if due_dates else None
        job_list.append(Job(f"j{j}", tuple(operations), due=due, priority=rng.randint(1, 3)))
    machine_list = []
    for m in range(machines):
        start = rng.randint(5, 30)
        unavailable = (Window(start, start + rng.randint(3, 10), "maintenance"),) if windows else ()
        machine_list.append(Machine(f"m{m}", unavailable))
    return Problem(machines=tuple(machine_list), jobs=tuple(job_list), name=f"random{seed}")
