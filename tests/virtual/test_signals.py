from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from smartfab.virtual.equipment import IDLE, OFF, RUNNING, Ramp, Timeline
from smartfab.virtual.models import EquipmentModel, Quantity, quantity
from smartfab.virtual.models.cnc import MODEL as CNC
from smartfab.virtual.signals import Sampler, SignalSim

S = 1_000_000
CODES = np.array([10, 11, 12, 13, 14, 15])  # the equipment's own code for each state


def ints(*xs: float) -> np.ndarray:
    return np.array([round(x * S) for x in xs], np.int64)


def floats(*xs: float) -> np.ndarray:
    return np.array(xs, np.float64)


# Running with job intensity 0.8 for 100 s making 10 parts of 10 s each (the 4th one scrap), idle
# for 100 s, then off. The tool wears from 0 to 1 over the 100 s of running.
ends = np.arange(1, 11) * 10.0
TIMELINE = Timeline(
    seg_start=ints(0, 100, 200),
    seg_state=np.array([RUNNING, IDLE, OFF]),
    seg_fault=np.zeros(3, np.int64),
    seg_job=floats(0.8, 0.8, 0.8),
    cyc_end=ints(*ends),
    cyc_start=ints(*(ends - 10)),
    cyc_s=np.full(10, 10.0),
    cyc_mat=1 + np.arange(10) / 100,
    part_end=ints(-1e-6, *ends),
    part_s=floats(9, *np.full(10, 10.0)),
    good=floats(0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9),
    scrap=floats(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1),
    wear={
        "tool_breakage": Ramp(ints(0, 100), floats(0, 1), floats(0.01, 0)),
        "spindle_bearing_wear": Ramp(ints(0), floats(0), floats(0)),
    },
)


def sampler(ts: np.ndarray, model: EquipmentModel = CNC, offset_s: float = 0.0) -> Sampler:
    return Sampler(model, TIMELINE, ts, offset_s, CODES)


def test_state_drivers() -> None:
    s = sampler(ints(0, 50, 99.9, 100, 150, 200, 300))
    assert s.get("state").tolist() == [11, 11, 11, 12, 12, 10, 10]
    assert s.get("on").tolist() == [1, 1, 1, 1, 1, 0, 0]
    assert s.get("run").tolist() == [1, 1, 1, 0, 0, 0, 0]
    assert s.get("job").tolist() == [0.8] * 7
    assert s.get("fault_code").tolist() == [0] * 7


def test_activity_follows_the_profile_of_the_cycle_in_progress() -> None:
    # CNC: clamp until 8 % of the cycle, rough until 85 %, finish until 95 %, unload
    s = sampler(ints(30.5, 35, 39, 39.6, 100, 150))
    assert s.get("act").tolist() == [0, 1, 0.4, 0, 0, 0]
    assert s.get("busy").tolist() == [0, 1, 1, 0, 0, 0]
    assert s.get("cpm").tolist() == [6, 6, 6, 6, 0, 0]
    assert s.get("mat").tolist() == [1.03, 1.03, 1.03, 1.03, 1, 1]


def test_counters_and_cycle_time_step_when_a_part_is_done() -> None:
    s = sampler(ints(0, 9.99, 10, 45, 100, 300))
    assert s.get("good_count").tolist() == [0, 0, 1, 3, 9, 9]
    assert s.get("scrap_count").tolist() == [0, 0, 0, 1, 1, 1]
    assert s.get("cycle_time").tolist() == [9, 9, 10, 10, 10, 10]


def test_wear_and_hall_temperature() -> None:
    s = sampler(ints(0, 50, 100, 150))
    assert s.get("wear.tool_breakage").tolist() == pytest.approx([0, 0.5, 1, 1])
    # peaks at 15:00 local: 14:00 UTC an hour east of Greenwich, lowest at 03:00 local
    hall = sampler(ints(14 * 3600, 2 * 3600), offset_s=3600).get("amb")
    assert hall.tolist() == pytest.approx([1, -1])


def test_quantities_are_sums_of_products_clipped_to_their_limits() -> None:
    model = dataclasses.replace(
        CNC,
        quantities={
            "a": quantity(1, (2, "run*job"), (-3, "wear.tool_breakage")),
            "b": quantity((0.5, "a"), (1, "on"), low=1.0, high=1.5),
        },
    )
    s = sampler(ints(0, 50, 150, 250), model)
    assert s.get("a").tolist() == pytest.approx([2.6, 1.1, 0, 0])  # clipped at low=0 from 150 s
    assert s.get("b").tolist() == pytest.approx([1.5, 1.5, 1, 1])


def steady(q: Quantity) -> EquipmentModel:
    """CNC with a single quantity ``q`` besides a step input ``x``: 0 while running, 1 when idle."""
    return dataclasses.replace(CNC, quantities={"x": quantity(1, (-1, "run")), "q": q})


def sim(q: Quantity, period_s: float = 1.0, seed: int = 0, integer: bool = False) -> SignalSim:
    return SignalSim(7, "q", q, round(period_s * S), np.random.default_rng(seed), integer)


def samples(s: SignalSim, model: EquipmentModel, ts: np.ndarray, chunks: int = 1) -> np.ndarray:
    parts = np.array_split(ts, chunks)
    return np.concatenate([s.sample(sampler(p, model)) for p in parts if len(p)])


def test_lag_is_the_exact_first_order_response() -> None:
    q = quantity(20, (60, "x"), lag_s=30)
    ts = ints(*np.arange(0, 200, 2.0))
    y = samples(sim(q, 2.0), steady(q), ts)
    a = math.exp(-2 / 30)
    expected = [20.0]
    for x in np.where(ts < 100 * S, 20.0, 80.0)[1:]:
        expected.append(a * expected[-1] + (1 - a) * x)
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    # 5 time constants after the step it has nearly settled, one after it is 63 % there
    assert y[-1] == pytest.approx(80, abs=60 * math.exp(-98 / 30) + 1e-9)
    assert y[50 + 15] == pytest.approx(20 + 60 * (1 - math.exp(-32 / 30)))


def test_integral_sums_the_quantity_over_time() -> None:
    q = quantity((3600.0, "x"), integral=True)  # 1 per second while idle
    y = samples(sim(q, 10.0), steady(q), ints(*np.arange(0, 200, 10.0)), chunks=3)
    assert y.tolist() == [0.0] * 10 + list(np.arange(10, 110, 10.0) * 3600)


def test_noise_and_wander_have_the_asked_for_spread() -> None:
    noisy = quantity(5, noise=0.5)
    n = sim(noisy).sample(sampler(np.arange(20_000) * S + 300 * S, steady(noisy)))
    assert n.mean() == pytest.approx(5, abs=0.02)
    assert n.std() == pytest.approx(0.5, rel=0.03)
    wandering = quantity(5, wander=2.0, wander_s=20)
    w = sim(wandering).sample(sampler(np.arange(400_000) * S + 300 * S, steady(wandering)))
    assert w.std() == pytest.approx(2.0, rel=0.05)
    d = w - w.mean()
    assert np.dot(d[1:], d[:-1]) / np.dot(d, d) == pytest.approx(math.exp(-1 / 20), abs=0.01)


def test_limits_and_integer_signals() -> None:
    q = quantity(0.2, (5.0, "x"), noise=1.0, high=3.0)
    y = samples(sim(q, integer=True), steady(q), ints(*np.arange(0, 200, 1.0)))
    assert y.min() >= 0 and y.max() <= 3 and np.array_equal(y, np.rint(y))


def test_timeline_quantities_are_exact() -> None:
    s = SignalSim(1, "good_count", None, S, np.random.default_rng(0), integer=False)
    assert s.sample(sampler(ints(0, 10, 20))).tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    "q",
    [
        quantity(20, (60, "x"), lag_s=30, noise=0.3, wander=0.5, wander_s=15),
        quantity((1, "x"), (2, "run*mat"), integral=True),
    ],
)
def test_samples_do_not_depend_on_chunking(q: Quantity) -> None:
    ts = np.arange(0, 300, 3) * S
    whole = samples(sim(q, 3.0, seed=9), steady(q), ts)
    chunked = samples(sim(q, 3.0, seed=9), steady(q), ts, chunks=17)
    assert np.array_equal(whole, chunked)
