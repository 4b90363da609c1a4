import numpy as np
import pytest

from smartfab.apps.twin.bottleneck import active_period_shares
from smartfab.apps.twin.model import Buffer, Calendar, Dist, LineTwin, Station
from smartfab.apps.twin.sim import simulate


def periods(*pairs: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([p[0] for p in pairs], float), np.array([p[1] for p in pairs], float)


def test_hand_computed_sole_and_shifting_shares() -> None:
    # A active 0-6, B active 4-10: A's period (6) is longer until B's (6) ... equal: A holds
    # the overlap 4-6 (ties go to the first), then B alone 6-10. Overlap 4-6 is shifting.
    shares = active_period_shares(["A", "B"], [periods((0, 6)), periods((4, 10))], 0.0, 10.0)
    assert shares.shifting == pytest.approx([0.2, 0.2])
    assert shares.sole == pytest.approx([0.4, 0.4])
    # C is active in short bursts only and never the bottleneck.
    shares = active_period_shares(
        ["A", "C"], [periods((0, 8)), periods((1, 2), (3, 4), (9, 10))], 0.0, 10.0
    )
    assert shares.bottleneck == "A"
    assert shares.sole[0] == pytest.approx(0.8)
    assert shares.sole[1] == pytest.approx(0.1)


def test_equally_long_periods_are_shifting_not_the_first_stations() -> None:
    # A and B never wait, each working the whole window: neither is the sole bottleneck.
    shares = active_period_shares(["A", "B"], [periods((0, 10)), periods((0, 10))], 0.0, 10.0)
    assert shares.sole == pytest.approx([0.0, 0.0])
    assert shares.shifting == pytest.approx([1.0, 1.0])
    # A 0-10 and B 2-12 are equally long: A alone until B starts, both while both are active,
    # B alone after A stops; the overlap is counted once.
    shares = active_period_shares(["A", "B"], [periods((0, 10)), periods((2, 12))], 0.0, 12.0)
    assert shares.sole == pytest.approx([2 / 12, 2 / 12])
    assert shares.shifting == pytest.approx([8 / 12, 8 / 12])


def test_a_station_never_active_in_the_window_has_no_share() -> None:
    # D works only outside the window (a twin calibrated on another weekday, say).
    shares = active_period_shares(["A", "D"], [periods((0, 10)), periods((20, 30))], 0.0, 10.0)
    assert shares.bottleneck == "A"
    assert shares.sole == pytest.approx([1.0, 0.0])
    assert shares.shifting == pytest.approx([0.0, 0.0])


def test_obvious_bottleneck_of_a_simulated_line() -> None:
    always = Calendar(
        week=[
            f"{d} 00:00-24:00 production" for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        ]
    )
    line = LineTwin(
        line="a/b/c",
        stations=[
            Station(name=n, ideal_cycle_s=c, cycle_s=Dist(mean=c, cv=0.2))
            for n, c in (("s1", 10.0), ("s2", 14.0), ("s3", 25.0), ("s4", 12.0))
        ],
        buffers=[Buffer(capacity=3) for _ in range(3)],
        calendar=always,
    )
    r = simulate(line, 50_000.0, seed=2, warmup_s=1000, record_activity=True)
    assert r.activity is not None
    shares = active_period_shares([s.name for s in line.stations], r.activity, 1000, 50_000)
    assert shares.bottleneck == "s3"
    assert shares.total[2] > 0.8
