"""The alarm rules of a plant file, compiled into columns for vectorised evaluation.

The plant file declares rules per signal (limits, rate of change, stale, flatline) and per
equipment (machine states, fault codes; see :class:`smartfab.model.plant.SignalAlarms` and
:class:`~smartfab.model.plant.EquipmentAlarms`). Here every rule becomes one row of an
:class:`AlarmTable`: one alarm, with a stable id, fed by one signal. The table also indexes the
alarms by signal id (CSR: ``first[sid]`` and ``count[sid]``), so that the points of a batch can be
expanded into one row per (point, alarm) without a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from smartfab.model.plant import (
    PRIORITIES,
    FlatlineAlarm,
    LimitAlarm,
    Plant,
    Priority,
    RateAlarm,
    StaleAlarm,
)
from smartfab.model.units import display_unit
from smartfab.platform.points import Float64Array, Int64Array

ObjectArray = npt.NDArray[np.object_]
IntpArray = npt.NDArray[np.intp]
_US = 1_000_000


class Kind(IntEnum):
    HIGH = 0  # high and high-high: value above the limit
    LOW = 1  # low and low-low
    RATE = 2
    STALE = 3
    FLATLINE = 4
    STATE = 5  # the state signal equals ``code``
    FAULT = 6  # the fault signal equals ``code``
    PREDICTED = 7  # a maintenance model predicts a failure (raised by the maintenance app)


_WHAT = {
    "high_high": "high-high", "high": "high", "low": "low", "low_low": "low-low",
    "rate": "rate of change", "stale": "no update", "flatline": "flatline",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm as the plant file defines it."""

    id: str  # "<signal path>:<high|high_high|low|low_low|rate|stale|flatline>",
    #          "<equipment path>:state:<name>" or "<equipment path>:fault:<code>"
    equipment: str
    signal: str  # path of the signal that feeds it
    kind: Kind
    priority: Priority
    message: str
    limit: float = np.nan  # HIGH/LOW limit, RATE limit (units per ``per_s``)
    deadband: float = 0.0
    delay_s: float = 0.0  # on-delay
    per_s: float = 60.0  # RATE
    after_s: float = 0.0  # STALE, FLATLINE
    tolerance: float = 0.0  # FLATLINE
    code: float = np.nan  # STATE, FAULT: the register value

    @property
    def value_is_code(self) -> bool:
        """The value is a state or fault code (212), not a measurement (212.37): shown as the
        whole number it is."""
        return self.kind in (Kind.STATE, Kind.FAULT)


def priority_rank(priority: str) -> int:
    """0 for low up to 3 for urgent."""
    return PRIORITIES.index(priority)  # type: ignore[arg-type]


def signal_alarm(
    name: str, rule: LimitAlarm | RateAlarm | StaleAlarm | FlatlineAlarm, path: str, eq: str,
    unit: str,
) -> Alarm:  # fmt: skip
    """The alarm of one signal rule ``name`` (high, rate, ...)."""
    short = path.rsplit("/", 1)[1]
    common = Alarm(f"{path}:{name}", eq, path, Kind.HIGH, rule.priority, rule.message)
    if isinstance(rule, LimitAlarm):
        kind = Kind.HIGH if name.startswith("high") else Kind.LOW
        side = "above" if kind == Kind.HIGH else "below"
        text = f"{short} {_WHAT[name]}: {side} {rule.limit:g}{unit}"
        return replace(
            common, kind=kind, message=rule.message or text,
            limit=rule.limit, deadband=rule.deadband, delay_s=rule.delay_s,
        )  # fmt: skip
    if isinstance(rule, RateAlarm):
        text = f"{short} changes faster than {rule.limit:g}{unit} per {rule.per_s:g} s"
        return replace(
            common, kind=Kind.RATE, message=rule.message or text,
            limit=rule.limit, deadband=rule.deadband, delay_s=rule.delay_s, per_s=rule.per_s,
        )  # fmt: skip
    if isinstance(rule, StaleAlarm):
        text = f"{short}: no update for {rule.after_s:g} s"
        return replace(
            common, kind=Kind.STALE, message=rule.message or text,
            after_s=rule.after_s,
        )  # fmt: skip
    text = f"{short}: value frozen for {rule.after_s:g} s"
    return replace(
        common, kind=Kind.FLATLINE, message=rule.message or text,
        after_s=rule.after_s, tolerance=rule.tolerance,
    )  # fmt: skip


_SIGNAL_RULES = ("high_high", "high", "low", "low_low", "rate", "stale", "flatline")


PREDICTED_FAILURE = "predicted_failure"


def predicted_failure_alarm(equipment: str) -> Alarm:
    """The alarm an equipment raises when a maintenance model predicts its failure within the
    horizon (``value``: the predicted remaining useful life in hours). Not in the plant file:
    the maintenance app raises and clears it, the engine runs its life cycle."""
    return Alarm(
        id=f"{equipment}:{PREDICTED_FAILURE}", equipment=equipment, signal="",
        kind=Kind.PREDICTED, priority="high",
        message="Failure predicted within the maintenance horizon",
    )  # fmt: skip


PREDICTED_DEFECT = "predicted_defect"


def predicted_defect_alarm(equipment: str, priority: Priority = "medium") -> Alarm:
    """The alarm an equipment raises when defect prediction rates the risk of its latest part
    above the plant file's ``risk_alarm`` (``value``: the predicted probability of a defect).
    Raised and cleared by the quality app, like the predicted failure by maintenance."""
    return Alarm(
        id=f"{equipment}:{PREDICTED_DEFECT}", equipment=equipment, signal="",
        kind=Kind.PREDICTED, priority=priority,
        message="Defect risk of the latest part above its limit",
    )  # fmt: skip


PREDICTED_LATE = "order_late"


def predicted_late_alarm(zone: str, order: str) -> Alarm:
    """The alarm of a customer order that a storage zone (its path) is expected to ship after
    its due time (``value``: the hours its ETA is past due). One alarm per order, so that the
    list says which; the warehouse raises it while the prediction holds and clears it when the
    order ships or is expected on time again."""
    return Alarm(
        id=f"{zone}:{PREDICTED_LATE}:{order}", equipment=zone, signal="",
        kind=Kind.PREDICTED, priority="high",
        message=f"Order {order} expected to ship after its due time",
    )  # fmt: skip


def plant_alarms(plant: Plant) -> list[Alarm]:
    """Every alarm the plant file declares, in file order."""
    out: list[Alarm] = []
    for eq in plant.iter_equipment():
        equipment = eq.equipment
        for sig in equipment.signals:
            if sig.alarms is None:
                continue
            unit = f" {shown}" if (shown := display_unit(sig.unit)) else ""
            for name in _SIGNAL_RULES:
                rule = getattr(sig.alarms, name)
                if rule is not None and rule.enabled:
                    out.append(signal_alarm(name, rule, f"{eq.path}/{sig.name}", eq.path, unit))
        rules_eq = equipment.alarms
        if rules_eq is None:
            continue
        by_role = {s.role: f"{eq.path}/{s.name}" for s in equipment.signals}
        codes = {name: code for code, name in equipment.states.items()}
        for state, rule in rules_eq.states.items():
            if not rule.enabled:
                continue
            out.append(
                Alarm(
                    id=f"{eq.path}:state:{state}",
                    equipment=eq.path,
                    signal=by_role["state"],
                    kind=Kind.STATE,
                    priority=rule.priority,
                    message=rule.message or f"{equipment.name} is {state.replace('_', ' ')}",
                    delay_s=rule.delay_s,
                    code=float(codes[state]),
                )
            )
        faults = rules_eq.faults
        if faults is not None and faults.enabled:
            for code in faults.codes or sorted(equipment.faults):
                text = f"{equipment.name} fault {code}: {equipment.faults.get(code, 'unknown')}"
                out.append(
                    Alarm(
                        id=f"{eq.path}:fault:{code}",
                        equipment=eq.path,
                        signal=by_role["fault"],
                        kind=Kind.FAULT,
                        priority=faults.priorities.get(code, faults.priority),
                        message=faults.message or text,
                        delay_s=faults.delay_s,
                        code=float(code),
                    )
                )
    return out


@dataclass(frozen=True, slots=True)
class AlarmTable:
    """The alarms as columns, ordered by signal id, and their index by signal id."""

    alarms: tuple[Alarm, ...]
    signal_id: npt.NDArray[np.int32]
    kind: npt.NDArray[np.int8]
    limit: Float64Array
    deadband: Float64Array
    delay_us: Int64Array
    per_s: Float64Array
    after_us: Int64Array
    tolerance: Float64Array
    code: Float64Array
    first: IntpArray  # first alarm row of each signal id
    count: IntpArray  # number of alarms of each signal id (0 for signals without)

    @classmethod
    def of(cls, alarms: list[Alarm], signal_ids: dict[str, int]) -> AlarmTable:
        """The table of ``alarms``; ``signal_ids`` maps signal paths to the store's ids."""
        ordered = sorted(alarms, key=lambda a: signal_ids[a.signal])
        sid = np.array([signal_ids[a.signal] for a in ordered], np.int32)
        size = max(signal_ids.values(), default=-1) + 1
        count = np.bincount(sid, minlength=size).astype(np.intp)
        first = (np.cumsum(count) - count).astype(np.intp)

        def col(name: str) -> Float64Array:
            return np.array([getattr(a, name) for a in ordered], np.float64)

        return cls(
            tuple(ordered), sid, np.array([a.kind for a in ordered], np.int8),
            col("limit"), col("deadband"), (col("delay_s") * _US).astype(np.int64),
            col("per_s"), (col("after_s") * _US).astype(np.int64), col("tolerance"), col("code"),
            first, count,
        )  # fmt: skip

    @classmethod
    def from_plant(cls, plant: Plant, signal_ids: dict[str, int]) -> AlarmTable:
        return cls.of(plant_alarms(plant), signal_ids)

    def __len__(self) -> int:
        return len(self.alarms)

    def rows_of(self, signal_id: npt.NDArray[np.int32]) -> tuple[IntpArray, IntpArray]:
        """For points of these signal ids, one row per (point, alarm of its signal): the index of
        the point and of the alarm."""
        sid = signal_id.astype(np.intp)
        inside = (sid >= 0) & (sid < len(self.count))
        n = np.where(inside, self.count[np.where(inside, sid, 0)], 0)
        point = np.repeat(np.arange(len(sid)), n)
        # Position of each expanded row within its point's run of alarms: 0, 1, ...
        run_start = np.repeat(np.cumsum(n) - n, n)
        alarm = self.first[sid[point]] + (np.arange(len(point)) - run_start)
        return point, alarm.astype(np.intp)
