"""A machine's process in the virtual factory: every part of the machine's timeline is made
through its ``VirtualProcess`` under the settings in force, and shown by the machine's signals.

A machine of a model with a process (``PROCESSES``: cnc, press) has it when one of its signals
simulates a process quantity (``Signal.sim``):

    <parameter>        the setting in force (spindle_speed_sp, feed_rate_sp, ...), sampled on
                       the signal's grid like any other signal
    inspection         each part's inspection result: 0 good, else the defect type's code
    <characteristic>   each part's measured characteristic (roughness_ra, thickness_dev)
    tool_count         parts made since the tool was changed, at each part
    hall_temp          the hall temperature measured at each part
    material_lot       the material lot of each part (the process's lots, whose hardness drives
                       its defects, instead of the model's)

The per-part quantities have one sample per part, at its end, whatever the signal's
``sample_s``; the machine's energy meter (``energy``) adds the process energy of every part
finished to the machine's own consumption.

Settings: until a parameter is written (``hold`` while running; ``written`` for a write from
before the simulation's start, which a restart replays), the virtual process engineers try
settings around the nominal ones as ``engineers_trials`` does, a new one every ``TRIAL_H`` hours
on an epoch-aligned grid, each move within the parameters' rate limits; so the history holds the
variety of settings the optimiser learns from. Once a parameter is written the engineers stop,
and the machine keeps what was written, as a PLC keeps a setpoint.

Pace: the settings in force set how long the machine's cycles take (``pace``: the process
truth's cycle time relative to that of the nominal settings, by which the machine's timeline
scales its ideal cycle), so its parts per hour follow them.

Parts are made one at a time, each drawing the same random numbers however the factory's time is
chunked, so that a backfill and the live devices tell the same story for a seed.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from smartfab.platform.points import Float64Array, Int64Array, ObjectArray
from smartfab.virtual.models.table import LOT_DIGITS
from smartfab.virtual.process import PROCESSES, Parts, ProcessSpec, VirtualProcess
from smartfab.virtual.streams import entropy

TRIAL_H = 4.0  # how often the virtual engineers try a new setting
_TRIAL_US = round(TRIAL_H * 3600e6)
_NEVER = 2**62
# Per-part quantities common to every process; the characteristic is the spec's own.
_PART_QUANTITIES = frozenset({"inspection", "tool_count", "hall_temp", "material_lot"})


def process_quantities(model: str) -> frozenset[str]:
    """The process quantities a machine of ``model`` simulates (empty: the model has none)."""
    spec = PROCESSES.get(model)
    if spec is None:
        return frozenset()
    return frozenset(spec.names) | _PART_QUANTITIES | {spec.characteristic}


def part_quantities(model: str) -> frozenset[str]:
    """The process quantities with one sample per part."""
    return process_quantities(model) - frozenset(PROCESSES[model].names)


@dataclass(frozen=True, slots=True)
class Written:
    """A setpoint written to a device at ``ts_us``, through the audited setpoint path."""

    ts_us: int
    path: str  # the signal's path
    value: float


def in_force(writes: Sequence[Written], start_us: int | None) -> list[Written]:
    """What of ``writes`` a simulation from ``start_us`` (None: now) needs: the last value written
    to each signal before it, and every write after it."""
    ordered = sorted(writes, key=lambda w: w.ts_us)
    before = {w.path: w for w in ordered if start_us is None or w.ts_us <= start_us}
    return [*before.values(), *(w for w in ordered if start_us is not None and w.ts_us > start_us)]


class ProcessSim:
    """The process of the machine at ``path``, advanced with the factory from ``start_us``."""

    def __init__(
        self, spec: ProcessSpec, seed: int, path: str, utc_offset_s: float, material: str,
        start_us: int,
    ) -> None:  # fmt: skip
        self.spec = spec
        self.process = VirtualProcess.create(spec, seed, path, utc_offset_s)
        truth = self.process.truth
        self._nominal_cycle_s = float(truth.cycle_s(truth.scale(self.process.settings))[0])
        self._trials = np.random.default_rng(entropy(seed, f"{path}#trials"))
        self._material = material
        self._start = start_us
        self._next_trial = -(-start_us // _TRIAL_US) * _TRIAL_US
        self._trials_end = _NEVER  # the first write: the engineers try no more settings
        # Writes known in advance (written before the simulation was started), in time order,
        # and the first of them not yet among the changes.
        self._writes: list[tuple[int, int, float]] = []
        self._next_write = 0
        # The settings from each change on; the first is in force from the start. Changes are
        # known ahead of the parts made: the machine's pace asks for them (``pace``).
        self._change_ts: Int64Array = np.array([start_us], np.int64)
        self._change_rows: Float64Array = self.process.settings[None, :].copy()
        self.parts = _no_parts(len(spec.parameters))
        # Process energy of the parts before the current chunk's, then after each of them.
        self._cumulative: Float64Array = np.zeros(1)

    def written(self, name: str, value: float, at_us: int) -> None:
        """A parameter was written at ``at_us`` before the simulation was started (a setpoint the
        device keeps): in force from then on, no trials after it. Written before the start, it is
        the setting from the start. Only before the process is advanced or paced."""
        i = self._index(name, value)
        self._trials_end = min(self._trials_end, max(at_us, self._start))
        if at_us <= self._start:
            self._change_rows[0, i] = value
        else:
            bisect.insort(self._writes, (at_us, i, value))

    def hold(self, name: str, value: float, at_us: int) -> None:
        """A parameter written now: ``value`` from ``at_us`` on (for parts not made yet), and
        the engineers try no more settings."""
        i = self._index(name, value)
        self._trials_end = min(self._trials_end, at_us)
        # Changes already planned after it (the machine's pace looks ahead) are undone: the
        # trials are over, and writes known in advance are planned again after this one.
        keep = max(1, int(np.searchsorted(self._change_ts, at_us, "right")))
        self._change_ts, self._change_rows = self._change_ts[:keep], self._change_rows[:keep]
        done = bisect.bisect_right(self._writes, (at_us, len(self.spec.names), 0.0))
        self._next_write = min(self._next_write, done)
        row = self._change_rows[-1].copy()
        row[i] = value
        self._add_change(max(at_us, int(self._change_ts[-1])), row)

    def pace(self, at_us: int) -> float:
        """How long a cycle takes under the settings in force at ``at_us``, relative to the
        nominal settings (the process truth's cycle time): the machine's cycles follow it. Never
        less than 1: the plant file's ideal cycle is the nominal settings' (loading, tool changes
        and the axes' travel bound the rest), and no machine beats its ideal cycle, which would
        put its OEE above 100 %."""
        self._plan(at_us + 1)
        row = self._change_rows[max(int(np.searchsorted(self._change_ts, at_us, "right")) - 1, 0)]
        truth = self.process.truth
        return max(1.0, float(truth.cycle_s(truth.scale(row))[0]) / self._nominal_cycle_s)

    def advance(self, part_end: Int64Array, part_s: Float64Array, start: int, until: int) -> None:
        """Make the parts the machine finishes in [start, until) (``part_end`` and cycle times
        ``part_s`` of its timeline) under the settings in force at each part's end."""
        self._plan(until)
        # Only the change in force at ``start`` and later ones are still needed.
        keep = max(0, int(np.searchsorted(self._change_ts, start, "right")) - 1)
        self._change_ts, self._change_rows = self._change_ts[keep:], self._change_rows[keep:]
        lo, hi = np.searchsorted(part_end, [start, until])
        ends, cycles = part_end[lo:hi], part_s[lo:hi]
        rows = np.searchsorted(self._change_ts, ends, "right") - 1
        made = []
        for i in range(len(ends)):
            self.process.settings = self._change_rows[rows[i]]
            made.append(self.process.make(ends[i : i + 1], cycles[i : i + 1]))
        self.process.history.clear()  # the hidden truth of each part is not kept here
        self.parts = _concat(made) if made else _no_parts(len(self.spec.parameters))
        # Summed on from the carried total: the same additions however time is chunked.
        self._cumulative = np.cumsum(np.r_[self._cumulative[-1], self.parts.energy_kwh])

    def latest(self, name: str, at_us: int) -> float:
        """The parameter ``name`` in force at ``at_us`` (at or after the current chunk)."""
        return float(self.setting(name, np.array([at_us], np.int64))[0])

    def setting(self, name: str, ts: Int64Array) -> Float64Array:
        """The parameter ``name`` in force at each of ``ts`` (within the current chunk)."""
        i = self.spec.names.index(name)
        at = np.maximum(np.searchsorted(self._change_ts, ts, "right") - 1, 0)
        out: Float64Array = self._change_rows[at, i]
        return out

    def energy_at(self, ts: Int64Array) -> Float64Array:
        """Process energy (kWh) of every part finished at or before each of ``ts``."""
        done = np.searchsorted(self.parts.ts, ts, "right")
        out: Float64Array = self._cumulative[done]
        return out

    def per_part(self, quantity: str) -> Float64Array:
        """A per-part number quantity of the parts of the current chunk."""
        p = self.parts
        match quantity:
            case "inspection":
                return p.defect.astype(np.float64)
            case "tool_count":
                return p.tool_count.astype(np.float64)
            case "hall_temp":
                return p.ambient_c
        assert quantity == self.spec.characteristic, quantity
        return p.characteristic

    def lots(self) -> ObjectArray:
        """The material lot of each part of the current chunk, as the machine's lot ids."""
        numbers, at = np.unique(self.parts.lot, return_inverse=True)
        ids = np.array([f"{self._material}-{n % 10**LOT_DIGITS:0{LOT_DIGITS}d}" for n in numbers],
                       object)  # fmt: skip
        out: ObjectArray = ids[at]
        return out

    def _trial(self) -> Float64Array:
        """The next setting the engineers try: a step of at most each parameter's limit,
        drawn back towards nominal, so that they do not wander off for good."""
        ps = self.spec.parameters
        low, high = np.array([p.low for p in ps]), np.array([p.high for p in ps])
        nominal, step = np.array([p.nominal for p in ps]), np.array([p.max_step for p in ps])
        now = self._change_rows[-1]
        move = 0.3 * (nominal - now) + self._trials.normal(0, 0.6, len(ps)) * step
        out: Float64Array = np.clip(now + np.clip(move, -step, step), low, high)
        return out

    def _plan(self, until: int) -> None:
        """The changes before ``until``: the engineers' trials until the first write, and the
        writes known in advance, in time order."""
        while True:
            trial = self._next_trial if self._next_trial < self._trials_end else _NEVER
            write = self._writes[self._next_write][0] if self._next_write < len(self._writes) \
                else _NEVER  # fmt: skip
            if min(trial, write) >= until:
                return
            if trial < write:
                self._add_change(trial, self._trial())
                self._next_trial += _TRIAL_US
            else:
                _, i, value = self._writes[self._next_write]
                self._next_write += 1
                row = self._change_rows[-1].copy()
                row[i] = value
                self._add_change(max(write, int(self._change_ts[-1])), row)

    def _index(self, name: str, value: float) -> int:
        i = self.spec.names.index(name)
        p = self.spec.parameters[i]
        if not p.low <= value <= p.high:
            raise ValueError(f"{name}: {value:g} {p.unit} outside [{p.low:g}, {p.high:g}]")
        return i

    def _add_change(self, at_us: int, row: Float64Array) -> None:
        self._change_ts = np.r_[self._change_ts, np.int64(at_us)]
        self._change_rows = np.vstack([self._change_rows, row[None, :]])


def _no_parts(parameters: int) -> Parts:
    f, i = np.empty(0), np.empty(0, np.int64)
    return Parts(i, np.empty((0, parameters)), f, i, i, f, f, f, i)


def _concat(parts: list[Parts]) -> Parts:
    cat = np.concatenate
    return Parts(
        cat([p.ts for p in parts]), cat([p.params for p in parts]),
        cat([p.ambient_c for p in parts]), cat([p.tool_count for p in parts]),
        cat([p.lot for p in parts]), cat([p.energy_kwh for p in parts]),
        cat([p.cycle_s for p in parts]), cat([p.characteristic for p in parts]),
        cat([p.defect for p in parts]),
    )  # fmt: skip
