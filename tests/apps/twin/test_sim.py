import math

import pytest

from smartfab.apps.twin.model import Buffer, Calendar, Dist, LineTwin, Setup, Station, Stop
from smartfab.apps.twin.sim import simulate

ALWAYS = Calendar(week=[f"{d} 00:00-24:00 production" for d in
                        ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")])  # fmt: skip


def station(name: str, cycle: float, **kw: object) -> Station:
    return Station(name=name, ideal_cycle_s=cycle, cycle_s=Dist(mean=cycle), **kw)  # type: ignore[arg-type]


def test_single_deterministic_station_makes_exactly_horizon_over_cycle() -> None:
    line = LineTwin(line="a/b/c", stations=[station("s", 10.0)], buffers=[], calendar=ALWAYS)
    r = simulate(line, 10_000.0)
    # Parts finished in [0, 10000): at 10, 20, ..., 9990; the one at 10000 is past the horizon.
    assert r.good_out == 999
    assert r.stations[0].state_s["running"] == pytest.approx(10_000.0)
    assert r.lead_time_s == pytest.approx(10.0)


def test_slowest_station_sets_the_pace_and_others_wait() -> None:
    line = LineTwin(
        line="a/b/c",
        stations=[station("fast", 5.0), station("slow", 20.0), station("end", 5.0)],
        buffers=[Buffer(capacity=2), Buffer(capacity=2)],
        calendar=ALWAYS,
    )
    r = simulate(line, 20_000.0)
    assert r.good_out in (998, 999)  # one part is in each of the first stations' pipelines
    fast, _, end = r.stations
    assert fast.state_s["blocked"] > 0.7 * 20_000
    assert end.state_s["starved"] > 0.7 * 20_000


def test_calendar_allows_production_only_in_its_windows() -> None:
    cal = Calendar(week=["Mon 06:00-14:00 production", "Mon 14:00-14:30 planned_stop"])
    line = LineTwin(line="a/b/c", stations=[station("s", 60.0)], buffers=[], calendar=cal)
    r = simulate(line, 7 * 86_400.0)
    assert r.good_out == 8 * 60
    s = r.stations[0].state_s
    assert s["planned_stop"] == pytest.approx(1800)
    assert s["off"] == pytest.approx(7 * 86_400 - 8 * 3600 - 1800)


def test_two_stations_with_failures_match_the_analytic_availability() -> None:
    # Operation-dependent failures: availability = MTBF / (MTBF + MTTR) per machine; with big
    # buffers the line output is set by the slower availability-adjusted rate.
    stops = [Stop(name="f", mtbf_h=2.0, duration_s=Dist(mean=1800, cv=1.0))]
    line = LineTwin(
        line="a/b/c",
        stations=[station("a", 30.0, stops=stops), station("b", 30.0, stops=stops)],
        buffers=[Buffer(capacity=100_000, initial=50_000)],
        calendar=ALWAYS,
    )
    horizon = 200 * 86_400.0
    r = simulate(line, horizon, seed=3)
    availability = 2.0 / (2.0 + 0.5)
    for st in r.stations:
        assert st.state_s["running"] / horizon == pytest.approx(availability, rel=0.03)
    assert r.good_out == pytest.approx(horizon / 30 * availability, rel=0.03)


def test_setups_follow_lots_and_scrap_leaves_the_line() -> None:
    s = station(
        "s", 10.0, scrap=0.1,
        setup=Setup(lot_parts=Dist(mean=100), duration_s=Dist(mean=500)),
    )  # fmt: skip
    line = LineTwin(line="a/b/c", stations=[s], buffers=[], calendar=ALWAYS)
    r = simulate(line, 150_000.0, seed=1)
    st = r.stations[0]
    # Each lot: 100 cycles of 10 s and a 500 s setup -> 1500 s per 100 parts.
    assert st.produced == pytest.approx(10_000, abs=100)
    assert st.state_s["setup"] == pytest.approx(150_000 / 3, rel=0.02)
    assert st.scrap / st.produced == pytest.approx(0.1, abs=0.01)
    assert r.good_out == st.good


def test_parallel_machine_doubles_a_bottleneck_and_runs_are_reproducible() -> None:
    def line(machines: int) -> LineTwin:
        return LineTwin(
            line="a/b/c",
            stations=[station("a", 10.0), station("b", 20.0).model_copy(
                update={"machines": machines}
            )],
            buffers=[Buffer(capacity=5)],
            calendar=ALWAYS,
        )  # fmt: skip

    one, two = simulate(line(1), 20_000.0), simulate(line(2), 20_000.0)
    assert two.good_out == pytest.approx(2 * one.good_out, abs=2)
    cv = LineTwin(
        line="a/b/c", stations=[Station(name="s", ideal_cycle_s=1, cycle_s=Dist(mean=1, cv=0.5))],
        buffers=[], calendar=ALWAYS,
    )  # fmt: skip
    assert simulate(cv, 1000, seed=5).good_out == simulate(cv, 1000, seed=5).good_out
    assert not math.isnan(one.wip)


def test_warmup_is_not_measured() -> None:
    line = LineTwin(line="a/b/c", stations=[station("s", 10.0)], buffers=[], calendar=ALWAYS)
    r = simulate(line, 10_000.0, warmup_s=5_000.0)
    assert r.seconds == 5_000.0
    assert r.good_out == 500
