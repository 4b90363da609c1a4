from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from smartfab.errors import SmartfabError
from smartfab.model.plant import DEFAULT_STATES, Plant
from smartfab.platform.points import (
    ArrayBatch,
    EventBatch,
    EventKind,
    PointBatch,
    Quality,
    TextBatch,
)
from smartfab.virtual.factory import VirtualFactory, VirtualFactoryError, known_quantities

from .plants import QUANTITIES, build_plant

S = 1_000_000
HOUR = 3600 * S
DAY = 24 * HOUR
MONDAY = 1_709_510_400 * S  # 2024-03-04 00:00 UTC
TUESDAY = MONDAY + DAY
CODE = {name: code for code, name in DEFAULT_STATES.items()}
EVERY_MODEL = {"cnc": 1, "press": 1, "assembly": 1, "packaging": 1}


def by_signal(points: PointBatch) -> PointBatch:
    """Points of consecutive ``advance`` calls grouped by signal, each signal in time order."""
    return points.take(np.argsort(points.signal_id, kind="stable"))


def series(points: PointBatch, signal_id: int) -> tuple[np.ndarray, np.ndarray]:
    p = points.take(points.signal_id == signal_id)
    return p.ts, p.value


# --- configuration errors ---------------------------------------------------------------------


def one_machine(equipment: dict[str, Any], timezone: str = "UTC") -> Plant:
    lines = [{"name": "l", "cells": [{"name": "c", "equipment": [{"name": "m", **equipment}]}]}]
    site = {"name": "s", "timezone": timezone, "areas": [{"name": "a", "lines": lines}]}
    return Plant.model_validate({"site": site})


def signal(name: str, sim: str | None) -> dict[str, Any]:
    return {"name": name, "unit": "1", "source": {"virtual": True}, "sim": sim}


@pytest.mark.parametrize(
    ("equipment", "match"),
    [
        ({"model": "lathe", "signals": [signal("x", "state")]}, "s/a/l/c/m/x.*'lathe'"),
        ({"signals": [signal("x", "state")]}, "s/a/l/c/m/x.*None"),
        ({"model": "cnc", "signals": [signal("x", "rpm")]}, "s/a/l/c/m/x.*'rpm'"),
        ({"model": "press", "signals": [signal("x", "spindle_speed")]}, "s/a/l/c/m/x.*'press'"),
        (
            {
                "model": "cnc",
                "states": {1: "running", 2: "idle"},
                "signals": [signal("x", "state")],
            },
            "s/a/l/c/m/x.*'off'",
        ),
    ],
)
def test_what_cannot_be_simulated_is_reported_with_the_signal_path(
    equipment: dict[str, Any], match: str
) -> None:
    plant = one_machine(equipment)
    with pytest.raises(VirtualFactoryError, match=match) as e:
        VirtualFactory(plant, {"s/a/l/c/m/x": 1}, seed=0, start_us=MONDAY)
    assert isinstance(e.value, SmartfabError)


def test_signals_without_sim_are_left_alone_and_ids_are_required() -> None:
    plant = one_machine({"model": "cnc", "signals": [signal("x", "power"), signal("y", None)]})
    points, _ = VirtualFactory(plant, {"s/a/l/c/m/x": 4}, seed=0, start_us=MONDAY).advance(
        MONDAY + 10 * S
    )
    assert set(points.signal_id.tolist()) == {4}
    with pytest.raises(VirtualFactoryError, match="s/a/l/c/m/x"):
        VirtualFactory(plant, {}, seed=0, start_us=MONDAY)


def test_an_unknown_timezone_is_reported() -> None:
    plant = one_machine({"model": "cnc", "signals": [signal("x", "power")]}, "Mars/Olympus")
    with pytest.raises(VirtualFactoryError, match="Mars/Olympus"):
        VirtualFactory(plant, {"s/a/l/c/m/x": 1}, seed=0, start_us=MONDAY)


def test_known_quantities_is_offered_for_validation() -> None:
    assert "spindle_speed" in known_quantities("cnc")
    assert "spindle_speed" not in known_quantities("press")


def test_state_codes_are_the_equipments_own() -> None:
    states = {10 + code: name for code, name in DEFAULT_STATES.items()}
    plant = one_machine({"model": "cnc", "states": states, "signals": [signal("x", "state")]})
    f = VirtualFactory(plant, {"s/a/l/c/m/x": 1}, seed=0, start_us=MONDAY)
    points, _ = f.advance(MONDAY + 7 * DAY)
    assert set(points.value.tolist()) == {10, 11, 12, 13, 14, 15}


# --- time, grids and reproducibility ------------------------------------------------------------


def odd_rates(quantity: str) -> float:
    """Sample periods that do not divide one another, one of them below a second."""
    return {"state": 0.5, "energy": 7.0}.get(quantity, 13.0 if quantity.endswith("temp") else 3.0)


def test_samples_lie_on_their_epoch_aligned_grid_in_the_range_asked_for() -> None:
    plant, ids = build_plant(EVERY_MODEL, sample_s=odd_rates, others=True)
    start, until = TUESDAY + 123_457, TUESDAY + HOUR + 654_321
    f = VirtualFactory(plant, ids, seed=1, start_us=start)
    assert f.now_us == start
    points, texts, arrays, _ = f.advance_all(until)
    assert f.now_us == until
    for batch in (points, texts, arrays):
        assert np.all(batch.quality == Quality.GOOD)
    for ref in plant.iter_signals():
        sid = ids[ref.path]
        period = round(ref.signal.sample_s * S)
        expected = np.arange(-(-start // period), -(-until // period)) * period
        if ref.signal.kind == "text":
            text = texts.take(texts.signal_id == sid)
            assert all(isinstance(s, str) and s for s in text.text), ref.path
            ts = text.ts
        elif ref.signal.kind == "array":
            array = arrays.take(arrays.signal_id == sid)
            assert np.all(array.lengths == ref.signal.length), ref.path
            assert np.all(np.isfinite(array.values)) and np.all(array.values >= 0), ref.path
            ts = array.ts
        else:
            number = points.take(points.signal_id == sid)
            assert np.all(np.isfinite(number.value))
            ts = number.ts
        assert np.array_equal(ts, expected), ref.path
    for earlier in (until, start):
        again = f.advance_all(earlier)
        sizes = (len(again.points), len(again.texts), len(again.arrays), len(again.failures))
        assert (sizes, f.now_us) == ((0, 0, 0, 0), until)
        points_again, events_again = f.advance(earlier)
        assert (len(points_again), len(events_again), f.now_us) == (0, 0, until)


def test_each_kind_comes_in_signal_id_and_time_order() -> None:
    # Sample periods of a machine's signals interleave with their ids (grid by grid, the ids
    # would come out of order): the stores and the writer take the batch without a sort.
    plant, ids = build_plant(EVERY_MODEL, sample_s=odd_rates, others=True)
    done = VirtualFactory(plant, ids, seed=1, start_us=TUESDAY).advance_all(TUESDAY + HOUR)
    for batch in (done.points, done.texts, done.arrays):
        assert len(batch) and np.array_equal(
            np.lexsort((batch.ts, batch.signal_id)), np.arange(len(batch))
        ), type(batch).__name__


def test_output_does_not_depend_on_how_time_is_chunked() -> None:
    plant, ids = build_plant(EVERY_MODEL, sample_s=odd_rates, others=True)
    start, until = TUESDAY + 123, TUESDAY + 2 * DAY
    once = VirtualFactory(plant, ids, seed=5, start_us=start)
    points, texts, arrays, events = once.advance_all(until)
    assert len(events) >= 1  # failures are part of what must not depend on chunking

    chunked = VirtualFactory(plant, ids, seed=5, start_us=start)
    rng = np.random.default_rng(0)
    steps = np.concatenate(
        [rng.exponential(20 * 60 * S, 120), [0, 1, 300_000, 499_999, 500_001], rng.random(30) * S]
    )
    rng.shuffle(steps)
    parts, t = [], start
    for step in [*steps, until]:
        t = min(until, t + int(step))
        parts.append(chunked.advance_all(t))
    event_parts = [p.failures for p in parts]

    a, b = by_signal(points), by_signal(PointBatch.concat([p.points for p in parts]))
    for col in ("ts", "signal_id", "value", "quality"):
        assert np.array_equal(getattr(a, col), getattr(b, col)), col
    joined_texts = TextBatch.concat([p.texts for p in parts])
    order = np.argsort(joined_texts.signal_id, kind="stable")
    assert np.array_equal(texts.text[np.argsort(texts.signal_id, kind="stable")],
                          joined_texts.text[order])  # fmt: skip
    joined_arrays = ArrayBatch.concat([p.arrays for p in parts])
    a_arr = arrays.take(np.argsort(arrays.signal_id, kind="stable"))
    b_arr = joined_arrays.take(np.argsort(joined_arrays.signal_id, kind="stable"))
    for col in ("ts", "signal_id", "values", "offsets"):
        assert np.array_equal(getattr(a_arr, col), getattr(b_arr, col)), col
    joined = EventBatch.concat(event_parts)
    for col in ("ts", "equipment", "kind", "code", "value", "detail"):
        assert np.array_equal(getattr(events, col), getattr(joined, col)), col
    assert once.ground_truth == chunked.ground_truth


def test_the_seed_decides_the_output() -> None:
    plant, ids = build_plant(EVERY_MODEL, sample_s=lambda q: 10.0)

    def run(seed: int) -> PointBatch:
        return VirtualFactory(plant, ids, seed=seed, start_us=TUESDAY).advance(TUESDAY + 4 * HOUR)[
            0
        ]

    a, b, c = run(1), run(1), run(2)
    assert np.array_equal(a.value, b.value)
    assert not np.array_equal(a.value, c.value)


# --- ground truth -------------------------------------------------------------------------------


def test_failures_are_events_ground_truth_and_visible_in_the_signals() -> None:
    plant, ids = build_plant(
        {"cnc": 2}, sample_s=lambda q: 10.0, quantities=lambda q: q in ("state", "fault_code")
    )
    f = VirtualFactory(plant, ids, seed=3, start_us=MONDAY)
    points, events = f.advance(MONDAY + 14 * DAY)
    truth = f.ground_truth
    assert len(truth) >= 3
    assert [x.failure_us for x in truth] == sorted(x.failure_us for x in truth)
    assert len(events) == len(truth)
    assert set(events.kind) == {EventKind.FAILURE}
    for x, ts, eq, code, value, detail in zip(
        truth, events.ts, events.equipment, events.code, events.value, events.detail, strict=True
    ):
        assert (ts, eq, code) == (x.failure_us, x.equipment, x.mode)
        assert value == (x.failure_us - x.onset_us) / S
        assert str(x.fault_code) in detail
        _, state = series(points, ids[f"{x.equipment}/state"])
        ts_f, fault = series(points, ids[f"{x.equipment}/fault_code"])
        down = (ts_f >= x.failure_us) & (ts_f < min(x.repaired_us, MONDAY + 14 * DAY))
        assert np.all(fault[down] == x.fault_code)
        assert np.all(state[down] == CODE["unplanned_down"])
        assert fault[np.searchsorted(ts_f, x.failure_us) - 1] != x.fault_code


def test_ground_truth_only_holds_the_past() -> None:
    plant, ids = build_plant({"cnc": 1}, sample_s=lambda q: 60.0, quantities=lambda q: q == "state")
    f = VirtualFactory(plant, ids, seed=3, start_us=MONDAY)
    f.advance(MONDAY + 14 * DAY)
    first = f.ground_truth[0]
    g = VirtualFactory(plant, ids, seed=3, start_us=MONDAY)
    g.advance(first.failure_us)
    assert g.ground_truth == []
    _, events = g.advance(first.failure_us + 1)
    assert g.ground_truth == [first] and events.ts.tolist() == [first.failure_us]


def test_vibration_rises_with_bearing_wear_before_a_bearing_failure() -> None:
    plant, ids = build_plant(
        {"cnc": 1}, sample_s=lambda q: 30.0, quantities=lambda q: q in ("state", "vibration")
    )
    f = VirtualFactory(plant, ids, seed=4, start_us=MONDAY)
    chunks = []
    while not any(x.mode == "spindle_bearing_wear" for x in f.ground_truth):
        assert f.now_us < MONDAY + 60 * DAY
        chunks.append(f.advance(f.now_us + 7 * DAY)[0])
    points = PointBatch.concat(chunks)
    bearing = next(x for x in f.ground_truth if x.mode == "spindle_bearing_wear")
    ts, vibration = series(points, ids["site/a/cnc/cell/cnc-0/vibration"])
    _, state = series(points, ids["site/a/cnc/cell/cnc-0/state"])
    pf = bearing.failure_us - bearing.onset_us
    window = (ts >= bearing.onset_us - pf) & (ts < bearing.failure_us) & (state == CODE["running"])
    progress = np.clip((ts[window] - bearing.onset_us) / pf, 0, 1)  # stands in for the wear
    assert np.corrcoef(progress, vibration[window])[0, 1] > 0.5
    healthy, failing = vibration[window][progress == 0], vibration[window][progress > 0.9]
    assert failing.mean() > healthy.mean() + 2  # mm/s


# --- a day of a whole plant ---------------------------------------------------------------------

PLANT = {"cnc": 6, "press": 4, "assembly": 5, "packaging": 5}
KEEP = {"state", "good_count", "scrap_count", "energy", "power", "spindle_power", "spindle_temp"}


@dataclass
class Day:
    plant: Plant
    ids: dict[str, int]
    count: np.ndarray  # per signal id
    low: np.ndarray
    high: np.ndarray
    kept: dict[str, np.ndarray]  # path -> values of the KEEP quantities


@pytest.fixture(scope="module")
def day() -> Day:
    plant, ids = build_plant(PLANT)
    n = len(ids)
    count, low, high = np.zeros(n, np.int64), np.full(n, np.inf), np.full(n, -np.inf)
    path = {i: p for p, i in ids.items()}
    kept: dict[str, list[np.ndarray]] = defaultdict(list)
    f = VirtualFactory(plant, ids, seed=11, start_us=TUESDAY)
    wall, cpu, points = time.perf_counter(), time.process_time(), 0
    for hour in range(1, 25):
        batch, _ = f.advance(TUESDAY + hour * HOUR)
        points += len(batch)
        sid, v = batch.signal_id, batch.value
        starts = np.flatnonzero(np.diff(sid, prepend=-1))  # the batch comes grouped by signal
        ends = np.append(starts[1:], len(sid))
        for a, b in zip(starts, ends, strict=True):
            i = int(sid[a])
            count[i] += b - a
            low[i] = min(low[i], v[a:b].min())
            high[i] = max(high[i], v[a:b].max())
            if path[i].rsplit("/", 1)[1] in KEEP:
                kept[path[i]].append(v[a:b])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"\n1 plant-day, {len(list(plant.iter_equipment()))} machines, {n} signals: "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU, {points / 1e6:.1f} M points, "
        f"{points / wall / 1e6:.1f} M points/s, {DAY / S / wall:.0f}x real time"
    )
    return Day(plant, ids, count, low, high, {p: np.concatenate(v) for p, v in kept.items()})


def test_day_every_signal_at_its_rate(day: Day) -> None:
    for ref in day.plant.iter_signals():
        assert day.count[day.ids[ref.path]] == DAY / S / ref.signal.sample_s, ref.path


def test_day_values_in_plausible_ranges(day: Day) -> None:
    for ref in day.plant.iter_signals():
        i, (lo, hi) = day.ids[ref.path], QUANTITIES[ref.signal.name][1]
        assert lo <= day.low[i] <= day.high[i] <= hi, ref.path


def test_day_availability_and_scrap(day: Day) -> None:
    states = np.concatenate([v for p, v in day.kept.items() if p.endswith("/state")])
    planned = np.isin(states, [CODE["off"], CODE["planned_stop"]])
    availability = np.mean(states[~planned] == CODE["running"])
    good = sum(v[-1] - v[0] for p, v in day.kept.items() if p.endswith("/good_count"))
    scrap = sum(v[-1] - v[0] for p, v in day.kept.items() if p.endswith("/scrap_count"))
    print(f"\navailability {availability:.1%}, scrap {scrap / (good + scrap):.2%}")
    assert 0.6 < availability < 0.95
    assert 0.005 < scrap / (good + scrap) < 0.1


def test_day_counters_and_energy_never_decrease_and_energy_integrates_power(day: Day) -> None:
    for p, v in day.kept.items():
        if p.endswith(("/good_count", "/scrap_count", "/energy")):
            assert np.all(np.diff(v) >= 0), p
        if p.endswith("/energy"):
            power = day.kept[p.replace("/energy", "/power")]  # kW every second
            assert v[-1] - v[0] == pytest.approx(power.sum() / 3600, rel=0.02), p


def test_day_temperature_lags_power(day: Day) -> None:
    """When a machine stops for a break its spindle power drops at once, while the spindle cools
    over many minutes: a minute in, the power has made all of its change, the temperature little."""
    power_share, temp_share = [], []
    for p, state in day.kept.items():
        if not (p.endswith("/state") and "/cnc-" in p):
            continue
        power = day.kept[p.replace("/state", "/spindle_power")]  # every 1 s
        temp = day.kept[p.replace("/state", "/spindle_temp")]  # every 5 s
        stops = (
            np.flatnonzero((state[:-1] == CODE["running"]) & (state[1:] == CODE["planned_stop"]))
            + 1
        )
        for t in stops:
            if t + 1500 > len(state) or np.any(state[t : t + 1500] != CODE["planned_stop"]):
                continue  # only breaks long enough to cool down
            before, after_1, after_25 = power[t - 600 : t].mean(), power[t + 60], power[t + 1490]
            power_share.append((before - after_1) / (before - after_25))
            k = t // 5
            before, after_1, after_25 = temp[k - 1], temp[k + 12], temp[k + 298]
            temp_share.append((before - after_1) / (before - after_25))
    assert len(power_share) >= 6
    assert np.median(power_share) > 0.9
    assert np.median(temp_share) < 0.2


def test_week_every_state_on_every_machine() -> None:
    plant, ids = build_plant(
        EVERY_MODEL, sample_s=lambda q: 20.0, quantities=lambda q: q == "state"
    )
    points, _ = VirtualFactory(plant, ids, seed=2, start_us=MONDAY).advance(MONDAY + 7 * DAY)
    for sid in ids.values():
        assert set(series(points, sid)[1].tolist()) == set(DEFAULT_STATES)


def test_plc_bits_follow_the_state_and_fault_code() -> None:
    # running, faulted and auto_mode are what a PLC shows as discrete inputs and coils: exact
    # functions of the machine's state and fault code, sampled on the same grid.
    names = ["state", "fault_code", "running", "faulted", "auto_mode"]
    plant = one_machine({"model": "press", "signals": [signal(n, n) for n in names]})
    ids = {f"s/a/l/c/m/{n}": i for i, n in enumerate(names)}
    points, _ = VirtualFactory(plant, ids, seed=3, start_us=MONDAY).advance(MONDAY + 7 * DAY)
    state, fault, running, faulted, auto = (series(points, i)[1] for i in range(5))
    codes = {name: code for code, name in DEFAULT_STATES.items()}
    assert np.array_equal(running, state == codes["running"]) and running.any()
    assert np.array_equal(faulted, fault != 0) and faulted.any()
    assert np.array_equal(auto, state != codes["off"]) and not auto.all()
