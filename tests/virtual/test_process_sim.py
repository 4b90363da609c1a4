"""A machine's process in the virtual factory: parts of its timeline made through the virtual
process, one sample per part, settings tried by the engineers until a parameter is written, and
the demo plant's machines that have one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from smartfab.apps.quality.store import parts_from_store, processes
from smartfab.config import DEMO_PLANT
from smartfab.model.loader import load_plant
from smartfab.model.plant import Plant
from smartfab.platform.points import Float64Array, PointBatch, TextBatch
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.virtual.equipment import PACE_US
from smartfab.virtual.factory import VirtualFactory, VirtualFactoryError, Written
from smartfab.virtual.process import CNC, VirtualProcess
from smartfab.virtual.process_sim import TRIAL_H, ProcessSim

S = 1_000_000
HOUR = 3600 * S
TUESDAY = 1_709_596_800 * S  # 2024-03-05 00:00 UTC
PARAMS = CNC.names
PROCESS_MACHINES = {
    "shenyang/machining/cnc-line-1/cell-1/cnc-01",
    "shenyang/machining/cnc-line-1/cell-1/cnc-02",
    "shenyang/machining/cnc-line-1/cell-2/cnc-04",
}


def cnc_plant() -> tuple[Plant, dict[str, int]]:
    def sig(name: str, sim: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "unit": "1", "source": {"virtual": True}, "sim": sim} | extra

    signals = [
        sig("state", "state", type="int", role="state"),
        sig("energy", "energy", role="energy"),
        sig("power", "power"),
        *(sig(p.name, p.name, range=[p.low, p.high], writable=True, sample_s=10)
          for p in CNC.parameters),
        sig("inspection", "inspection", type="enum",
            values={0: "good", **{d.code: d.name for d in CNC.defects}}),
        sig("roughness_ra", "roughness_ra"),
        sig("tool_count", "tool_count", type="int"),
        sig("hall_temp", "hall_temp"),
        sig("material_lot", "material_lot", type="string", length=16),
    ]  # fmt: skip
    # A writable signal needs a device to write to: a virtual one stands for it here.
    for s in signals:
        if s.get("writable"):
            s["source"] = {"opcua": {"connection": "plc", "node": f"ns=2;s={s['name']}"}}
    cnc = {"name": "cnc", "model": "cnc", "ideal_cycle_s": 60, "signals": signals}
    cell = {"name": "c", "equipment": [cnc]}
    site = {"name": "s", "timezone": "UTC",
            "areas": [{"name": "a", "lines": [{"name": "l", "cells": [cell]}]}]}  # fmt: skip
    plant = Plant.model_validate({
        "site": site,
        "connections": [{"name": "plc", "protocol": "opcua", "endpoint": "opc.tcp://h:4840"}],
    })  # fmt: skip
    return plant, {ref.path: i for i, ref in enumerate(plant.iter_signals())}


def of(points: PointBatch, ids: dict[str, int], name: str) -> PointBatch:
    return points.take(points.signal_id == ids[f"s/a/l/c/cnc/{name}"])


def test_every_part_comes_with_its_inspection_measurements_and_lot() -> None:
    plant, ids = cnc_plant()
    f = VirtualFactory(plant, ids, seed=3, start_us=TUESDAY)
    done = f.advance_all(TUESDAY + 24 * HOUR)
    inspection = of(done.points, ids, "inspection")
    parts = len(inspection)
    assert 500 < parts < 24 * 60  # a cycle of at least 60 s, stops and breaks
    for name in ("roughness_ra", "tool_count", "hall_temp"):
        assert np.array_equal(of(done.points, ids, name).ts, inspection.ts), name
    lots = done.texts.take(done.texts.signal_id == ids["s/a/l/c/cnc/material_lot"])
    assert np.array_equal(lots.ts, inspection.ts)
    assert all(t.startswith("ENGJL250-") and len(t) == 15 for t in lots.text)
    assert 5 < len(set(lots.text)) < 60  # a lot lasts 40 to 120 parts
    # a day of parts shows every kind of outcome, mostly good ones
    codes = inspection.value
    assert set(np.unique(codes)) <= {0, 1, 2, 3} and 0.8 < np.mean(codes == 0) < 1
    tools = of(done.points, ids, "tool_count").value  # counts up, to 0 at a tool change
    assert np.all((np.diff(tools) == 1) | (tools[1:] == 0))
    ra = of(done.points, ids, "roughness_ra").value
    assert 0.5 < np.median(ra) < 3
    # the parameters: one sample every 10 s, a new setting every few hours, within the limits
    for p in CNC.parameters:
        v = of(done.points, ids, p.name).value
        assert len(v) == 24 * 360
        changes = np.flatnonzero(np.diff(v))
        assert len(changes) == pytest.approx(24 / TRIAL_H, abs=1)
        assert p.low <= v.min() and v.max() <= p.high
        assert np.abs(np.diff(v)).max() <= p.max_step + 1e-9
    # the meter holds the machine's own consumption and its parts' process energy besides
    energy, power = of(done.points, ids, "energy").value, of(done.points, ids, "power").value
    own = power.sum() / 3600
    assert energy[-1] - energy[0] > own + 0.3 * parts
    assert np.all(np.diff(energy) >= 0)


def test_parts_do_not_depend_on_how_time_is_chunked() -> None:
    plant, ids = cnc_plant()
    until = TUESDAY + 10 * HOUR
    once = VirtualFactory(plant, ids, seed=4, start_us=TUESDAY).advance_all(until)
    chunked = VirtualFactory(plant, ids, seed=4, start_us=TUESDAY)
    rng = np.random.default_rng(1)
    t, got = TUESDAY, []
    while t < until:
        t = min(until, t + int(rng.exponential(20 * 60 * S)))
        got.append(chunked.advance_all(t))
    points = PointBatch.concat([g.points for g in got])
    points = points.take(np.lexsort((points.ts, points.signal_id)))
    for col in ("ts", "signal_id", "value"):
        assert np.array_equal(getattr(once.points, col), getattr(points, col)), col
    texts = TextBatch.concat([g.texts for g in got])
    texts = texts.take(np.lexsort((texts.ts, texts.signal_id)))
    assert np.array_equal(once.texts.text, texts.text)


def test_a_written_parameter_holds_and_the_engineers_stop_trying() -> None:
    plant, ids = cnc_plant()
    f = VirtualFactory(plant, ids, seed=5, start_us=TUESDAY)
    assert f.parameters == [f"s/a/l/c/cnc/{p}" for p in PARAMS]
    f.advance_all(TUESDAY + 2 * HOUR)
    f.hold("s/a/l/c/cnc/feed_rate_sp", 1500.0)
    with pytest.raises(VirtualFactoryError, match="outside"):
        f.hold("s/a/l/c/cnc/coolant_flow_sp", 99.0)
    with pytest.raises(VirtualFactoryError, match="not a process parameter"):
        f.hold("s/a/l/c/cnc/power", 1.0)
    done = f.advance_all(TUESDAY + 20 * HOUR)
    assert np.all(of(done.points, ids, "feed_rate_sp").value == 1500.0)
    for name in ("spindle_speed_sp", "coolant_flow_sp"):  # held too: no more trials
        assert len(np.unique(of(done.points, ids, name).value)) == 1, name


def _cycles(points: PointBatch, ids: dict[str, int]) -> Float64Array:
    """The time from one part to the next while the machine runs (stops left out), in s."""
    gaps = np.diff(of(points, ids, "inspection").ts) / S
    out: Float64Array = gaps[gaps < 2 * np.median(gaps)]
    return out


def test_the_cycle_follows_the_settings() -> None:
    """A machine set slow makes fewer parts than one at the nominal settings, by the ratio of
    the process truth's cycle times; one set fast makes no more (the plant file's ideal cycle is
    the nominal settings', and no machine beats it); the settings written before the start hold
    from it on."""
    plant, ids = cnc_plant()
    truth = VirtualProcess.create(CNC, 6, "s/a/l/c/cnc").truth
    slow, fast = np.array([6000.0, 1200.0, 28.0]), np.array([12000.0, 3600.0, 28.0])
    nominal = np.array([p.nominal for p in CNC.parameters])
    cycles = {}
    for name, setting in (("slow", slow), ("nominal", nominal), ("fast", fast)):
        writes = [Written(TUESDAY - HOUR, f"s/a/l/c/cnc/{p}", float(v))
                  for p, v in zip(PARAMS, setting, strict=True)]  # fmt: skip
        f = VirtualFactory(plant, ids, seed=6, start_us=TUESDAY, writes=writes)
        done = f.advance_all(TUESDAY + 24 * HOUR)
        for p, v in zip(PARAMS, setting, strict=True):
            assert np.all(of(done.points, ids, p).value == v), p
        cycles[name] = _cycles(done.points, ids)
    ratio = float(truth.cycle_s(truth.scale(slow))[0] / truth.cycle_s(truth.scale(nominal))[0])
    assert ratio > 1.15
    median = {k: float(np.median(v)) for k, v in cycles.items()}
    assert median["slow"] / median["nominal"] == pytest.approx(ratio, rel=0.03)
    assert len(cycles["slow"]) < len(cycles["nominal"]) / 1.1
    assert median["fast"] == pytest.approx(median["nominal"], rel=0.03)


def test_a_written_parameter_changes_the_pace_within_minutes() -> None:
    """Written while running, a setting paces the machine from the end of the cycle in
    progress at the next pace point on (at most minutes later)."""
    plant, ids = cnc_plant()
    truth = VirtualProcess.create(CNC, 7, "s/a/l/c/cnc").truth
    f = VirtualFactory(plant, ids, seed=7, start_us=TUESDAY)
    f.advance_all(TUESDAY + 8 * HOUR)  # a trial from 08:00 on
    before = _cycles(f.advance_all(TUESDAY + 10 * HOUR).points, ids)
    was = np.array([f.setting(f"s/a/l/c/cnc/{p}") for p in PARAMS])
    f.hold("s/a/l/c/cnc/feed_rate_sp", 1200.0)
    f.hold("s/a/l/c/cnc/spindle_speed_sp", 6000.0)
    f.advance_all(TUESDAY + 10 * HOUR + PACE_US + 5 * 60 * S)  # the run in progress ends
    after = _cycles(f.advance_all(TUESDAY + 14 * HOUR).points, ids)
    now = np.array([6000.0, 1200.0, was[2]])
    nominal = float(truth.cycle_s(truth.scale(np.array([p.nominal for p in CNC.parameters])))[0])
    pace = [max(1.0, float(truth.cycle_s(truth.scale(x))[0]) / nominal) for x in (now, was)]
    ratio = pace[0] / pace[1]
    assert ratio > 1.15
    assert np.median(after) / np.median(before) == pytest.approx(ratio, rel=0.04)


def test_a_write_undoes_the_trials_planned_beyond_it() -> None:
    """The machine's pace looks ahead: a trial planned past a write is dropped, and a write
    known in advance (from before a restart) is planned again after it."""
    sim = ProcessSim(CNC, 9, "s/a/l/c/cnc", 0.0, "ENGJL250", TUESDAY)
    trial = TUESDAY + int(TRIAL_H * HOUR)
    sim.written("coolant_flow_sp", 33.0, trial + HOUR)
    sim.pace(trial + 10 * 60 * S)  # plans the trial
    tried = sim.latest("spindle_speed_sp", trial)
    assert tried != sim.latest("spindle_speed_sp", trial - S)
    sim.hold("spindle_speed_sp", 7000.0, trial - 60 * S)
    assert sim.latest("spindle_speed_sp", trial + 30 * 60 * S) == 7000.0
    assert sim.latest("coolant_flow_sp", trial + 30 * 60 * S) == sim.latest(
        "coolant_flow_sp", trial - S
    )
    sim.pace(trial + 2 * HOUR)
    assert sim.latest("coolant_flow_sp", trial + 2 * HOUR) == 33.0
    assert sim.latest("spindle_speed_sp", trial + 2 * HOUR) == 7000.0


def test_a_slow_feed_makes_fewer_chatter_marks_than_a_fast_one() -> None:
    """The parts follow the settings written: the hidden truth's chatter sets in at a fast
    feed."""
    plant, ids = cnc_plant()
    rates = []
    for feed in (CNC.parameters[1].low, CNC.parameters[1].high):
        f = VirtualFactory(plant, ids, seed=6, start_us=TUESDAY)
        f.hold("s/a/l/c/cnc/feed_rate_sp", feed)
        codes = of(f.advance_all(TUESDAY + 72 * HOUR).points, ids, "inspection").value
        rates.append(np.mean(codes == 2))
    assert rates[0] < rates[1]


def demo_machining(process_signals_only: bool = False) -> dict[str, Any]:
    """The demo plant cut to the cells of its process machines, optionally to their process
    signals: its calendar, signals and process blocks, a fraction of the points to simulate."""
    doc: dict[str, Any] = yaml.safe_load(DEMO_PLANT.read_text(encoding="utf-8"))
    area = next(a for a in doc["site"]["areas"] if a["name"] == "machining")
    line = area["lines"][0]
    for cell in line["cells"]:
        cell["equipment"] = [e for e in cell["equipment"] if "process" in e]
        for e in cell["equipment"] if process_signals_only else []:
            pr = e["process"]
            names = {p["signal"] for p in pr["parameters"]} | {
                pr["inspection"],
                pr["characteristic"],
                pr["material_lot"],
                *pr["context"],
            }
            e["signals"] = [s for s in e["signals"] if s["name"] in names]
    line["cells"] = [c for c in line["cells"] if c["equipment"]]
    area["lines"] = [line]
    doc["site"]["areas"] = [area]
    for key in ("warehouse", "materials"):
        doc["site"].pop(key, None)
    return doc


def test_the_demo_plant_has_process_machines() -> None:
    plant = load_plant(DEMO_PLANT)
    assert {e.path for e in processes(plant)} == PROCESS_MACHINES
    for ref in processes(plant):
        pr = ref.equipment.process
        assert pr is not None and [p.signal for p in pr.parameters] == list(PARAMS)
        sigs = {s.name: s for s in ref.equipment.signals}
        for p, spec in zip(pr.parameters, CNC.parameters, strict=True):
            assert sigs[p.signal].range == (spec.low, spec.high) and p.max_step == spec.max_step
        assert sigs[pr.inspection].values == {0: "good", 1: "burn", 2: "chatter", 3: "porosity"}


def test_a_backfill_of_the_demo_stores_parts_for_the_quality_models(tmp_path: Path) -> None:
    from smartfab.runtime.backfill import run_backfill
    from smartfab.runtime.output import LogOutput

    (tmp_path / "plant.yaml").write_text(yaml.safe_dump(demo_machining()), encoding="utf-8")
    plant = load_plant(tmp_path / "plant.yaml")
    start = 1_796_162_400_000_000  # 2026-12-02 06:00 Asia/Shanghai, a Wednesday
    end = start + 4 * HOUR
    assert {e.path for e in processes(plant)} == PROCESS_MACHINES
    with DuckDBStore(tmp_path / "smartfab.duckdb") as store:
        asyncio.run(run_backfill(plant, store, 42, start, end, LogOutput()))
        for ref in processes(plant):
            path, ideal = ref.path, ref.equipment.ideal_cycle_s
            assert ideal is not None
            t = parts_from_store(store, plant, path, start, end)
            # a working morning: the machine runs most of it, at about its ideal cycle (the
            # settings tried pace it a little faster or slower)
            assert 0.6 * 4 * 3600 / ideal < len(t) < 1.15 * 4 * 3600 / ideal, path
            assert t.parameters == PARAMS
            for p in CNC.parameters:
                v = t.values[p.name]
                assert np.all((p.low <= v) & (v <= p.high)), p.name
            assert len(np.unique(t.params(), axis=0)) >= 2  # a trial every four hours
            assert np.all(t.values["energy_kwh"] > 0) and np.isfinite(t.values["hall_temp"]).all()
            assert all(str(lot).startswith("ENGJL250-") for lot in t.lot)
            assert set(np.unique(t.defect)) <= {0, 1, 2, 3}


def test_the_demo_s_history_is_enough_for_defect_prediction_and_the_optimiser() -> None:
    """What the demo backfills by default (the last five worked days, its default seed) holds,
    for each process machine, the parts, the defects of a type and the distinct settings that
    defect prediction and the optimiser ask for. Only the process signals are simulated."""
    from smartfab.apps.quality import defects, surrogate
    from smartfab.cli.demo import WORKED_DAYS
    from smartfab.config import Settings
    from smartfab.runtime.demo import history_start

    plant = Plant.model_validate(demo_machining(process_signals_only=True))
    ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
    monday_evening = 1_796_644_800_000_000  # 2026-12-07 20:00 Asia/Shanghai
    start = history_start(plant, None, monday_evening, None, WORKED_DAYS)
    f = VirtualFactory(plant, ids, seed=Settings().seed, start_us=start)
    batches = []
    while f.now_us < monday_evening:
        batches.append(f.advance(min(f.now_us + 6 * HOUR, monday_evening))[0])
    points = PointBatch.concat(batches)
    for path in PROCESS_MACHINES:
        codes = points.value[points.signal_id == ids[f"{path}/inspection"]]
        assert len(codes) >= defects.MIN_PARTS, path
        assert max(np.sum(codes == c) for c in (1, 2, 3)) >= defects.MIN_DEFECTS, path
        settings = np.stack([points.value[points.signal_id == ids[f"{path}/{p}"]] for p in PARAMS])
        assert len(np.unique(settings, axis=1).T) >= surrogate.MIN_SETTINGS, path


def test_a_press_has_its_own_parameters_and_characteristic() -> None:
    from smartfab.virtual.process import PRESS

    def sig(name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "unit": "1", "source": {"virtual": True}, "sim": name} | extra

    signals = [
        sig("ram_force_sp", sample_s=10),
        sig("inspection", type="enum", values={0: "good", 1: "split", 2: "wrinkle", 3: "burr"}),
        sig("thickness_dev"),
    ]
    press = {"name": "p", "model": "press", "ideal_cycle_s": 3, "signals": signals}
    site = {"name": "s", "timezone": "UTC", "areas": [{"name": "a", "lines": [
        {"name": "l", "cells": [{"name": "c", "equipment": [press]}]}]}]}  # fmt: skip
    plant = Plant.model_validate({"site": site})
    ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
    f = VirtualFactory(plant, ids, seed=1, start_us=TUESDAY)
    done = f.advance_all(TUESDAY + HOUR)
    codes = done.points.take(done.points.signal_id == ids["s/a/l/c/p/inspection"])
    dev = done.points.take(done.points.signal_id == ids["s/a/l/c/p/thickness_dev"])
    assert 600 < len(codes) < 1200 and np.array_equal(codes.ts, dev.ts)
    force = done.points.value[done.points.signal_id == ids["s/a/l/c/p/ram_force_sp"]]
    p = PRESS.parameters[0]  # the trial at the start of the hour: a step from nominal
    assert len(force) == 360 and len(np.unique(force)) == 1
    assert 0 < abs(force[0] - p.nominal) <= p.max_step
    # a CNC's parameter is no press's
    site["areas"][0]["lines"][0]["cells"][0]["equipment"] = [
        {**press, "signals": [*signals, sig("spindle_speed_sp")]}
    ]
    ids["s/a/l/c/p/spindle_speed_sp"] = 9
    with pytest.raises(VirtualFactoryError, match="does not simulate 'spindle_speed_sp'"):
        VirtualFactory(Plant.model_validate({"site": site}), ids, seed=1, start_us=TUESDAY)
