import pytest
from scipy import stats

from smartfab.apps.twin.model import Buffer, Calendar, Dist, LineTwin, Station, TwinError
from smartfab.apps.twin.sim import simulate
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


def cnc_line(cv: float) -> LineTwin:
    # The demo's first machining line from its design data (cv 0) or with some spread, on the
    # design calendar: three shifts on weekdays, nights and weekends off.
    return LineTwin(
        line="shenyang/machining/cnc-line-1",
        stations=[
            Station(name=n, ideal_cycle_s=c, cycle_s=Dist(mean=c, cv=cv))
            for n, c in (
                ("cnc-01", 62.0),
                ("cnc-02", 58.0),
                ("cnc-03", 85.0),
                ("cnc-04", 45.0),
                ("cnc-05", 74.0),
            )
        ],
        buffers=[Buffer(capacity=10) for _ in range(4)],
    )


@pytest.mark.parametrize("cv", [0.0, 0.1])
def test_a_second_machine_at_the_bottleneck_moves_it(cv: float) -> None:
    # cnc-03 (85 s) limits the line; with two machines it makes a part every 42.5 s and cnc-05
    # (74 s) limits it instead. A station whose machines are not all busy has spare capacity: it
    # must not keep its bottleneck share because one of its two machines is always at work.
    exp = Experiment(
        changes=[Change(kind="machine", station="cnc-03")],
        horizon_days=7, warmup_days=1, replications=3, workers=1,
    )  # fmt: skip
    r = run_experiment(cnc_line(cv), exp)
    assert r.baseline.bottleneck == "cnc-03"
    assert r.scenario.bottleneck == "cnc-05"
    base, changed = r.baseline.bottleneck_shares, r.scenario.bottleneck_shares
    assert changed["cnc-03"]["total"] < base["cnc-03"]["total"] / 4
    assert changed["cnc-05"]["total"] > 4 * base["cnc-05"]["total"]
    assert r.scenario.throughput_per_h.low > r.baseline.throughput_per_h.high * 1.1
    assert not r.throughput_unchanged


def test_intervals_have_width_exactly_when_the_twin_is_random() -> None:
    exp = Experiment(
        changes=[Change(kind="cycle_time", station="cnc-03", factor=0.9)],
        horizon_days=3, warmup_days=0.5, replications=4, workers=1,
    )  # fmt: skip
    random_line = run_experiment(cnc_line(0.2), exp)
    assert not random_line.deterministic
    for res in (random_line.baseline, random_line.scenario):
        for est in (res.throughput_per_h, res.lead_time_h, res.wip):
            assert est.n == 4 and est.half_width > 0 and est.low < est.mean < est.high
    # The design data: every replication is the same run, and the result says so.
    fixed = run_experiment(cnc_line(0.0), exp)
    assert fixed.deterministic and fixed.to_dict()["deterministic"] is True
    assert fixed.baseline.throughput_per_h.half_width == 0


def test_common_random_numbers_survive_a_machine_added_elsewhere() -> None:
    # s2 never starves (a large initial buffer) and never blocks (the last station): what it
    # does depends on its own random numbers only. A machine added at s1 must leave them alone,
    # or a scenario's difference from the baseline is blurred by reshuffled draws.
    twin = LineTwin(
        line="a/b/c",
        stations=[
            Station(name="s1", ideal_cycle_s=10.0, cycle_s=Dist(mean=10.0, cv=0.3)),
            Station(name="s2", ideal_cycle_s=20.0, cycle_s=Dist(mean=20.0, cv=0.3), scrap=0.05),
        ],
        buffers=[Buffer(capacity=10_000, initial=5_000)],
        calendar=ALWAYS,
    )
    changed = apply_changes(twin, [Change(kind="machine", station="s1")])
    a = simulate(twin, 40_000.0, seed=3)
    b = simulate(changed, 40_000.0, seed=3)
    assert a.stations[0].produced != b.stations[0].produced  # the change did something
    assert (a.stations[1].good, a.stations[1].scrap) == (b.stations[1].good, b.stations[1].scrap)
    assert a.stations[1].state_s == b.stations[1].state_s
    # An experiment says so: the change did not reach the line's output.
    exp = Experiment(
        changes=[Change(kind="machine", station="s1")],
        horizon_days=0.4, warmup_days=0.05, replications=2, workers=1,
    )  # fmt: skip
    r = run_experiment(twin, exp)
    assert r.throughput_unchanged and not r.deterministic
    assert r.scenario.wip.mean > r.baseline.wip.mean
