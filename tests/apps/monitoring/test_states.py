from __future__ import annotations

import numpy as np
import pytest

from smartfab.apps.monitoring.states import UNKNOWN, StateSeries, state_in_force
from smartfab.platform.store.duckdb import DuckDBStore
from tests.apps.monitoring.conftest import LINE, PRESS, at


def test_only_real_changes_are_kept() -> None:
    # At 10 two events arrive: the later one (idle) wins. "running" at 0 repeats the initial state,
    # "idle" at 20 repeats the one in force: neither is a change.
    s = StateSeries.of(
        [at(0), at(10), at(10), at(20), at(30)],
        ["running", "setup", "idle", "idle", "running"],
        initial="running",
    )
    assert s.ts.tolist() == [at(10), at(30)]
    assert [s.names[c] for c in s.code] == ["idle", "running"]
    assert s.names[s.initial] == "running"


def test_state_in_force_at_times() -> None:
    s = StateSeries.of([at(10), at(20)], ["setup", "running"], initial=None)
    codes = s.in_force(np.array([at(0), at(10), at(15), at(20), at(99)]))
    assert codes[0] == UNKNOWN
    assert [s.names[c] for c in codes[1:]] == ["setup", "setup", "running", "running"]


def test_timeline_is_clipped_to_the_window() -> None:
    # Idle since before the window, setup 10-25, running from 25 beyond the window's end (40).
    s = StateSeries.of([at(-5), at(10), at(25), at(50)], ["idle", "setup", "running", "off"], None)
    tl = s.timeline(at(0), at(40))
    assert tl.start.tolist() == [at(0), at(10), at(25)]
    assert tl.end.tolist() == [at(10), at(25), at(40)]
    assert tl.state.tolist() == ["idle", "setup", "running"]


def test_timeline_leaves_out_time_of_unknown_state() -> None:
    tl = StateSeries.of([at(10)], ["running"], None).timeline(at(0), at(30))
    assert (tl.start.tolist(), tl.end.tolist(), tl.state.tolist()) == (
        [at(10)],
        [at(30)],
        ["running"],
    )


def test_bad_state_events_are_rejected() -> None:
    with pytest.raises(ValueError, match="ordered by time"):
        StateSeries.of([at(2), at(1)], ["idle", "running"], None)
    with pytest.raises(ValueError, match="2 timestamps but 1 states"):
        StateSeries.of([at(1), at(2)], ["idle"], None)
    with pytest.raises(ValueError, match="after start"):
        StateSeries.of([], [], "idle").timeline(at(1), at(1))


def test_state_in_force_from_the_store(store: DuckDBStore) -> None:
    assert state_in_force(store, PRESS, at(0)) == "setup"
    assert state_in_force(store, PRESS, at(5)) == "setup"  # the event at 5 is not before 5
    assert state_in_force(store, PRESS, at(5) + 1) == "running"
    assert state_in_force(store, PRESS, at(-30)) is None
    with pytest.raises(ValueError, match="several equipment"):
        state_in_force(store, LINE, at(10))


def test_series_from_store_events(store: DuckDBStore) -> None:
    s = StateSeries.from_events(store.events(at(0), at(60), equipment=PRESS), "setup")
    assert s.ts.tolist() == [at(5), at(35), at(45)]
    assert [s.names[c] for c in s.code] == ["running", "unplanned_down", "running"]
