"""From a machine's timeline to sample values: every sample of every signal computed with NumPy.

A ``Sampler`` looks the sample times of one sampling grid up in the timeline once (state segment,
cycle in progress, last part, wear) and evaluates drivers and quantities over the whole grid,
memoised, since the signals of a machine share most of them. A ``SignalSim`` turns a quantity into
one signal's samples and carries what joins one chunk of samples to the next: the lag filter's
state, the wander's state, the running integral and its own random stream, from which it draws a
fixed number of numbers per sample. The output therefore does not depend on how time is chunked.
``TextSim`` and ``ArraySim`` do the same for the quantities that are texts and arrays.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter
from scipy.special import ndtr

from smartfab.platform.points import Float64Array, Int64Array, ObjectArray
from smartfab.virtual.equipment import DOWN, OFF, RUNNING, SETUP, Timeline
from smartfab.virtual.models import WEAR, EquipmentModel, Quantity
from smartfab.virtual.models.table import LOT_DIGITS

_US = 1_000_000
_DAY_S = 86_400


_MODE = {"off": 0, "automatic": 1, "setup": 2, "maintenance": 3}  # models.MODES, by name


class Sampler:
    """Drivers and noise-free quantities of one machine at the sample times ``ts``. ``lots``:
    how many parts a material lot lasts, and the number of the first lot."""

    def __init__(
        self,
        model: EquipmentModel,
        timeline: Timeline,
        ts: Int64Array,
        utc_offset_s: float,
        state_codes: Int64Array,
        lots: tuple[int, int] = (1, 0),
    ) -> None:
        self._model = model
        self._tl = timeline
        self._ts = ts
        self._utc_offset_s = utc_offset_s
        self._state_codes = state_codes  # state signal value for each DEFAULT_STATES code
        self._lots = lots
        self._seg: Int64Array = np.searchsorted(timeline.seg_start, ts, "right") - 1
        self._state: Int64Array = timeline.seg_state[self._seg]
        self._cycle: tuple[Float64Array, Float64Array, Float64Array] | None = None
        self._memo: dict[str, Float64Array] = {}

    def get(self, name: str) -> Float64Array:
        """A driver, wear factor, timeline quantity or noise-free (unlagged) model quantity."""
        v = self._memo.get(name)
        if v is None:
            v = self._memo[name] = self._compute(name)
        return v

    def _compute(self, name: str) -> Float64Array:
        tl = self._tl
        if name.startswith(WEAR):
            return tl.wear[name[len(WEAR) :]].at(self._ts)
        match name:
            case "on":
                return np.asarray(self._state != OFF, np.float64)
            case "run":
                return np.asarray(self._state == RUNNING, np.float64)
            case "job":
                return tl.seg_job[self._seg]
            case "amb":
                day = (self._ts / _US + self._utc_offset_s) / _DAY_S
                return np.sin(2 * math.pi * (day - 0.375))  # peaks at 15:00 local
            case "act":
                phase, _, _ = self._cycle_in_progress()
                phases = np.array([p for p, _ in self._model.profile])
                levels = np.array([lv for _, lv in self._model.profile])
                level = levels[np.searchsorted(phases, phase, "right") - 1]
                return np.where(np.isnan(phase), 0.0, level)
            case "busy":
                return (self.get("act") > 0).astype(np.float64)
            case "cpm":
                phase, dur_s, _ = self._cycle_in_progress()
                return np.where(np.isnan(phase), 0.0, 60 / dur_s)
            case "mat":
                phase, _, mat = self._cycle_in_progress()
                return np.where(np.isnan(phase), 1.0, mat)
            case "state":
                return self._state_codes[self._state].astype(np.float64)
            case "fault_code":
                return tl.seg_fault[self._seg].astype(np.float64)
            case "running":
                return self.get("run")
            case "auto_mode":
                return self.get("on")
            case "faulted":
                return np.asarray(tl.seg_fault[self._seg] != 0, np.float64)
            case "mode":
                failures = [f.fault_code for f in self._model.failures]
                repair = (self._state == DOWN) & np.isin(tl.seg_fault[self._seg], failures)
                mode = np.select(
                    [self._state == OFF, self._state == SETUP, repair],
                    [_MODE["off"], _MODE["setup"], _MODE["maintenance"]],
                    _MODE["automatic"],
                )
                return mode.astype(np.float64)
            case "good_count":
                return tl.good[self._part()]
            case "scrap_count":
                return tl.scrap[self._part()]
            case "cycle_time":
                return tl.part_s[self._part()]
        return self._quantity(self._model.quantities[name])

    def text(self, name: str) -> ObjectArray:
        """A text quantity: the product code of the job in hand, or the material lot of the part
        in progress."""
        if name == "product_code":
            products = self._model.products
            # The job's intensity (0.6 to 1) is its product's: the more demanding, the later.
            share = (self._tl.seg_job[self._seg] - 0.6) / 0.4
            which = np.clip((share * len(products)).astype(np.intp), 0, len(products) - 1)
            return np.asarray(products, dtype=object)[which]
        per_lot, first = self._lots
        part = self._part()
        lot = (self._tl.good[part] + self._tl.scrap[part]).astype(np.int64) // per_lot + first
        # Formatted once per lot, not per sample.
        numbers, at = np.unique(lot, return_inverse=True)
        material = self._model.material
        ids = np.array([f"{material}-{n % 10**LOT_DIGITS:0{LOT_DIGITS}d}" for n in numbers], object)
        out: ObjectArray = ids[at]
        return out

    def spectrum(self, length: int) -> Float64Array:
        """The noise-free spectrum in ``length`` equal bands, shape (samples, length): the floor
        in every band, each peak spread over the bands by the share of its normal curve in
        them (so that its level does not depend on how many bands there are)."""
        spec = self._model.spectrum
        assert spec is not None  # only models with a spectrum simulate it
        edges = np.linspace(0.0, spec.max_hz, length + 1)
        out = np.repeat(self._quantity(spec.floor)[:, None], length, axis=1)
        for peak in spec.peaks:
            share = np.diff(ndtr((edges - peak.hz) / peak.width_hz))
            out += self._quantity(peak.level)[:, None] * share[None, :]
        return out

    def _quantity(self, q: Quantity) -> Float64Array:
        out = np.zeros(len(self._ts))
        for term in q.terms:
            if not term.factors:
                out += term.gain
                continue
            product = term.gain * self.get(term.factors[0])
            for f in term.factors[1:]:
                product *= self.get(f)
            out += product
        clipped: Float64Array = np.clip(out, q.low, q.high, out=out)
        return clipped

    def _cycle_in_progress(self) -> tuple[Float64Array, Float64Array, Float64Array]:
        """For each sample, how far through the cycle in progress it is (0 to 1, NaN outside any
        cycle), that cycle's planned duration in seconds and its material factor."""
        if self._cycle is None:
            tl, n = self._tl, len(self._ts)
            if len(tl.cyc_end) == 0:
                self._cycle = np.full(n, np.nan), np.ones(n), np.ones(n)
            else:
                last = len(tl.cyc_end) - 1
                idx = np.minimum(np.searchsorted(tl.cyc_end, self._ts, "right"), last)
                elapsed = self._ts - tl.cyc_start[idx]
                inside = (elapsed >= 0) & (self._ts < tl.cyc_end[idx])
                dur_s = tl.cyc_s[idx]
                self._cycle = (
                    np.where(inside, elapsed / (dur_s * _US), np.nan),
                    dur_s,
                    tl.cyc_mat[idx],
                )
        return self._cycle

    def _part(self) -> Int64Array:
        i: Int64Array = np.searchsorted(self._tl.part_end, self._ts, "right") - 1
        return i


class SignalSim:
    """One simulated signal: a quantity sampled every ``period_us``, with its carried state."""

    def __init__(
        self,
        signal_id: int,
        quantity: str,
        spec: Quantity | None,  # None for timeline quantities, which are exact
        period_us: int,
        rng: np.random.Generator,
        integer: bool,
    ) -> None:
        self.signal_id = signal_id
        self.quantity = quantity
        self._spec = spec
        self._dt_s = period_us / _US
        self._rng = rng
        self._integer = integer
        self._total = 0.0  # running integral
        self._lag_state: Float64Array | None = None  # lfilter state, set at the first sample
        self._wander_state = np.zeros(1)

    def sample(self, sampler: Sampler) -> Float64Array:
        x = sampler.get(self.quantity)
        q = self._spec
        if q is None:
            return x
        if q.integral:
            # cumsum from the carried total: the same additions in the same order however chunked
            x = np.cumsum(np.concatenate(([self._total], x * self._dt_s)))[1:]
            self._total = float(x[-1])
        elif q.lag_s > 0:
            a = math.exp(-self._dt_s / q.lag_s)  # exact discretisation of the first-order lag
            if self._lag_state is None:
                self._lag_state = np.array([a * x[0]])  # start in equilibrium
            x, self._lag_state = lfilter([1 - a], [1, -a], x, zi=self._lag_state)
        draws = int(q.noise > 0) + int(q.wander > 0)
        if draws:
            z = self._rng.standard_normal((len(x), draws))
            x = x + q.noise * z[:, 0] if q.noise > 0 else x.copy()
            if q.wander > 0:
                a = math.exp(-self._dt_s / q.wander_s)  # AR(1) with the wander as its spread
                w, self._wander_state = lfilter(
                    [q.wander * math.sqrt(1 - a * a)], [1, -a], z[:, -1], zi=self._wander_state
                )
                x += w
            np.clip(x, q.low, q.high, out=x)
        out: Float64Array = np.rint(x) if self._integer else x
        return out


class TextSim:
    """One simulated text signal (a product code, a material lot): exact, no noise."""

    def __init__(self, signal_id: int, quantity: str) -> None:
        self.signal_id = signal_id
        self.quantity = quantity

    def sample(self, sampler: Sampler) -> ObjectArray:
        return sampler.text(self.quantity)


class ArraySim:
    """One simulated spectrum of ``length`` bands, each band's estimate scattered by the model's
    relative noise, drawing ``length`` numbers per sample from its own random stream."""

    def __init__(self, signal_id: int, length: int, noise: float, rng: np.random.Generator) -> None:
        self.signal_id = signal_id
        self.quantity = "spectrum"
        self.length = length
        self._noise = noise
        self._rng = rng

    def sample(self, sampler: Sampler) -> Float64Array:
        clean = sampler.spectrum(self.length)
        scatter = 1 + self._noise * self._rng.standard_normal(clean.shape)
        out: Float64Array = np.maximum(clean * scatter, 0.0)
        return out
