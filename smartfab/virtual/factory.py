"""The virtual factory: every simulated machine of a plant, advanced together through time.

``advance_all(until_us)`` returns the samples of every simulated signal on its own sampling grid
(aligned to the epoch, so a value's time does not depend on when the simulation started), numbers,
texts and arrays in a batch of their kind, and the ground-truth failures in that range;
``advance`` returns only the numbers and failures. It serves both the live demo, advanced in small
steps behind the protocol servers, and the backfill of history, advanced in large chunks much
faster than real time; for a seed, a plant and a start time the output is the same either way.

A machine whose signals simulate process quantities (``smartfab.virtual.process_sim``) makes its
parts through its virtual process: their inspection results and measurements come one sample per
part, its parameters hold what the engineers try, or what was written (``hold``, or ``writes``
from before the start), and its cycles go at the pace those settings allow.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from smartfab.errors import SmartfabError
from smartfab.model.plant import DEFAULT_STATES, Equipment, Plant, Signal, SignalRef, value_kind
from smartfab.platform.points import (
    ArrayBatch,
    EventBatch,
    EventKind,
    Int64Array,
    PointBatch,
    Quality,
    TextBatch,
)
from smartfab.virtual.calendar import ShiftCalendar
from smartfab.virtual.equipment import Failure, Timeline, VirtualEquipment
from smartfab.virtual.models import (
    ARRAY_QUANTITIES,
    MODELS,
    MODES,
    TEXT_QUANTITIES,
    EquipmentModel,
)
from smartfab.virtual.models import known_quantities as model_quantities
from smartfab.virtual.process import PROCESSES
from smartfab.virtual.process_sim import (
    ProcessSim,
    Written,
    part_quantities,
    process_quantities,
)
from smartfab.virtual.signals import ArraySim, Sampler, SignalSim, TextSim
from smartfab.virtual.streams import entropy

__all__ = [
    "Advance", "Failure", "VirtualFactory", "VirtualFactoryError", "Written", "known_quantities",
]  # fmt: skip

log = logging.getLogger(__name__)


_FAULT_TEXT = {f.fault_code: f.text for m in MODELS.values() for f in m.failures}


class VirtualFactoryError(SmartfabError):
    """The plant asks for something the virtual factory cannot simulate."""


class Advance(NamedTuple):
    """What the factory produced over a range of time: samples of each kind, and failures."""

    points: PointBatch
    texts: TextBatch
    arrays: ArrayBatch
    failures: EventBatch


def known_quantities(model: str) -> frozenset[str]:
    """The quantities (``Signal.sim``) a machine of the virtual ``model`` simulates, its
    process's included; empty for an unknown model."""
    return model_quantities(model) | process_quantities(model)


@dataclass(frozen=True, slots=True)
class ParameterSim:
    """A process parameter's signal: the setting in force at each sample."""

    signal_id: int
    quantity: str


Sim = SignalSim | TextSim | ArraySim | ParameterSim


@dataclass
class _Machine:
    equipment: VirtualEquipment
    state_codes: Int64Array
    lots: tuple[int, int]  # parts per material lot, number of the first lot
    grids: dict[int, list[Sim]] = field(default_factory=dict)  # sample period (us) -> signals
    process: ProcessSim | None = None
    per_part: list[tuple[int, str]] = field(default_factory=list)  # (signal id, quantity)


class VirtualFactory:
    def __init__(
        self,
        plant: Plant,
        signal_ids: Mapping[str, int],
        *,
        seed: int,
        start_us: int,
        writes: Sequence[Written] = (),
    ) -> None:
        """``writes``: the setpoints written to the plant's devices before (the audited path
        keeps them); a process parameter holds its value from the time written on, as a PLC
        keeps a setpoint over a restart, and its machine's engineers try no more settings from
        the first one on. Writes to other signals are the devices' own business."""
        try:
            zone = ZoneInfo(plant.site.timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise VirtualFactoryError(
                f"site {plant.site.name}: unknown timezone {plant.site.timezone!r}"
            ) from e
        self._now = start_us
        calendar = ShiftCalendar(zone, start_us)
        # The hall's temperature swing follows the local day; a DST hour makes no difference to it.
        self._utc_offset_s = calendar.utc_offset_s(start_us)
        self._machines: dict[str, _Machine] = {}
        self._parameters: dict[str, tuple[_Machine, str]] = {}  # signal path -> its parameter
        for ref in plant.iter_signals():
            sig = ref.signal
            if sig.sim is None:
                continue
            eq = ref.owner.equipment
            model = MODELS.get(eq.model or "")
            if model is None:
                known = ", ".join(MODELS)
                raise VirtualFactoryError(
                    f"{ref.path}: simulated signal on equipment without a known virtual model "
                    f"(model {eq.model!r}; known: {known})"
                )
            if sig.sim not in known_quantities(model.name):
                known = ", ".join(sorted(known_quantities(model.name)))
                raise VirtualFactoryError(
                    f"{ref.path}: model {model.name!r} does not simulate {sig.sim!r} "
                    f"(it simulates {known})"
                )
            if ref.path not in signal_ids:
                raise VirtualFactoryError(f"{ref.path}: no signal id given for it")
            _check_kind(ref, model)
            m = self._machines.get(ref.owner.path)
            if m is None:
                made = process_quantities(model.name) - {"material_lot"}
                process = (
                    ProcessSim(PROCESSES[model.name], seed, ref.owner.path, self._utc_offset_s,
                               model.material, start_us)
                    if any(s.sim in made for s in eq.signals) else None
                )  # fmt: skip
                rng = np.random.default_rng(entropy(seed, ref.owner.path))
                # A machine with a process goes at the pace its settings allow.
                vm = VirtualEquipment(
                    ref.owner.path, model, eq.ideal_cycle_s, calendar, rng, start_us,
                    process.pace if process is not None else None,
                )  # fmt: skip
                lots = _lots(model, seed, ref.owner.path)
                m = _Machine(vm, _state_codes(eq), lots, process=process)
                self._machines[ref.owner.path] = m
            if sig.sim == "state" and len(m.state_codes) == 0:
                missing = sorted(set(DEFAULT_STATES.values()) - set(eq.states.values()))
                raise VirtualFactoryError(f"{ref.path}: equipment lacks the states {missing}")
            if m.process is not None and sig.sim in part_quantities(model.name):
                m.per_part.append((signal_ids[ref.path], sig.sim))
                continue
            period_us = max(1, round(sig.sample_s * 1e6))
            if m.process is not None and sig.sim in m.process.spec.names:
                sim: Sim = ParameterSim(signal_ids[ref.path], sig.sim)
                self._parameters[ref.path] = (m, sig.sim)
            else:
                sim = _sim(sig, model, signal_ids[ref.path], period_us, seed, ref.path)
            m.grids.setdefault(period_us, []).append(sim)
        for w in writes:
            self._written(w)

    @property
    def parameters(self) -> list[str]:
        """The paths of the process parameters' signals, which ``hold`` takes."""
        return list(self._parameters)

    def setting(self, path: str) -> float:
        """The value of the process parameter at ``path`` in force for the next parts."""
        found = self._parameters.get(path)
        if found is None:
            raise VirtualFactoryError(f"{path}: not a process parameter of the virtual factory")
        m, name = found
        assert m.process is not None
        return m.process.latest(name, self._now)

    def _written(self, w: Written) -> None:
        found = self._parameters.get(w.path)
        if found is None:
            return
        m, name = found
        assert m.process is not None
        try:
            m.process.written(name, w.value, w.ts_us)
        except ValueError as e:  # the device took it, the process cannot: the PLC's value only
            log.warning("%s: %s", w.path, e)

    def hold(self, path: str, value: float) -> None:
        """The process parameter at ``path`` was written: its machine makes the parts from
        ``now_us`` on with ``value``, and its engineers try no more settings."""
        found = self._parameters.get(path)
        if found is None:
            raise VirtualFactoryError(f"{path}: not a process parameter of the virtual factory")
        m, name = found
        assert m.process is not None
        try:
            m.process.hold(name, value, self._now)
        except ValueError as e:
            raise VirtualFactoryError(f"{path}: {e}") from None

    @property
    def now_us(self) -> int:
        """Everything before this time has been returned by ``advance``."""
        return self._now

    @property
    def ground_truth(self) -> list[Failure]:
        """Every failure before ``now_us``, in time order."""
        return sorted(
            (f for m in self._machines.values() for f in m.equipment.failures
             if f.failure_us < self._now),
            key=lambda f: (f.failure_us, f.equipment),
        )  # fmt: skip

    def advance(self, until_us: int) -> tuple[PointBatch, EventBatch]:
        """The number samples with ``now_us <= ts < until_us`` and the failures in that range
        (``advance_all`` gives the texts and arrays too; these skip them)."""
        done = self.advance_all(until_us)
        return done.points, done.failures

    def advance_all(self, until_us: int) -> Advance:
        """All samples with ``now_us <= ts < until_us``, a batch per kind, and the failures in that
        range.

        The points of each kind come ordered by signal id and time, as the stores take them
        without sorting (and lay them out for reading one signal). The whole range is returned
        at once, so a backfill advances in chunks of about an hour (smaller ones cost more per
        point, far larger ones only memory)."""
        start = self._now
        if until_us <= start:
            return Advance(PointBatch.empty(), TextBatch.empty(), ArrayBatch.empty(),
                           EventBatch.empty())  # fmt: skip
        grids: list[tuple[_Machine, Timeline, Int64Array, list[Sim]]] = []
        failures: list[Failure] = []
        for m in self._machines.values():
            m.equipment.extend(until_us)
            timeline = m.equipment.timeline()
            if m.process is not None:
                m.process.advance(timeline.part_end, timeline.part_s, start, until_us)
            for period, sims in m.grids.items():
                first, stop = -(-start // period), -(-until_us // period)  # ceil
                if stop > first:
                    grids.append(
                        (m, timeline, np.arange(first, stop, dtype=np.int64) * period, sims)
                    )
            failures += (f for f in m.equipment.failures if start <= f.failure_us < until_us)
        # Numbers are written straight into the batch's columns, each signal at its place in
        # signal id order: no array per signal to join afterwards. Texts and arrays are few: a
        # batch per signal, joined in that order.
        # Per-part numbers of a process (grid -1): one sample per part.
        parted = [
            (p, sid, q)
            for m in self._machines.values()
            if (p := m.process) is not None
            for sid, q in m.per_part
            if q != "material_lot"
        ]
        slots = sorted([
            *((sim.signal_id, g, i, len(ts)) for g, (_, _, ts, sims) in enumerate(grids)
              for i, sim in enumerate(sims) if isinstance(sim, SignalSim | ParameterSim)),
            *((sid, -1, j, len(p.parts)) for j, (p, sid, _) in enumerate(parted)),
        ])  # fmt: skip
        offsets = np.cumsum([0, *(n for *_, n in slots)])
        at = {(g, i): int(p) for (_, g, i, _), p in zip(slots, offsets[:-1], strict=True)}
        total = int(offsets[-1])
        out = PointBatch(
            np.empty(total, np.int64),
            np.empty(total, np.int32),
            np.empty(total, np.float64),
            np.full(total, Quality.GOOD, np.uint8),
        )
        texts: list[TextBatch] = []
        arrays: list[ArrayBatch] = []
        for g, (m, timeline, ts, sims) in enumerate(grids):
            sampler = Sampler(
                m.equipment.model, timeline, ts, self._utc_offset_s, m.state_codes, m.lots
            )
            for i, sim in enumerate(sims):
                if isinstance(sim, TextSim):
                    text = sim.sample(sampler)
                    quality = np.full(len(ts), Quality.GOOD, np.uint8)
                    texts.append(TextBatch(ts, np.full(len(ts), sim.signal_id, np.int32), text,
                                           quality))  # fmt: skip
                elif isinstance(sim, ArraySim):
                    arrays.append(ArrayBatch.of(ts, sim.signal_id, sim.sample(sampler)))
                else:
                    pos = at[g, i]
                    out.ts[pos : pos + len(ts)] = ts
                    out.signal_id[pos : pos + len(ts)] = sim.signal_id
                    if isinstance(sim, ParameterSim):
                        assert m.process is not None
                        out.value[pos : pos + len(ts)] = m.process.setting(sim.quantity, ts)
                    else:
                        value = sim.sample(sampler)
                        if m.process is not None and sim.quantity == "energy":
                            # The process's energy comes on top of the machine's own.
                            value = value + m.process.energy_at(ts)
                        out.value[pos : pos + len(ts)] = value
        for j, (p, sid, q) in enumerate(parted):
            pos, n = at[-1, j], len(p.parts)
            out.ts[pos : pos + n] = p.parts.ts
            out.signal_id[pos : pos + n] = sid
            out.value[pos : pos + n] = p.per_part(q)
        for m in self._machines.values():
            for sid, q in m.per_part:
                if q == "material_lot" and m.process is not None and len(m.process.parts):
                    made = m.process.parts
                    texts.append(TextBatch(made.ts, np.full(len(made), sid, np.int32),
                                           m.process.lots(),
                                           np.full(len(made), Quality.GOOD, np.uint8)))  # fmt: skip
        for m in self._machines.values():
            m.equipment.forget_before(until_us)
        self._now = until_us
        texts.sort(key=lambda b: int(b.signal_id[0]))
        arrays.sort(key=lambda b: int(b.signal_id[0]))
        return Advance(out, TextBatch.concat(texts), ArrayBatch.concat(arrays),
                       _failure_events(failures))  # fmt: skip


def _check_kind(ref: SignalRef, model: EquipmentModel) -> None:
    """That the signal can hold what its quantity is: a text, an array or a number (and an enum
    of the operating mode names every mode)."""
    sig = ref.signal
    assert sig.sim is not None
    kind = value_kind("string" if sig.sim in TEXT_QUANTITIES else "array" if sig.sim in
                      ARRAY_QUANTITIES else "float")  # fmt: skip
    if sig.kind != kind:
        wanted = {"text": "string", "array": "array", "number": "float, int, bool or enum"}[kind]
        raise VirtualFactoryError(
            f"{ref.path}: model {model.name!r} simulates {sig.sim!r} as {kind}; the signal is "
            f"{sig.type}, make it {wanted}"
        )
    if kind == "text" and sig.length is not None and sig.length < model.text_length(sig.sim):
        raise VirtualFactoryError(
            f"{ref.path}: length {sig.length} is too short for {sig.sim!r}, whose values have up "
            f"to {model.text_length(sig.sim)} characters"
        )
    if sig.sim == "mode" and sig.values is not None and not set(MODES) <= set(sig.values):
        names = ", ".join(f"{c}: {n}" for c, n in MODES.items())
        raise VirtualFactoryError(f"{ref.path}: an operating mode's values must name {names}")


def _sim(
    sig: Signal, model: EquipmentModel, signal_id: int, period_us: int, seed: int, path: str
) -> Sim:
    """The simulation of one signal, with its own random stream."""
    assert sig.sim is not None
    if sig.sim in TEXT_QUANTITIES:
        return TextSim(signal_id, sig.sim)
    rng = np.random.default_rng(entropy(seed, path))
    if sig.sim in ARRAY_QUANTITIES:
        assert sig.length is not None and model.spectrum is not None  # checked
        return ArraySim(signal_id, sig.length, model.spectrum.noise, rng)
    spec = model.quantities.get(sig.sim)
    return SignalSim(signal_id, sig.sim, spec, period_us, rng, integer=sig.type != "float")


def _lots(model: EquipmentModel, seed: int, path: str) -> tuple[int, int]:
    """How many parts a material lot of the machine lasts and its first lot's number, from a
    stream of their own: the rest of the simulation does not change with them."""
    rng = np.random.default_rng(entropy(seed, f"{path}#material_lot"))
    low, high = model.lot_parts
    return int(rng.integers(low, high + 1)), int(rng.integers(100_000, 900_000))


def _state_codes(eq: Equipment) -> Int64Array:
    """The equipment's code for each DEFAULT_STATES code, matched by name; empty if it lacks one."""
    by_name = {name: code for code, name in eq.states.items()}
    if not set(DEFAULT_STATES.values()) <= set(by_name):
        return np.empty(0, np.int64)
    codes = np.zeros(max(DEFAULT_STATES) + 1, np.int64)
    for code, name in DEFAULT_STATES.items():
        codes[code] = by_name[name]
    return codes


def _failure_events(failures: list[Failure]) -> EventBatch:
    if not failures:
        return EventBatch.empty()
    failures.sort(key=lambda f: (f.failure_us, f.equipment))

    def iso(t_us: int) -> str:
        return datetime.fromtimestamp(t_us / 1e6, UTC).isoformat(timespec="seconds")

    return EventBatch.of(
        [f.failure_us for f in failures],
        [f.equipment for f in failures],
        EventKind.FAILURE,
        [f.mode for f in failures],
        # value: how long it had been degrading, in seconds (onset = ts - value)
        [(f.failure_us - f.onset_us) / 1e6 for f in failures],
        [
            f"fault {f.fault_code} {_FAULT_TEXT[f.fault_code]}: degrading since "
            f"{iso(f.onset_us)}, back in service {iso(f.repaired_us)}"
            for f in failures
        ],
    )
