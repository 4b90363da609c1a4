from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from smartfab.apps.quality.parts import NotEnoughData
from smartfab.apps.quality.store import ProcessConfigError, parts_from_store
from smartfab.platform.store.duckdb import DuckDBStore
from tests.apps.quality.history import history
from tests.apps.quality.plant import EQUIPMENT, filled

START = 1_767_571_200_000_000


def test_the_store_gives_back_the_parts_as_they_were_made(tmp_path: Path) -> None:
    plant, path = filled(tmp_path, START, days=5)
    made = history(1, 5)
    with DuckDBStore(path) as store:
        t = parts_from_store(store, plant, EQUIPMENT, START, START + 10 * 86_400_000_000)
        assert len(t) == len(made) - 1  # the first has nothing to difference against
        assert np.allclose(t.params(), made.params()[1:])
        assert np.allclose(t.values["energy_kwh"], made.values["energy_kwh"][1:])
        assert np.array_equal(t.defect, made.defect[1:]) and t.defects == made.defects
        assert list(t.lot) == list(made.lot[1:])
        with pytest.raises(ProcessConfigError, match="no such equipment"):
            parts_from_store(store, plant, "s/a/l/c/x", START, START + 1)
        with pytest.raises(NotEnoughData, match="choose a longer period"):
            parts_from_store(store, plant, EQUIPMENT, START - 10, START)


def test_a_part_after_a_stop_is_left_out(tmp_path: Path) -> None:
    """The time and energy since the part before a stop are the stop's (a break, a night), not
    the next part's cycle: that part is left out, as the first is."""
    from dataclasses import replace

    from smartfab.apps.quality.store import STOP_TAKTS
    from smartfab.model.loader import load_plant
    from tests.apps.quality.plant import fill, write_plant

    plant = load_plant(write_plant(tmp_path))
    pr = next(e.equipment.process for e in plant.iter_equipment())
    assert pr is not None
    made = history(1, 2)
    gap = int(STOP_TAKTS * pr.takt_s * 1e6)  # a stop just longer than the longest cycle kept
    ts = made.ts.copy()
    ts[100:] += gap
    with DuckDBStore(tmp_path / "q.duckdb") as store:
        fill(store, plant, replace(made, ts=ts), START)
        t = parts_from_store(store, plant, EQUIPMENT, START, START + 10 * 86_400_000_000)
    assert len(t) == len(made) - 2
    assert START + ts[100] not in t.ts and START + ts[101] in t.ts
    assert t.values["cycle_s"].max() <= STOP_TAKTS * pr.takt_s
