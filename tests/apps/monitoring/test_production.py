"""Production figures of assets over the demo plant's six stored hours (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from smartfab.apps.monitoring.oee import combine
from smartfab.apps.monitoring.production import AssetError, asset_oee, periods
from smartfab.model.plant import Plant
from smartfab.platform.store.duckdb import DuckDBStore
from tests.conftest import FILLED_END_US, FILLED_START_US

LINE = "shenyang/machining/cnc-line-1"
HOUR = 3_600_000_000


@pytest.fixture(scope="module")
def store(filled_store: Path) -> Iterator[DuckDBStore]:
    with DuckDBStore(filled_store) as s:
        yield s


def test_a_line_is_the_sum_of_its_equipment(store: DuckDBStore, demo_plant: Plant) -> None:
    line = asset_oee(store, demo_plant, LINE, FILLED_START_US, FILLED_END_US)
    assert line.equipment and all(p.startswith(LINE + "/") for p in line.equipment)
    again = combine(list(line.equipment.values()))
    np.testing.assert_allclose(line.figures.oee, again.oee)
    assert line.figures.good[0] == sum(f.good[0] for f in line.equipment.values()) > 0


def test_the_site_combines_every_line(store: DuckDBStore, demo_plant: Plant) -> None:
    site = asset_oee(store, demo_plant, "shenyang", FILLED_START_US, FILLED_END_US)
    line = asset_oee(store, demo_plant, LINE, FILLED_START_US, FILLED_END_US)
    assert set(line.equipment) < set(site.equipment)
    assert 0 < site.figures.oee[0] < 1


def test_shifts_come_from_the_plant_file_and_their_breaks_are_planned_down_time(
    store: DuckDBStore, demo_plant: Plant
) -> None:
    # 06:00-12:00 UTC is 14:00-20:00 in Shenyang: the first six hours of the late shift, with its
    # 10-minute handover at 14:00 and its meal break 18:00-18:30.
    line = asset_oee(store, demo_plant, LINE, FILLED_START_US, FILLED_END_US, by="shift")
    assert line.periods.label.tolist() == ["2026-11-17 late"]
    for figures in line.equipment.values():
        assert figures.planned_down_s[0] >= 40 * 60
    days = periods(demo_plant, LINE, FILLED_START_US, FILLED_END_US, "day")
    assert days.label.tolist() == ["2026-11-17"]


def test_assets_without_figures_are_refused_with_the_reason(
    store: DuckDBStore, demo_plant: Plant
) -> None:
    with pytest.raises(AssetError, match="no equipment at or below 'shenyang/nowhere'"):
        asset_oee(store, demo_plant, "shenyang/nowhere", FILLED_START_US, FILLED_END_US)
    with pytest.raises(AssetError, match="must end after it starts"):
        asset_oee(store, demo_plant, LINE, FILLED_END_US, FILLED_START_US)


def test_per_shift_without_shifts_in_the_plant_file_means_the_common_three() -> None:
    from tests.apps.monitoring.alarms.conftest import plant

    day = periods(plant(), "site/area/line", FILLED_START_US, FILLED_START_US + 24 * HOUR, "shift")
    # The plant's site is in UTC: the window 06:00-06:00 holds one of each.
    assert [label.split(" ")[1] for label in day.label.tolist()] == ["early", "late", "night"]


def test_a_shift_is_cut_at_now_and_the_time_after_the_data_is_unknown(
    store: DuckDBStore, demo_plant: Plant
) -> None:
    # The late shift is 06:00-14:00 UTC; the store's data ends at 12:00 (FILLED_END_US).
    shift_end = FILLED_START_US + 8 * HOUR
    ended = asset_oee(store, demo_plant, LINE, FILLED_START_US, shift_end, by="shift")
    assert not ended.in_progress and ended.known_until is not None
    assert FILLED_END_US - 5_000_000 <= ended.known_until <= FILLED_END_US
    for f in ended.equipment.values():
        # The two hours after the data are in no ISO time: not lost, not planned down.
        assert f.unknown_s[0] >= 2 * 3600
        assert f.planned_busy_s[0] + f.planned_down_s[0] <= 6 * 3600
    # The same as asking for the time up to the data's end (the newest data included).
    as_data = asset_oee(store, demo_plant, LINE, FILLED_START_US, ended.known_until + 1)
    np.testing.assert_allclose(ended.figures.oee, as_data.figures.oee)
    # Asked at 16:00 local (08:00 UTC), the shift is in progress: its figures so far.
    now = FILLED_START_US + 2 * HOUR
    running = asset_oee(store, demo_plant, LINE, FILLED_START_US, shift_end, by="shift", now=now)
    assert running.in_progress and running.periods.end.tolist() == [now]
    so_far = asset_oee(store, demo_plant, LINE, FILLED_START_US, now, by="shift", now=now)
    np.testing.assert_allclose(running.figures.oee, so_far.figures.oee)
    # Asked up to now, as the line page does, the shift is still one in progress; a range that
    # ends at now is over.
    assert so_far.in_progress
    assert not asset_oee(store, demo_plant, LINE, FILLED_START_US, now, now=now).in_progress
    assert 0.3 < running.figures.oee[0] < 1
    with pytest.raises(AssetError, match="entirely in the future"):
        asset_oee(store, demo_plant, LINE, now + HOUR, shift_end, now=now)


def test_a_shift_before_the_first_data_has_no_data(store: DuckDBStore, demo_plant: Plant) -> None:
    week_before = FILLED_START_US - 7 * 24 * HOUR
    f = asset_oee(store, demo_plant, LINE, week_before, week_before + 8 * HOUR, by="shift")
    assert f.figures.no_data.tolist() == [True] and np.isnan(f.figures.oee[0])
    assert f.figures.unknown_s[0] == pytest.approx(5 * (8 * 3600 - 0))
