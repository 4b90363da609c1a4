"""An alarm rule tried on the stored history before it is enabled: how often it would have
fired and for how long (``smartfab.apps.monitoring.alarms.backtest``). Engineers tune rules
(``alarms.rules``) in their part of the plant; the rule is saved through ``/api/plant/edits``."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from smartfab.apps.monitoring.alarms.backtest import Rule, backtest
from smartfab.model.plant import FlatlineAlarm, LimitAlarm, RateAlarm, StaleAlarm
from smartfab.platform.points import PointBatch
from smartfab.platform.queries import PlantData, TimeRange
from smartfab.platform.security.roles import Principal
from smartfab.web.auth import require
from smartfab.web.schemas import End, Start

RULES = require("alarms.rules")
MAX_POINTS = 5_000_000  # of one test; a longer window is refused
_RULE_TYPES: dict[str, TypeAdapter[Any]] = {
    **{k: TypeAdapter(LimitAlarm) for k in ("high_high", "high", "low", "low_low")},
    "rate": TypeAdapter(RateAlarm), "stale": TypeAdapter(StaleAlarm),
    "flatline": TypeAdapter(FlatlineAlarm),
}  # fmt: skip


class RuleIn(BaseModel):
    kind: Literal["high_high", "high", "low", "low_low", "rate", "stale", "flatline"]
    rule: dict[str, Any] = Field(description="The rule as the plant file writes it")


def router(data: PlantData) -> APIRouter:
    api = APIRouter(tags=["alarms"])

    @api.post(
        "/alarm-rules/test",
        summary="How often a signal's alarm rule would have fired on the stored history",
        description="Default window: the last 7 days.",
    )
    async def test(
        ask: RuleIn,
        who: Annotated[Principal, RULES],
        signal: Annotated[str, Query(description="Signal path")],
        start: Start = None,
        end: End = None,
    ) -> dict[str, Any]:
        try:
            rule: Rule = _RULE_TYPES[ask.kind].validate_python(ask.rule)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "rule"
            raise HTTPException(422, f"rule.{where}: {first['msg']}") from None
        info = data.signal(signal)  # 404 for an unknown one
        if info.data_type in ("string", "array"):
            raise HTTPException(422, f"{signal}: a {info.data_type} signal has no alarm rules")
        r = TimeRange.of(start, end, default=timedelta(days=7))
        t = await asyncio.to_thread(
            data.store.raw, [info.id], r.start_us, r.end_us, MAX_POINTS + 1, "number"
        )
        if t.num_rows > MAX_POINTS:
            raise HTTPException(
                422, f"the window holds more than {MAX_POINTS:,} points: shorten it"
            )
        points = PointBatch.of(
            t["ts"].cast("int64").to_numpy(), 0, t["value"].to_numpy(zero_copy_only=False),
            t["quality"].to_numpy(zero_copy_only=False).astype(np.uint8),
        )  # fmt: skip
        found = await asyncio.to_thread(
            backtest, ask.kind, rule, signal, info.unit, points, r.start_us, r.end_us
        )
        return {
            "alarm": found.alarm, "message": found.message, "start_us": found.start_us,
            "end_us": found.end_us, "points": found.points, "activations": found.activations,
            "per_day": found.per_day, "active_s": found.active_s,
            "episodes": [
                {"start_us": e.start_us, "end_us": e.end_us, "value": e.value}
                for e in found.episodes
            ],
        }  # fmt: skip

    return api
