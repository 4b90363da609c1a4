"""The virtual equipment's quantities that are not one number, with their ground truth: the
product code of the job (changing at changeovers), the material lot (a new one every so many
parts, drawn from the seed), the operating mode (an enumeration of the state) and the vibration
spectrum (bands rising with the wear of what they belong to)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from smartfab.model.plant import DEFAULT_STATES, Plant
from smartfab.platform.points import (
    ArrayBatch,
    EventBatch,
    Float64Array,
    ObjectArray,
    PointBatch,
    TextBatch,
)
from smartfab.virtual.factory import Advance, VirtualFactory, VirtualFactoryError
from smartfab.virtual.models import MODELS, MODES

S = 1_000_000
HOUR = 3600 * S
DAY = 24 * HOUR
MONDAY = 1_709_510_400 * S  # 2024-03-04 00:00 UTC
CODE = {name: code for code, name in DEFAULT_STATES.items()}
NUMBERS = ["state", "fault_code", "good_count", "scrap_count"]


def machine(model: str, signals: list[dict[str, Any]]) -> Plant:
    equipment = {"name": "m", "model": model, "signals": signals}
    lines = [{"name": "l", "cells": [{"name": "c", "equipment": [equipment]}]}]
    return Plant.model_validate({"site": {"name": "s", "areas": [{"name": "a", "lines": lines}]}})


def sig(name: str, sample_s: float = 10.0, **fields: Any) -> dict[str, Any]:
    return {"name": name, "unit": "1", "sim": name, "sample_s": sample_s,
            "source": {"virtual": True}, **fields}  # fmt: skip


def kinds_plant(model: str, sample_s: float = 10.0, bands: int = 32) -> Plant:
    return machine(model, [
        *(sig(n, sample_s, type="int") for n in NUMBERS),
        sig("mode", sample_s, type="enum", values=dict(MODES)),
        sig("product_code", sample_s, type="string", length=16),
        sig("material_lot", sample_s, type="string", length=16),
        sig("spectrum", sample_s, type="array", length=bands, unit="mm/s"),
    ])  # fmt: skip


def run(plant: Plant, seed: int, days: int) -> tuple[Advance, dict[str, int]]:
    """Every kind of sample of ``days`` from Monday, and the signal ids by signal name."""
    ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
    f = VirtualFactory(plant, ids, seed=seed, start_us=MONDAY)
    parts = [f.advance_all(MONDAY + (d + 1) * DAY) for d in range(days)]
    out = Advance(
        PointBatch.concat([p.points for p in parts]),
        TextBatch.concat([p.texts for p in parts]),
        ArrayBatch.concat([p.arrays for p in parts]),
        EventBatch.concat([p.failures for p in parts]),
    )
    return out, {ref.signal.name: ids[ref.path] for ref in plant.iter_signals()}


def numbers(out: Advance, sid: int) -> Float64Array:
    return out.points.take(out.points.signal_id == sid).value


def texts(out: Advance, sid: int) -> ObjectArray:
    return out.texts.take(out.texts.signal_id == sid).text


@pytest.fixture(scope="module")
def week() -> tuple[Advance, dict[str, int]]:
    return run(kinds_plant("cnc"), seed=7, days=7)


def test_the_product_code_is_the_jobs_and_changes_only_at_a_changeover(
    week: tuple[Advance, dict[str, int]],
) -> None:
    out, ids = week
    product = texts(out, ids["product_code"])
    state = numbers(out, ids["state"])
    changed = np.flatnonzero(product[1:] != product[:-1]) + 1
    assert len(changed) >= 5  # a job lasts about 6 hours
    # The new job's program is loaded when its changeover starts.
    assert np.all(state[changed] == CODE["setup"])
    assert set(product) <= set(MODELS["cnc"].products) and len(set(product)) >= 4


def test_a_new_material_lot_every_so_many_parts(week: tuple[Advance, dict[str, int]]) -> None:
    out, ids = week
    lot = texts(out, ids["material_lot"])
    parts = numbers(out, ids["good_count"]) + numbers(out, ids["scrap_count"])
    assert all(s.startswith("ENGJL250-") and len(s) == 15 for s in lot)
    number = np.array([int(s.rsplit("-", 1)[1]) for s in lot])
    changed = np.flatnonzero(np.diff(number)) + 1
    assert len(changed) >= 3 and np.all(np.diff(number) >= 0) and np.all(np.diff(number) <= 1)
    # Every lot but the first lasts the same number of parts, one of the model's range.
    per_lot = np.diff(parts[changed])
    assert len(set(per_lot.tolist())) == 1
    low, high = MODELS["cnc"].lot_parts
    assert low <= per_lot[0] <= high
    assert np.all(parts[changed] % per_lot[0] == 0)


def test_the_seed_decides_the_lots() -> None:
    plant = machine("press", [sig(n, 60.0, type="int") for n in ("good_count", "scrap_count")]
                    + [sig("material_lot", 60.0, type="string", length=16)])  # fmt: skip
    lots = [set(texts(run(plant, seed, 2)[0], 2)) for seed in (1, 1, 2)]
    assert lots[0] == lots[1] and lots[0] != lots[2]


def test_the_operating_mode_follows_state_and_fault(week: tuple[Advance, dict[str, int]]) -> None:
    out, ids = week
    mode, state = numbers(out, ids["mode"]), numbers(out, ids["state"])
    fault = numbers(out, ids["fault_code"])
    repairs = {f.fault_code for f in MODELS["cnc"].failures}
    code = {name: c for c, name in MODES.items()}
    assert np.array_equal(mode == code["off"], state == CODE["off"])
    assert np.array_equal(mode == code["setup"], state == CODE["setup"])
    repairing = (state == CODE["unplanned_down"]) & np.isin(fault, list(repairs))
    assert np.array_equal(mode == code["maintenance"], repairing) and repairing.any()
    assert set(mode.tolist()) == set(MODES)


def band(
    arrays: ArrayBatch, sid: int, max_hz: float, low_hz: float, high_hz: float
) -> Float64Array:
    """The summed level of the bands between ``low_hz`` and ``high_hz``, per sample."""
    mine = arrays.take(arrays.signal_id == sid)
    rows = mine.values.reshape(len(mine), -1)
    centres = (np.arange(rows.shape[1]) + 0.5) * max_hz / rows.shape[1]
    level: Float64Array = rows[:, (centres >= low_hz) & (centres <= high_hz)].sum(axis=1)
    return level


def test_the_tool_wear_band_rises_before_a_tool_breaks() -> None:
    out, ids = run(kinds_plant("cnc", sample_s=60.0, bands=24), seed=4, days=14)
    spectra = out.arrays.take(out.arrays.signal_id == ids["spectrum"])
    assert np.all(spectra.lengths == 24) and np.all(spectra.values >= 0)
    ts = spectra.ts
    tool = band(out.arrays, ids["spectrum"], 2000, 1400, 1700)
    cutting = numbers(out, ids["state"]) == CODE["running"]
    breaks = [i for i in range(len(out.failures)) if out.failures.code[i] == "tool_breakage"]
    assert len(breaks) >= 2
    for i in breaks:
        failed, degrading_s = int(out.failures.ts[i]), float(out.failures.value[i])
        onset = failed - int(degrading_s * S)
        worn = cutting & (ts >= failed - int(degrading_s * S / 5)) & (ts < failed)
        fresh = cutting & (ts < onset) & (ts >= onset - 6 * HOUR)
        assert worn.sum() >= 5 and fresh.sum() >= 5
        assert tool[worn].mean() > 3 * tool[fresh].mean() + 0.2, out.failures.detail[i]


@pytest.mark.parametrize(
    ("signal", "match"),
    [
        (sig("product_code", type="float"),
         "model 'cnc' simulates 'product_code' as text; the signal is float, make it string"),
        (sig("spectrum", type="string"),
         "simulates 'spectrum' as array; the signal is string, make it array"),
        (sig("state", type="array", length=3),
         "simulates 'state' as number; the signal is array, make it float, int, bool or enum"),
        (sig("material_lot", type="string", length=10),
         "length 10 is too short for 'material_lot', whose values have up to 15 characters"),
        (sig("mode", type="enum", values={0: "off", 1: "auto"}),
         "an operating mode's values must name 0: off, 1: automatic, 2: setup, 3: maintenance"),
    ],
)  # fmt: skip
def test_a_signal_of_the_wrong_kind_is_reported(signal: dict[str, Any], match: str) -> None:
    with pytest.raises(VirtualFactoryError, match=f"s/a/l/c/m/{signal['name']}: .*{match}"):
        VirtualFactory(machine("cnc", [signal]), {f"s/a/l/c/m/{signal['name']}": 0}, seed=0,
                       start_us=MONDAY)  # fmt: skip
