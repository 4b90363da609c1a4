from __future__ import annotations

import pyarrow as pa
import pytest

from smartfab.apps.monitoring.events import event_columns
from smartfab.platform.points import EventKind
from smartfab.platform.store.duckdb import DuckDBStore
from tests.apps.monitoring.conftest import LINE, PRESS, at


def test_columns_of_one_kind_in_epoch_microseconds(store: DuckDBStore) -> None:
    events = store.events(at(0), at(60), equipment=PRESS)
    assert pa.types.is_timestamp(events.schema.field("ts").type)
    counts = event_columns(events, EventKind.COUNT)
    assert counts.ts.tolist() == [at(8), at(30)]
    assert counts.code.tolist() == ["scrap", "good"]
    assert counts.value.tolist() == [2.0, 40.0]
    assert event_columns(events, EventKind.FAULT).ts.size == 0


def test_events_of_several_equipment_are_refused(store: DuckDBStore) -> None:
    line = store.events(at(0), at(60), equipment=LINE)
    with pytest.raises(ValueError, match="state events of 2 equipment"):
        event_columns(line, EventKind.STATE)
    assert event_columns(line, EventKind.COUNT).ts.size == 2  # only the press counts parts
