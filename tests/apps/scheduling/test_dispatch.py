from __future__ import annotations

import random

import pytest

from smartfab.apps.scheduling.dispatch import RULES, best_dispatch, dispatch, frozen_prefixes
from smartfab.apps.scheduling.problem import Alternative, Job, Machine, Operation, Problem
from smartfab.apps.scheduling.schedule import check_assignments, makespan
from tests.apps.scheduling.instances import random_problem

ALL_RULES = sorted({rule for rules in RULES.values() for rule in rules})


@pytest.mark.parametrize("rule", ALL_RULES)
@pytest.mark.parametrize("flexible", [False, True])
def test_every_rule_gives_a_valid_plan_around_windows(rule: str, flexible: bool) -> None:
    problem = random_problem(6, 4, seed=3, flexible=flexible, windows=True, due_dates=True)
    plan = dispatch(problem, rule)  # type: ignore[arg-type]
    check_assignments(problem, plan)
    randomized = dispatch(problem, rule, rng=random.Random(1))  # type: ignore[arg-type]
    check_assignments(problem, randomized)


def test_frozen_operations_stay_and_the_rest_starts_later() -> None:
    problem = random_problem(5, 4, seed=8, windows=True)
    first = dispatch(problem, "mwkr")
    t = makespan(first) // 2
    kept = [a for a in first if a.end <= t]
    plan = dispatch(problem, "spt", frozen=kept, not_before=t)
    check_assignments(problem, plan)
    assert set(kept) <= set(plan)
    assert all(a.start >= t for a in plan if a not in kept)


def test_order_rule_follows_the_given_order() -> None:
    single = Operation((Alternative(0, 2),))
    problem = Problem(
        machines=(Machine("m0"),), jobs=tuple(Job(f"j{j}", (single,)) for j in range(3))
    )
    plan = dispatch(problem, "order", order={(0, 0): 30, (1, 0): 10, (2, 0): 20})
    assert [a.start for a in plan] == [4, 0, 2]
    with pytest.raises(ValueError, match="needs an order"):
        dispatch(problem, "order")


def test_frozen_operations_must_be_a_routing_prefix() -> None:
    problem = random_problem(2, 3, seed=1)
    plan = dispatch(problem, "mwkr")
    assert frozen_prefixes(problem, [a for a in plan if a.operation == 0]) == [1, 1]
    second = [a for a in plan if (a.job, a.operation) == (0, 1)]
    with pytest.raises(ValueError, match="not a routing prefix"):
        dispatch(problem, "mwkr", frozen=second)


def test_best_dispatch_is_at_least_as_good_as_each_rule() -> None:
    problem = random_problem(8, 5, seed=5)
    best = best_dispatch(problem, "makespan", budget_s=0.2, max_runs=30)
    check_assignments(problem, best)
    assert makespan(best) <= min(makespan(dispatch(problem, r)) for r in RULES["makespan"])


def test_assignment_order_is_by_job_then_operation() -> None:
    problem = random_problem(3, 3, seed=2)
    plan = dispatch(problem, "mopnr")
    keys = [(a.job, a.operation) for a in plan]
    assert keys == sorted(keys) and len(keys) == 9
