from __future__ import annotations

import numpy as np

from smartfab.apps.monitoring.alarms.evaluate import Conditions, Evaluator
from smartfab.platform.points import PointBatch, Quality
from tests.apps.monitoring.alarms.conftest import EQ, T0, S, table

TEMP = 2


def series(seconds: list[float], values: list[float], sid: int = TEMP) -> PointBatch:
    return PointBatch.of([T0 + int(s * S) for s in seconds], sid, values)


def changes(c: Conditions) -> list[tuple[float, bool]]:
    return [((t - T0) / S, bool(a)) for t, a in zip(c.ts, c.active, strict=True)]


def test_high_limit_with_deadband_does_not_chatter() -> None:
    ev = Evaluator(table({"high": {"limit": 80, "deadband": 2}}))
    got = ev.evaluate(series([0, 1, 2, 3, 4, 5, 6], [70, 81, 79, 78.5, 80.5, 78, 82]))
    # Active at 81; 79, 78.5 and 80.5 stay inside the deadband (reset only at <= 78); 82 again.
    assert changes(got) == [(1, True), (5, False), (6, True)]
    assert got.value.tolist() == [81, 78, 82]


def test_on_delay_needs_the_condition_to_hold_without_interruption() -> None:
    ev = Evaluator(table({"high": {"limit": 80, "delay_s": 10}}))
    got = ev.evaluate(series([0, 5, 10, 12, 20, 31, 40], [90, 90, 70, 90, 90, 90, 70]))
    # The first excursion (0-10 s) ends before 10 s have passed; the second starts at 12 and is
    # still there at 31 (19 s later), the first sample past the delay.
    assert changes(got) == [(31, True), (40, False)]


def test_splitting_a_series_into_batches_changes_nothing() -> None:
    rules = {"high": {"limit": 80, "deadband": 2, "delay_s": 10}, "rate": {"limit": 30, "per_s": 1}}
    secs = list(range(0, 60, 2))
    rng = np.random.default_rng(1)
    vals = (80 + np.cumsum(rng.normal(0, 3, len(secs)))).tolist()
    whole = Evaluator(table(rules)).evaluate(series(secs, vals))
    ev = Evaluator(table(rules))
    parts = [ev.evaluate(series(secs[i : i + 7], vals[i : i + 7])) for i in range(0, len(secs), 7)]
    joined = Conditions.concat(parts)
    assert len(whole) > 0
    assert changes(joined) == changes(whole)
    assert joined.alarm.tolist() == whole.alarm.tolist()


def test_low_and_low_low() -> None:
    ev = Evaluator(table({"low": {"limit": 10, "deadband": 1}, "low_low": {"limit": 5}}))
    got = ev.evaluate(series([0, 1, 2, 3, 4], [12, 9, 4, 10.5, 11]))
    ids = [ev.table.alarms[a].id.rsplit(":", 1)[1] for a in got.alarm]
    assert list(zip(ids, changes(got), strict=True)) == [
        ("low", (1, True)), ("low_low", (2, True)), ("low_low", (3, False)), ("low", (4, False)),
    ]  # fmt: skip


def test_rate_of_change_per_interval() -> None:
    ev = Evaluator(table({"rate": {"limit": 6, "per_s": 60}}))  # 6 degC per minute
    # 0.05/s = 3/min, then 0.2/s = 12/min, then flat
    got = ev.evaluate(series([0, 10, 20, 30, 40], [20, 20.5, 22.5, 24.5, 24.5]))
    assert changes(got) == [(20, True), (40, False)]


def test_machine_state_and_fault_codes() -> None:
    ev = Evaluator(
        table(
            equipment={"states": {"unplanned_down": {"delay_s": 5}}, "faults": {"priority": "high"}}
        )
    )
    states = series([0, 1, 7, 8], [1, 5, 5, 1], sid=0)  # running, down (6 s), running
    faults = series([0, 1, 3, 8], [0, 7, 9, 0], sid=1)
    got = ev.evaluate(PointBatch.concat([states, faults]))
    ids = [ev.table.alarms[a].id for a in got.alarm]
    assert list(zip(ids, changes(got), strict=True)) == [
        (f"{EQ}:fault:7", (1, True)), (f"{EQ}:fault:7", (3, False)), (f"{EQ}:fault:9", (3, True)),
        (f"{EQ}:state:unplanned_down", (7, True)), (f"{EQ}:state:unplanned_down", (8, False)),
        (f"{EQ}:fault:9", (8, False)),
    ]  # fmt: skip


def test_stale_from_a_gap_and_from_the_timer() -> None:
    ev = Evaluator(table({"stale": {"after_s": 30}}), origin_us=T0)
    got = ev.evaluate(series([0, 10, 50, 60], [1, 2, 3, 4]))
    assert changes(got) == [(40, True), (50, False)]  # no sample from 10 to 50 s
    assert len(ev.check(T0 + 80 * S)) == 0  # 20 s after the last sample: fine
    due = ev.check(T0 + 91 * S)
    assert changes(due) == [(90, True)]
    assert len(ev.check(T0 + 95 * S)) == 0  # raised once
    assert changes(ev.evaluate(series([100], [5]))) == [(100, False)]


def test_a_signal_that_never_reports_is_stale_from_the_start() -> None:
    ev = Evaluator(table({"stale": {"after_s": 30}}), origin_us=T0)
    assert changes(ev.check(T0 + 31 * S)) == [(30, True)]


def test_flatline() -> None:
    ev = Evaluator(table({"flatline": {"after_s": 20, "tolerance": 0.01}}))
    got = ev.evaluate(series([0, 10, 20, 25, 30, 40], [5, 5.005, 5.01, 5.0, 6, 6]))
    # unchanged (within 0.01) from 0 s: frozen at 20 s, moves at 30 s
    assert changes(got) == [(20, True), (30, False)]
    # reported by exception: nothing comes while frozen; the timer notices.
    assert changes(ev.check(T0 + 51 * S)) == [(50, True)]


def test_bad_points_late_points_and_unknown_signals_are_not_evaluated() -> None:
    ev = Evaluator(table({"high": {"limit": 80}}))
    bad = PointBatch.of([T0, T0 + S], TEMP, [np.nan, 90], [Quality.GOOD, Quality.BAD])
    assert len(ev.evaluate(bad)) == 0
    assert len(ev.evaluate(PointBatch.of(T0, 99, 1000.0))) == 0
    assert changes(ev.evaluate(series([5], [90]))) == [(5, True)]
    assert len(ev.evaluate(series([3], [10]))) == 0  # older than what was evaluated: ignored


def test_prime_lets_a_replayed_active_alarm_clear() -> None:
    ev = Evaluator(table({"high": {"limit": 80, "delay_s": 60}}))
    ev.prime(np.array([True]))
    assert changes(ev.evaluate(series([0, 1], [85, 70]))) == [(1, False)]
