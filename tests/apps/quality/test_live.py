from __future__ import annotations

from pathlib import Path

from smartfab.apps.monitoring.alarms.engine import AlarmEngine
from smartfab.apps.monitoring.alarms.lifecycle import State
from smartfab.apps.quality.live import LiveScoring
from smartfab.platform.catalog import register_plant
from smartfab.platform.store.duckdb import DuckDBStore
from tests.apps.quality.plant import EQUIPMENT, filled

START = 1_767_571_200_000_000
DAY = 86_400_000_000


async def test_the_latest_part_is_scored_and_its_risk_raises_and_clears_the_alarm(
    tmp_path: Path,
) -> None:
    plant, path = filled(tmp_path, START, days=40)
    with DuckDBStore(path) as store:
        ids = register_plant(store, plant)
        engine = AlarmEngine(plant, store, ids)
        await engine.start(live=False)
        try:
            scoring = LiveScoring(store, plant, engine, history_days=39)
            now = START + 40 * DAY
            risk = (await scoring.tick(now))[EQUIPMENT]
            assert 0 <= risk <= 1
            assert await scoring.tick(now) == {}  # no new part: nothing scored again
            alarm = f"{EQUIPMENT}:predicted_defect"
            # The engine runs the alarm's life cycle: raised, then cleared with the new risk.
            status = await engine.predict_defect(EQUIPMENT, True, now, 0.5, "high")
            assert status is not None and status.state is State.UNACKNOWLEDGED
            assert status.priority == "high" and "defect" in status.message.lower()
            cleared = await engine.predict_defect(EQUIPMENT, False, now + 1, 0.01)
            assert cleared is not None and not cleared.active
            assert engine.status(alarm).value == 0.01
        finally:
            await engine.stop()
