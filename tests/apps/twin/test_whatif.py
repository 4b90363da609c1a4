import pytest
from scipy import stats

from smartfab.apps.twin.model import Buffer, Calendar, Dist, LineTwin, Station, TwinError
from smartfab.apps.twin.whatif import (
    Change,
    Experiment,
    apply_changes,
    confidence_interval,
    run_experiment,
)

ALWAYS = Calendar(week=["Mon 00:00-24:00 production", "Tue 00:00-24:00 production"])


def line() -> LineTwin:
    return LineTwin(
        line="a/b/c",
        stations=[
            Station(name=n, ideal_cycle_s=c, cycle_s=Dist(mean=c, cv=0.3))
            for n, c in (("s1", 20.0), ("s2", 40.0), ("s3", 25.0))
        ],
        buffers=[Buffer(capacity=2), Buffer(capacity=2)],
        calendar=ALWAYS,
    )


def test_confidence_interval_uses_student_t() -> None:
    values = [10.0, 12.0, 11.0, 13.0, 9.0]
    ci = confidence_interval(values)
    mean, sem = sum(values) / 5, stats.sem(values)
    low, high = stats.t.interval(0.95, 4, loc=mean, scale=sem)
    assert (ci.low, ci.high) == pytest.approx((low, high))
    with pytest.raises(ValueError):
        confidence_interval([1.0])


def test_changes_apply_and_are_checked() -> None:
    base = line()
    changed = apply_changes(base, [
        Change(kind="cycle_time", station="s2", factor=0.5),
        Change(kind="buffer", station="s1", amount=3),
        Change(kind="machine", station="s3"),
        Change(kind="shift", window="Wed 06:00-14:00 production"),
    ])  # fmt: skip
    assert changed.stations[1].cycle_s.mean == 20.0
    assert changed.buffers[0].capacity == 5
    assert changed.stations[2].machines == 2
    assert len(changed.calendar.week) == 3
    assert base.stations[1].cycle_s.mean == 40.0  # untouched
    with pytest.raises(TwinError):
        apply_changes(base, [Change(kind="buffer", station="s3")])
    with pytest.raises(ValueError):
        apply_changes(base, [Change(kind="shift", window="Mon 10:00-12:00 production")])


def test_speeding_up_the_bottleneck_raises_throughput_and_moves_the_bottleneck() -> None:
    exp = Experiment(
        changes=[Change(kind="machine", station="s2")],
        horizon_days=2, warmup_days=0.1, replications=4, workers=2,
    )  # fmt: skip
    r = run_experiment(line(), exp)
    assert r.baseline.bottleneck == "s2"
    assert r.scenario.bottleneck in ("s1", "s3")
    assert r.scenario.throughput_per_h.low > r.baseline.throughput_per_h.high
    assert r.baseline.throughput_per_h.mean == pytest.approx(3600 / 40, rel=0.1)
    d = r.to_dict()
    assert d["scenario"]["wip"]["n"] == 4
