"""What a virtual equipment model is: a parameter table, no class per machine type.

A model says how its machine behaves over time (cycle, jobs and changeovers, stops, failure modes
that degrade with use) and how every simulated quantity follows from that behaviour. A quantity is
a sum of terms, each a gain times a product of *factors*; a factor is a driver of the machine's
timeline (below), the wear of one of its failure modes (``wear.<mode>``, 0 healthy to 1 failed) or
a quantity defined earlier in the same table (its noise-free value, before lag). On top of the sum
a quantity may have thermal inertia (first-order lag), slow process wander, measurement noise and
physical limits, or instead be the running integral of the sum (energy).

Drivers, evaluated at every sample time:
    on     1 unless the machine is switched off
    run    1 while running
    act    activity level within the cycle in progress (the model's ``profile``), 0 unless running
    busy   1 while ``act`` > 0 (spindle turning, ram stroking, conveyor moving ...)
    cpm    cycles per minute of the cycle in progress, 0 unless running
    job    intensity of the loaded job (speed and force setpoint), 0.6 to 1, changes at setup
    mat    material factor of the part in progress (hardness, thickness), about 1
    amb    hall temperature swing over the local day, -1 at 03:00 to 1 at 15:00

Besides numbers a machine has quantities of other kinds, read off its timeline and its table: the
product code of the job in hand (one of ``products``, the one whose speed and force the job's
intensity is), the material lot of the part in progress (``material`` and a lot number, a new lot
every so many parts), its operating mode (an enumeration, ``MODES``) and its vibration spectrum
(``spectrum``: bands from 0 to ``max_hz`` whose peaks are quantities, e.g. a bearing's defect band
rising with its wear).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

DRIVERS = frozenset({"on", "run", "act", "busy", "cpm", "job", "mat", "amb"})

# Quantities every model has, read straight off the machine's timeline rather than computed.
TIMELINE_QUANTITIES = frozenset({
    "state", "fault_code", "good_count", "scrap_count", "cycle_time",
    # 0/1, the bits a PLC shows as discrete inputs or coils. The simulated operator never picks
    # manual mode: a machine that is on is in automatic.
    "running", "faulted", "auto_mode",
    "mode",  # an enumeration, MODES
})  # fmt: skip
# Quantities that are not one number: texts and arrays.
TEXT_QUANTITIES = frozenset({"product_code", "material_lot"})
ARRAY_QUANTITIES = frozenset({"spectrum"})
# The operating mode: code -> name. Setup while changing over, maintenance while a failure is
# repaired, automatic whenever else the machine is on.
MODES: Mapping[int, str] = MappingProxyType(
    {0: "off", 1: "automatic", 2: "setup", 3: "maintenance"}
)
LOT_DIGITS = 6  # a material lot id is "<material>-<lot number of 6 digits>"

WEAR = "wear."  # prefix of the wear factors


@dataclass(frozen=True, slots=True)
class Term:
    gain: float
    factors: tuple[str, ...]  # multiplied together; empty for a constant


@dataclass(frozen=True, slots=True)
class Quantity:
    terms: tuple[Term, ...]
    noise: float = 0.0  # standard deviation of the measurement noise
    lag_s: float = 0.0  # time constant of the first-order lag (thermal inertia); 0 = none
    wander: float = 0.0  # standard deviation of slow process variation around the value ...
    wander_s: float = 600.0  # ... and its correlation time
    low: float = 0.0  # physical limits the value is clipped to
    high: float = float("inf")
    integral: bool = False  # the value is the running integral of the sum over seconds

    def __post_init__(self) -> None:
        if self.integral and (self.noise or self.lag_s or self.wander):
            # A meter reading only ever rises: any variation belongs in the integrand.
            raise ValueError("an integral quantity has no noise, lag or wander of its own")


def quantity(
    *terms: float | tuple[float, str],
    noise: float = 0.0,
    lag_s: float = 0.0,
    wander: float = 0.0,
    wander_s: float = 600.0,
    low: float = 0.0,
    high: float = float("inf"),
    integral: bool = False,
) -> Quantity:
    """A quantity from terms written as ``constant`` or ``(gain, "factor*factor")``."""
    parsed = tuple(
        Term(float(t), ()) if isinstance(t, int | float) else Term(t[0], tuple(t[1].split("*")))
        for t in terms
    )
    return Quantity(parsed, noise, lag_s, wander, wander_s, low, high, integral)


@dataclass(frozen=True, slots=True)
class Peak:
    """A band of a spectrum: ``level`` (a quantity's terms, in the spectrum's unit) spread around
    ``hz`` with a standard deviation of ``width_hz``."""

    hz: float
    width_hz: float
    level: Quantity


@dataclass(frozen=True, slots=True)
class Spectrum:
    """A vibration spectrum (band RMS velocity) from 0 to ``max_hz`` in as many equal bands as the
    signal has elements: ``floor`` in every band plus the peaks, each band's estimate scattered by
    ``noise`` (relative)."""

    max_hz: float
    floor: Quantity
    peaks: tuple[Peak, ...]
    noise: float = 0.08


@dataclass(frozen=True, slots=True)
class FailureMode:
    """A failure preceded by degradation: healthy running for a while, then wear rising from 0 to 1
    with use (the P-F interval), failure at 1, repair resets it to 0."""

    name: str
    fault_code: int
    text: str
    onset_h: float  # mean running hours from repair to the onset of degradation
    degradation_h: float  # mean running hours from onset to failure
    repair_h: float  # median repair time, wall-clock hours
    scrap_gain: float = 0.0  # extra scrap probability per part at full wear (grows with wear**2)


@dataclass(frozen=True, slots=True)
class MinorStop:
    """A short unplanned stop (jam, trip) that strikes at random while running."""

    fault_code: int
    text: str
    per_h: float  # rate per running hour
    median_min: float  # median duration


@dataclass(frozen=True, slots=True)
class EquipmentModel:
    name: str
    cycle_s: float  # ideal cycle time when the equipment does not declare one
    # Activity within a cycle as (phase where a level starts, level), phases rising from 0.
    profile: tuple[tuple[float, float], ...]
    speed_loss: float  # mean fraction by which a cycle is slower than ideal
    scrap: float  # base scrap probability per part
    setup_scrap: float  # extra scrap probability of the first part after a changeover, fading
    job_h: float  # mean length of a job (lot) at the ideal rate
    setup_min: float  # median changeover time
    idle_per_h: float  # starved/blocked episodes per running hour ...
    idle_min: float  # ... and their median length
    minor_stops: tuple[MinorStop, ...]
    failures: tuple[FailureMode, ...]
    quantities: Mapping[str, Quantity]
    material_sd: float = 0.05  # part-to-part spread of ``mat``
    # The products made on it, from the least to the most demanding job (intensity 0.6 to 1).
    products: tuple[str, ...] = ("PART-1",)
    material: str = "MAT"  # what its material lots are of
    lot_parts: tuple[int, int] = (100, 500)  # a lot lasts this many parts (drawn per machine)
    spectrum: Spectrum | None = None

    def __post_init__(self) -> None:
        # Reject a table with an unknown factor here, so that a typo fails at import.
        known = set(DRIVERS) | {WEAR + f.name for f in self.failures}
        for name, q in self.quantities.items():
            self._check_factors(name, q, known)
            known.add(name)
        if self.spectrum is not None:
            for i, q in enumerate([self.spectrum.floor, *(p.level for p in self.spectrum.peaks)]):
                self._check_factors(f"spectrum[{i}]", q, known)
        if not self.products or not self.material or not 0 < self.lot_parts[0] <= self.lot_parts[1]:
            raise ValueError(f"model {self.name!r}: needs products, a material and lot_parts")
        clash = set(self.quantities) & (
            TIMELINE_QUANTITIES | DRIVERS | TEXT_QUANTITIES | ARRAY_QUANTITIES
        )
        if clash:
            raise ValueError(f"model {self.name!r}: quantities shadow built-ins {sorted(clash)}")
        phases = [p for p, _ in self.profile]
        if not phases or phases[0] != 0.0 or phases != sorted(set(phases)) or phases[-1] >= 1:
            raise ValueError(f"model {self.name!r}: profile phases must rise from 0, below 1")

    @property
    def other_quantities(self) -> frozenset[str]:
        """The quantities it simulates that are not one number: texts and arrays."""
        return TEXT_QUANTITIES | (ARRAY_QUANTITIES if self.spectrum is not None else frozenset())

    def _check_factors(self, name: str, q: Quantity, known: set[str]) -> None:
        unknown = {f for t in q.terms for f in t.factors} - known
        if unknown:
            raise ValueError(f"model {self.name!r}, {name!r}: unknown factors {sorted(unknown)}")

    def text_length(self, quantity: str) -> int:
        """The most characters a text quantity's values have."""
        if quantity == "product_code":
            return max(len(p) for p in self.products)
        return len(self.material) + 1 + LOT_DIGITS


def quantities(**q: Quantity) -> Mapping[str, Quantity]:
    # Every model meters its energy the same way: the integral of its electrical power, in kWh.
    return MappingProxyType(q | {"energy": quantity((1 / 3600, "power"), integral=True)})
