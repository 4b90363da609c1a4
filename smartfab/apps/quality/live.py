"""Defect risk scored live: every so often, the parts inspected since the last look are scored
by each equipment's defect model (relearnt from its recent history once a day) and the
predicted-defect alarm of the alarm engine is raised while the latest part's risk of any defect
exceeds the plant file's ``risk_alarm``, cleared when it falls below it again."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import numpy as np

from smartfab.apps.monitoring.alarms.engine import AlarmEngine
from smartfab.apps.quality.defects import DefectModel
from smartfab.apps.quality.parts import NotEnoughData
from smartfab.apps.quality.store import ProcessConfigError, parts_from_store, processes
from smartfab.model.plant import Plant
from smartfab.platform.points import now_us
from smartfab.platform.store.base import Store

log = logging.getLogger(__name__)
_DAY_US = 86_400_000_000


@dataclass
class LiveScoring:
    store: Store
    plant: Plant
    engine: AlarmEngine | None
    history_days: float = 30
    relearn_us: int = _DAY_US
    models: dict[str, tuple[int, DefectModel]] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)  # equipment -> last part scored

    async def tick(self, now: int | None = None) -> dict[str, float]:
        """Score the new parts of every equipment with a risk alarm; the latest risk of each."""
        now = now_us() if now is None else now
        out: dict[str, float] = {}
        for ref in processes(self.plant):
            pr = ref.equipment.process
            if pr is None or pr.risk_alarm is None:
                continue
            try:
                risk, ts = await asyncio.to_thread(self._score, ref.path, now)
            except (NotEnoughData, ProcessConfigError) as exc:
                log.info("defect risk of %s not scored: %s", ref.path, exc)
                continue
            if ts is None:
                continue
            out[ref.path] = risk
            if self.engine is not None:
                await self.engine.predict_defect(ref.path, risk > pr.risk_alarm, ts, risk,
                                                 pr.alarm_priority)  # fmt: skip
        return out

    def _score(self, equipment: str, now: int) -> tuple[float, int | None]:
        table = parts_from_store(
            self.store, self.plant, equipment, now - int(self.history_days * _DAY_US), now
        )
        trained = self.models.get(equipment)
        if trained is None or now - trained[0] > self.relearn_us:
            trained = self.models[equipment] = (now, DefectModel.fit(table))
        model = trained[1]
        last = self.seen.get(equipment, 0)
        if int(table.ts[-1]) <= last:
            return 0.0, None
        self.seen[equipment] = int(table.ts[-1])
        p = model.predict_matrix(model.matrix(table)[-1:])
        return float(1 - np.prod(1 - p[0])), int(table.ts[-1])


async def run_live_scoring(scoring: LiveScoring, every_s: float = 60.0) -> None:
    """Tick every ``every_s`` until cancelled."""
    while True:
        try:
            await scoring.tick()
        except Exception:  # a bug in one round must not end the scoring for good
            log.exception("live defect scoring failed")
        await asyncio.sleep(every_s)
