"""The engine against a real DuckDB store: life cycle through the service API, the journal, and
its replay after a restart."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from smartfab.apps.monitoring.alarms.engine import AlarmEngine, UnknownAlarmError
from smartfab.apps.monitoring.alarms.lifecycle import Action, State
from smartfab.model.plant import Plant
from smartfab.platform.catalog import register_plant
from smartfab.platform.points import EventKind, PointBatch
from smartfab.platform.store.duckdb import DuckDBStore
from tests.apps.monitoring.alarms.conftest import EQ, T0, S, plant

HIGH = f"{EQ}/temp:high"
LOW = f"{EQ}/temp:low"
FAULT7 = f"{EQ}:fault:7"


class Clock:
    """The engine's wall clock, moved by the test."""

    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


def rules() -> Plant:
    return plant(
        {"high": {"limit": 80, "deadband": 2, "priority": "high"}, "low": {"limit": 10}},
        {"faults": {"priority": "urgent"}},
    )


async def feed(
    engine: AlarmEngine, ids: dict[str, int], name: str, secs: list[float], values: list[float]
) -> None:
    batch = PointBatch.of([T0 + int(s * S) for s in secs], ids[f"{EQ}/{name}"], values)
    before = engine.stats.points
    await engine.intake.publish_points(batch)
    async with asyncio.timeout(10):
        while engine.stats.points < before + len(batch):
            await asyncio.sleep(0.01)


async def test_life_cycle_journal_and_replay_after_restart(tmp_path: Path) -> None:
    p = rules()
    clock = Clock(T0 + 100 * S)
    with DuckDBStore(tmp_path / "a.duckdb") as store:
        ids = register_plant(store, p)
        engine = AlarmEngine(p, store, ids, clock=clock)
        await engine.start(live=False)
        try:
            await feed(engine, ids, "temp", [0, 1, 2], [50, 85, 84])
            await feed(engine, ids, "fault", [0, 3, 5], [0, 7, 0])
            listed = engine.alarms()
            assert [(s.id, s.state) for s in listed] == [
                (FAULT7, State.CLEARED_UNACKNOWLEDGED),
                (HIGH, State.UNACKNOWLEDGED),
            ]  # fmt: skip  (urgent before high)
            assert engine.alarms(priorities={"high"})[0].value == 85
            assert engine.alarms(under="site/area/other") == []
            assert len(engine.alarms(include_normal=True)) == 4  # high, low, fault 7, fault 9

            acked = await engine.acknowledge([HIGH, FAULT7, f"{EQ}:fault:9"], "li.wei", "seen")
            assert [s.id for s in acked] == [HIGH, FAULT7]  # fault 9 needed nothing
            high = engine.status(HIGH)
            assert (high.state, high.acked_by, high.acked_at, high.ack_comment) == (
                State.ACKNOWLEDGED, "li.wei", clock.t, "seen",
            )  # fmt: skip
            assert engine.status(FAULT7).state is State.NORMAL
            until = clock.t + 3600 * S
            shelved = await engine.shelve(LOW, "ops", until, "sensor being replaced")
            assert (shelved.state, shelved.shelved_until) == (State.SHELVED, until)

            with pytest.raises(UnknownAlarmError):
                await engine.acknowledge(["no/such:high"], "li.wei")
            with pytest.raises(ValueError, match="user"):
                await engine.acknowledge([HIGH], "  ")
            with pytest.raises(ValueError, match="future"):
                await engine.shelve(HIGH, "ops", clock.t - 1, "why")
            with pytest.raises(ValueError, match="at most"):
                await engine.shelve(HIGH, "ops", clock.t + 8 * 86_400 * S, "why")
        finally:
            await engine.stop()
        before = {s.id: s for s in engine.alarms(include_normal=True)}

        # What the journal holds: one ALARM event per transition, code = alarm id.
        events = store.events(0, 2**62, kinds=[EventKind.ALARM])
        assert events.column("code").to_pylist()[:2] == [HIGH, FAULT7]
        first = json.loads(events.column("detail")[0].as_py())
        assert (first["a"], first["s"], first["p"]) == ("activate", "unacknowledged", "high")

    # A new process on the same store: every status is as it was.
    with DuckDBStore(tmp_path / "a.duckdb") as store:
        ids = register_plant(store, p)
        again = AlarmEngine(p, store, ids, clock=clock)
        await again.start(live=False)
        try:
            assert {s.id: s for s in again.alarms(include_normal=True)} == before
            # The value went back to normal meanwhile: its first sample clears the alarm.
            await feed(again, ids, "temp", [200], [60])
            assert again.status(HIGH).state is State.NORMAL
            history = await again.history(T0, T0 + 300 * S, alarm_id=HIGH)
            assert [r.action for r in history] == [
                Action.ACTIVATE,
                Action.ACKNOWLEDGE,
                Action.CLEAR,
            ]
            assert (history[1].user, history[1].comment) == ("li.wei", "seen")
            load = await again.load(T0, T0 + 600 * S)
            assert load.total == 2 and load.peak_per_10min == 2
        finally:
            await again.stop()


async def test_shelving_expires_and_the_timer_raises_stale_alarms(tmp_path: Path) -> None:
    p = plant({"high": {"limit": 80}, "stale": {"after_s": 30}})
    clock = Clock(T0)
    with DuckDBStore(tmp_path / "b.duckdb") as store:
        ids = register_plant(store, p)
        engine = AlarmEngine(p, store, ids, clock=clock, check_interval_s=3600)
        await engine.start(live=True)
        try:
            await engine.shelve(f"{EQ}/temp:high", "ops", T0 + 60 * S, "calibration")
            await feed(engine, ids, "temp", [1], [95])
            assert engine.status(f"{EQ}/temp:high").state is State.SHELVED
            assert engine.alarms(states={"unacknowledged"}) == []  # shelved: not annunciated
            clock.t = T0 + 61 * S
            await engine.tick()
            high = engine.status(f"{EQ}/temp:high")
            assert (high.state, high.shelved_by) == (State.UNACKNOWLEDGED, "")  # still hot
            stale = engine.status(f"{EQ}/temp:stale")
            assert (stale.state, stale.activated_at) == (State.UNACKNOWLEDGED, T0 + 31 * S)
            await feed(engine, ids, "temp", [62], [70])
            assert engine.status(f"{EQ}/temp:stale").state is State.CLEARED_UNACKNOWLEDGED
        finally:
            await engine.stop()
        actions = [r.action for r in await engine.history(T0, T0 + 100 * S)]
        assert actions.count(Action.EXPIRE) == 1


async def test_batches_waiting_in_the_intake_are_evaluated_at_once(tmp_path: Path) -> None:
    """Under load a connector delivers every few hundred points; the engine takes what has
    piled up in one evaluation (one thread hand-off), and judges it in time order."""
    p = rules()
    with DuckDBStore(tmp_path / "a.duckdb") as store:
        ids = register_plant(store, p)
        engine = AlarmEngine(p, store, ids, clock=Clock(T0 + 100 * S))
        sizes: list[int] = []
        evaluate = engine._evaluator.evaluate

        def counting(batch: PointBatch) -> object:
            sizes.append(len(batch))
            return evaluate(batch)

        engine._evaluator.evaluate = counting  # type: ignore[method-assign,assignment]
        temp = ids[f"{EQ}/temp"]
        # Delivered out of time order: 85 at 2 s arrives before 50 at 1 s and 86 at 3 s.
        for secs, value in ((2, 85.0), (1, 50.0), (3, 86.0)):
            await engine.intake.publish_points(PointBatch.of(T0 + secs * S, temp, value))
        await engine.start(live=False)
        await engine.stop()
        assert sizes == [3]
        assert engine.stats.points == 3
        high = engine.status(HIGH)
        assert (high.state, high.value) == (State.UNACKNOWLEDGED, 85)  # raised by the 85 at 2 s
