from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from smartfab.errors import SmartfabError
from smartfab.model.plant import (
    Area,
    Equipment,
    Line,
    Plant,
    Signal,
    SignalRole,
    Site,
    Source,
    WorkCell,
)
from smartfab.platform.derive import EventDeriver
from smartfab.platform.points import EventBatch, EventKind, PointBatch, Quality

T0 = 1_700_000_000_000_000
S = 1_000_000
PRESS = "plant/area/line/cell/press"
ROBOT = "plant/area/line/cell/robot"


def sig(name: str, role: SignalRole) -> Signal:
    return Signal(name=name, unit="1", role=role, source=Source(virtual=True))


def plant() -> Plant:
    press = Equipment(
        name="press",
        faults={17: "hydraulic pressure low"},
        signals=[
            sig("state", "state"),
            sig("fault", "fault"),
            sig("good", "good_count"),
            sig("scrap", "scrap_count"),
            sig("temp", "measurement"),
        ],
    )
    robot = Equipment(name="robot", states={0: "off", 7: "teach"}, signals=[sig("state", "state")])
    cell = WorkCell(name="cell", equipment=[press, robot])
    return Plant(
        site=Site(
            name="plant",
            areas=[Area(name="area", lines=[Line(name="line", cells=[cell])])],
        )
    )


IDS = {
    f"{PRESS}/state": 1,
    f"{PRESS}/fault": 2,
    f"{PRESS}/good": 3,
    f"{PRESS}/scrap": 4,
    f"{PRESS}/temp": 5,
    f"{ROBOT}/state": 6,
}
STATE, FAULT, GOOD, SCRAP, TEMP, ROBOT_STATE = IDS.values()


@pytest.fixture
def deriver() -> EventDeriver:
    return EventDeriver.from_plant(plant(), IDS)


def pts(
    secs: npt.ArrayLike, signal: int, values: npt.ArrayLike, quality: int = Quality.GOOD
) -> PointBatch:
    t = T0 + np.asarray(secs, np.int64) * S
    return PointBatch.of(t, signal, values, quality)


def rows(events: EventBatch) -> list[tuple[int, str, str, str]]:
    """(second, equipment, kind, code) of each event."""
    return [
        ((int(t) - T0) // S, str(e), str(k), str(c))
        for t, e, k, c in zip(events.ts, events.equipment, events.kind, events.code, strict=True)
    ]


def test_only_role_signals_are_tracked(deriver: EventDeriver) -> None:
    assert deriver.signal_ids == [STATE, FAULT, GOOD, SCRAP, ROBOT_STATE]


def test_state_changes_become_named_state_events(deriver: EventDeriver) -> None:
    got = deriver.derive(pts([0, 1, 2, 3], STATE, [1, 1, 2, 5]))
    assert rows(got) == [
        (0, PRESS, EventKind.STATE, "running"),  # first sight: the state now in force
        (2, PRESS, EventKind.STATE, "idle"),
        (3, PRESS, EventKind.STATE, "unplanned_down"),
    ]
    # the next batch continues from the last value seen
    assert rows(deriver.derive(pts([4, 5], STATE, [5, 1]))) == [(5, PRESS, "state", "running")]


def test_equipment_specific_states_and_unknown_codes(deriver: EventDeriver) -> None:
    got = deriver.derive(pts([0, 1, 2], ROBOT_STATE, [7, 1, 2.5]))
    assert rows(got) == [
        (0, ROBOT, EventKind.STATE, "teach"),
        (1, ROBOT, EventKind.STATE, "unknown:1"),
        (1, ROBOT, EventKind.QUALITY, "unknown_state"),
        (2, ROBOT, EventKind.STATE, "unknown:2.5"),
        (2, ROBOT, EventKind.QUALITY, "unknown_state"),
    ]
    quality = got.take(got.kind == EventKind.QUALITY)
    assert quality.value.tolist() == [1.0, 2.5]
    assert f"{ROBOT}/state reported state code 1" in quality.detail[0]


def test_out_of_order_points_derive_no_spurious_events(deriver: EventDeriver) -> None:
    # unsorted within the batch: in time order the state goes 1 (t=1) -> 2 (t=3) -> 2 (t=5)
    assert rows(deriver.derive(pts([5, 1, 3], STATE, [2, 1, 2]))) == [
        (1, PRESS, "state", "running"),
        (3, PRESS, "state", "idle"),
    ]
    # a late point older than the last seen changes nothing, however different its value
    assert len(deriver.derive(pts([4], STATE, [5]))) == 0
    assert len(deriver.derive(pts([5], STATE, [1]))) == 0  # same ts again: not newer
    assert rows(deriver.derive(pts([6], STATE, [1]))) == [(6, PRESS, "state", "running")]


def test_duplicates_in_a_batch_keep_the_last(deriver: EventDeriver) -> None:
    got = deriver.derive(PointBatch.concat([pts([0], STATE, [1]), pts([0], STATE, [3])]))
    assert rows(got) == [(0, PRESS, "state", "setup")]


def test_fault_becoming_nonzero(deriver: EventDeriver) -> None:
    got = deriver.derive(pts(range(7), FAULT, [0, 0, 17, 17, 0, 3, 17]))
    assert rows(got) == [
        (2, PRESS, EventKind.FAULT, "17"),
        (5, PRESS, EventKind.FAULT, "3"),  # another fault code is another fault
        (6, PRESS, EventKind.FAULT, "17"),
    ]
    assert got.detail.tolist() == [
        "hydraulic pressure low",
        "fault 3 (no text in the plant model)",
        "hydraulic pressure low",
    ]


def test_counter_increments_and_resets(deriver: EventDeriver) -> None:
    got = deriver.derive(pts(range(6), GOOD, [10, 11, 11, 14, 2, 3]))
    # the first reading is a baseline, not production; 14 -> 2 is a reset: 2 parts since
    assert rows(got) == [(s, PRESS, EventKind.COUNT, "good") for s in (1, 3, 4, 5)]
    assert got.value.tolist() == [1.0, 3.0, 2.0, 1.0]
    got = deriver.derive(pts([6, 7], SCRAP, [0, 1]))
    assert rows(got) == [(7, PRESS, EventKind.COUNT, "scrap")]
    assert got.value.tolist() == [1.0]


def test_signals_interleaved_in_one_batch(deriver: EventDeriver) -> None:
    batch = PointBatch.concat(
        [pts([0, 1], GOOD, [5, 6]), pts([0, 1], STATE, [1, 2]), pts([0, 1], TEMP, [20.0, 99.0])]
    )
    assert rows(deriver.derive(batch)) == [
        (0, PRESS, "state", "running"),
        (1, PRESS, "state", "idle"),
        (1, PRESS, "count", "good"),
    ]


def test_bad_quality_and_unknown_signals_derive_nothing(deriver: EventDeriver) -> None:
    assert len(deriver.derive(pts([0], STATE, [1], Quality.BAD))) == 0
    assert len(deriver.derive(pts([0], 999, [1]))) == 0
    assert len(deriver.derive(PointBatch.empty())) == 0
    # the BAD point was not remembered either
    assert rows(deriver.derive(pts([1], STATE, [2]))) == [(1, PRESS, "state", "idle")]


def test_primed_from_the_store_a_restart_repeats_nothing(deriver: EventDeriver) -> None:
    latest = PointBatch.of(T0 + np.array([9, 9, 9]) * S, [STATE, GOOD, TEMP], [1.0, 100.0, 20.0])
    deriver.prime(latest)
    got = deriver.derive(
        PointBatch.concat([pts([10], STATE, [1]), pts([10], GOOD, [103]), pts([8], GOOD, [50])])
    )
    assert rows(got) == [(10, PRESS, "count", "good")]
    assert got.value.tolist() == [3.0]


def test_from_plant_needs_every_role_signal_registered() -> None:
    ids = dict(IDS)
    del ids[f"{PRESS}/fault"]
    with pytest.raises(SmartfabError, match="press/fault"):
        EventDeriver.from_plant(plant(), ids)
