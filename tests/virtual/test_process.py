from __future__ import annotations

import numpy as np
import pytest

from smartfab.virtual.process import (
    PROCESSES,
    Context,
    VirtualProcess,
    contexts,
    draw_truth,
    engineers_trials,
)

CNC = PROCESSES["cnc"]


def test_a_seed_gives_the_same_parts_and_another_seed_another_problem() -> None:
    a = VirtualProcess.create(CNC, 3, "s/a/l/c/m").run(0, 500)
    b = VirtualProcess.create(CNC, 3, "s/a/l/c/m").run(0, 500)
    assert np.array_equal(a.defect, b.defect) and np.array_equal(a.energy_kwh, b.energy_kwh)
    t3, t4 = draw_truth(CNC, 3, "s/a/l/c/m"), draw_truth(CNC, 4, "s/a/l/c/m")
    assert not np.allclose(t3.centre, t4.centre) and t3.takt_s != t4.takt_s
    assert not np.allclose(draw_truth(CNC, 3, "s/a/l/c/other").centre, t3.centre)


@pytest.mark.parametrize("model", sorted(PROCESSES))
def test_parts_carry_parameters_measurements_and_an_inspection_result(model: str) -> None:
    spec = PROCESSES[model]
    p = VirtualProcess.create(spec, 1, "s/a/l/c/m")
    parts = p.run(1_000_000, 5000)
    assert len(parts) == 5000 and np.all(np.diff(parts.ts) > 0)
    assert parts.params.shape == (5000, len(spec.parameters))
    assert set(np.unique(parts.defect)) <= {0, *(d.code for d in spec.defects)}
    assert 0 < np.mean(parts.defect > 0) < 0.2
    assert np.all(parts.energy_kwh > 0) and np.all(parts.cycle_s > 0)
    # lots and tools are changed as they run out
    n = min(spec.lot_parts[1], spec.tool_parts[1]) * 2
    more = p.run(int(parts.ts[-1]), n)
    assert len(np.unique(more.lot)) > 1 and np.any(np.diff(more.tool_count) < 0)


def test_each_defect_follows_its_own_cause() -> None:
    p = VirtualProcess.create(CNC, 2, "s/a/l/c/m")
    p.run(0, 3000)
    ctx = contexts(p.history)
    low = p.truth.scale(np.array([[8500, 1300, 28]]))
    fast = p.truth.scale(np.array([[8500, 3500, 28]]))
    u = np.repeat(np.vstack([low, fast]), len(ctx.amb), axis=0)
    both = Context(*(np.tile(c, 2) for c in (ctx.amb, ctx.wear, ctx.hardness)))
    prob = p.truth.defect_probabilities(u, both).reshape(2, len(ctx.amb), -1).mean(axis=1)
    chatter, porosity = 1, 2
    assert prob[1, chatter] > 5 * prob[0, chatter]  # too fast
    assert prob[1, porosity] == pytest.approx(prob[0, porosity])  # the lot does not care


def test_a_parameter_outside_its_range_is_refused() -> None:
    p = VirtualProcess.create(CNC, 0, "m")
    with pytest.raises(ValueError, match="outside"):
        p.set_parameter("feed_rate_sp", 9000)
    p.set_parameter("feed_rate_sp", 2500)
    assert p.run(0, 3).params[:, 1].tolist() == [2500] * 3


def test_the_engineers_trials_stay_within_range_and_rate_limits() -> None:
    p = VirtualProcess.create(CNC, 5, "m")
    runs = engineers_trials(p, 0, 10, 4, np.random.default_rng(5))
    settings = np.array([r.params[0] for r in runs])
    step = np.array([q.max_step for q in CNC.parameters])
    assert np.all(np.abs(np.diff(settings, axis=0)) <= step + 1e-9)
    assert np.all(settings >= [q.low for q in CNC.parameters])
    assert np.all(settings <= [q.high for q in CNC.parameters])
    assert len(np.unique(settings, axis=0)) > 20


def test_the_true_optimum_respects_the_constraints() -> None:
    p = VirtualProcess.create(CNC, 1, "m")
    p.run(0, 4000)
    c = contexts(p.history)
    u, best = p.truth.optimum(c, 0.03, points=11)
    energy, risk = p.truth.good_energy(u[None, :], c)
    assert risk[0] <= 0.03 and p.truth.cycle_s(u[None, :])[0] <= p.truth.takt_s
    assert energy[0] == pytest.approx(best)


def test_the_true_optimum_over_a_sample_holds_the_limit_over_every_condition_judged() -> None:
    p = VirtualProcess.create(CNC, 4, "m")
    p.run(0, 4000)
    c = contexts(p.history)
    sample = c.thin(40)
    alone, _ = p.truth.optimum(sample, 0.03, points=11)
    judged, best = p.truth.optimum(sample, 0.03, points=11, judge=c)
    # Over the sample alone, the best point breaks the limit over every condition.
    assert p.truth.good_energy(alone[None, :], c)[1][0] > 0.03
    assert p.truth.good_energy(judged[None, :], c)[1][0] <= 0.03
    assert p.truth.good_energy(judged[None, :], sample)[0][0] == pytest.approx(best)
