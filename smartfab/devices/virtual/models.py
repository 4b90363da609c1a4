"""The virtual equipment models as data: one parameter table per model, no class per machine type.

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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

DRIVERS = frozenset({"on", "run", "act", "busy", "cpm", "job", "mat", "amb"})

# Quantities every model has, read straight off the machine's timeline rather than computed.
TIMELINE_QUANTITIES = frozenset({"state", "fault_code", "good_count", "scrap_count", "cycle_time"})

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

    def __post_init__(self) -> None:
        # Reject a table with an unknown factor here, so that a typo fails at import.
        known = set(DRIVERS) | {WEAR + f.name for f in self.failures}
        for name, q in self.quantities.items():
            unknown = {f for t in q.terms for f in t.factors} - known
            if unknown:
                raise ValueError(
                    f"model {self.name!r}, {name!r}: unknown factors {sorted(unknown)}"
                )
            known.add(name)
        clash = set(self.quantities) & (TIMELINE_QUANTITIES | DRIVERS)
        if clash:
            raise ValueError(f"model {self.name!r}: quantities shadow built-ins {sorted(clash)}")
        phases = [p for p, _ in self.profile]
        if not phases or phases[0] != 0.0 or phases != sorted(set(phases)) or phases[-1] >= 1:
            raise ValueError(f"model {self.name!r}: profile phases must rise from 0, below 1")


def _quantities(**q: Quantity) -> Mapping[str, Quantity]:
    # Every model meters its energy the same way: the integral of its electrical power, in kWh.
    return MappingProxyType(q | {"energy": quantity((1 / 3600, "power"), integral=True)})


CNC = EquipmentModel(
    name="cnc",
    cycle_s=120.0,
    profile=((0.0, 0.0), (0.08, 1.0), (0.85, 0.4), (0.95, 0.0)),  # clamp, rough, finish, unload
    speed_loss=0.06,
    scrap=0.012,
    setup_scrap=0.3,
    job_h=6.0,
    setup_min=35.0,
    idle_per_h=0.25,
    idle_min=6.0,
    minor_stops=(
        MinorStop(201, "chip jam", 0.25, 4.0),
        MinorStop(202, "door interlock open", 0.3, 1.5),
    ),
    failures=(
        FailureMode("spindle_bearing_wear", 101, "spindle bearing wear", 500, 150, 6.0, 0.03),
        FailureMode("tool_breakage", 102, "tool breakage", 30, 25, 1.2, 0.10),
    ),
    quantities=_quantities(
        spindle_speed=quantity((11500, "busy*job"), noise=4, high=12000),
        # Cutting power follows material removal; a dull tool cuts harder, a worn bearing drags.
        spindle_power=quantity(
            (24, "act*job*mat"),
            (1.2, "busy*job"),
            (5, "act*wear.tool_breakage"),
            (2.5, "busy*wear.spindle_bearing_wear"),
            noise=0.25,
            high=30,
        ),
        feed_rate=quantity((2600, "act*job"), noise=8, high=10000),
        # Setpoints: constant until a client writes them (the virtual servers then hold that).
        feed_override=quantity(100),
        axis_load_x=quantity((6, "on"), (34, "act*mat"), (10, "act*wear.tool_breakage"), noise=0.8),
        axis_load_y=quantity((6, "on"), (27, "act*mat"), (8, "act*wear.tool_breakage"), noise=0.8),
        axis_load_z=quantity((9, "on"), (44, "act*mat"), (16, "act*wear.tool_breakage"), noise=1),
        coolant_pressure=quantity(
            (0.15, "on"), (6.2, "busy"), noise=0.04, wander=0.08, wander_s=900, high=80
        ),
        vibration=quantity(
            (0.25, "on"),
            (1.1, "busy*job"),
            (0.5, "act*mat"),
            (1.5, "busy*wear.spindle_bearing_wear"),
            (6.0, "busy*wear.spindle_bearing_wear*wear.spindle_bearing_wear"),
            (1.2, "act*wear.tool_breakage"),
            noise=0.06,
        ),
        spindle_temp=quantity(
            22,
            (2, "amb"),
            (1.3, "spindle_power"),
            (20, "busy*wear.spindle_bearing_wear"),
            lag_s=1500,
            noise=0.08,
            wander=0.15,
            wander_s=3600,
        ),
        coolant_temp=quantity(21, (1.5, "amb"), (0.32, "spindle_power"), lag_s=2400, noise=0.06),
        power=quantity(
            (1.6, "on"), (0.9, "run"), (0.6, "busy"), (1.15, "spindle_power"), noise=0.15
        ),
    ),
)

PRESS = EquipmentModel(
    name="press",
    cycle_s=3.0,
    profile=((0.0, 1.0),),  # strokes are too fast to resolve: values are per stroke
    speed_loss=0.12,
    scrap=0.012,
    setup_scrap=0.5,
    job_h=5.0,
    setup_min=45.0,
    idle_per_h=0.4,
    idle_min=5.0,
    minor_stops=(
        MinorStop(211, "die misfeed", 0.5, 2.5),
        MinorStop(212, "light curtain trip", 0.8, 0.6),
    ),
    failures=(
        FailureMode("hydraulic_leak", 111, "hydraulic leak", 450, 120, 4.0, 0.01),
        FailureMode("main_bearing_wear", 112, "main bearing wear", 700, 200, 9.0, 0.02),
    ),
    quantities=_quantities(
        stroke_rate=quantity((1, "cpm"), noise=0.05, high=60),
        ram_force=quantity(
            (3100, "run*job*mat"), (250, "run*wear.main_bearing_wear"), noise=12, high=4000
        ),
        pressure_setpoint=quantity(210),  # a setpoint, as feed_override of the CNC
        # A leak costs pressure; the pump draws more current to make up for it and heats the oil.
        hydraulic_pressure=quantity(
            (35, "on"),
            (175, "run*job*mat"),
            (-45, "run*wear.hydraulic_leak"),
            (-12, "on*wear.hydraulic_leak"),
            noise=1.2,
            wander=1.0,
            wander_s=300,
            high=300,
        ),
        motor_current=quantity(
            (38, "on"),
            (185, "run*job*mat"),
            (45, "run*wear.hydraulic_leak"),
            (30, "run*wear.main_bearing_wear"),
            noise=2.5,
            high=400,
        ),
        vibration=quantity(
            (0.4, "on"),
            (2.2, "run*job"),
            (2.0, "run*wear.main_bearing_wear"),
            (7.0, "run*wear.main_bearing_wear*wear.main_bearing_wear"),
            noise=0.08,
        ),
        oil_temp=quantity(
            24,
            (2, "amb"),
            (0.11, "motor_current"),
            (10, "on*wear.hydraulic_leak"),
            lag_s=3600,
            noise=0.1,
        ),
        die_temp=quantity(23, (2, "amb"), (1.9, "cpm*job"), lag_s=1800, noise=0.25),  # stroke heat
        power=quantity((1.2, "on"), (0.59, "motor_current"), noise=0.6),  # 400 V, cos phi 0.85
    ),
)

ASSEMBLY = EquipmentModel(
    name="assembly",
    cycle_s=30.0,
    profile=((0.0, 0.35), (0.2, 1.0), (0.55, 0.6), (0.85, 0.2)),  # pick, press-fit, screw, place
    speed_loss=0.10,
    scrap=0.01,
    setup_scrap=0.2,
    job_h=8.0,
    setup_min=20.0,
    idle_per_h=0.5,
    idle_min=4.0,
    minor_stops=(
        MinorStop(221, "part missing", 0.7, 1.2),
        MinorStop(222, "screw feeder jam", 0.35, 3.0),
    ),
    failures=(
        FailureMode("servo_overheating", 121, "servo overheating", 500, 60, 3.0),
        FailureMode("gripper_wear", 122, "gripper wear", 250, 150, 2.0, 0.06),
    ),
    quantities=_quantities(
        # Final torque and force of the part in progress, as the controller reports them.
        torque=quantity((21, "run*job*mat"), (3, "run*wear.gripper_wear"), noise=0.25, high=50),
        press_fit_force=quantity(
            (16, "run*job*mat"), (6, "run*wear.gripper_wear"), noise=0.2, high=30
        ),
        motor_current=quantity(
            (2.2, "on"),
            (5, "run"),
            (16, "act*job*mat"),
            (5, "run*wear.servo_overheating"),
            (3, "act*wear.gripper_wear"),
            noise=0.3,
            high=40,
        ),
        vibration=quantity(
            (0.15, "on"), (0.9, "act*job"), (3, "act*wear.gripper_wear"), noise=0.05
        ),
        air_pressure=quantity(6.2, (-0.35, "act"), noise=0.02, wander=0.05, wander_s=1200, high=10),
        robot_joint_temp=quantity(
            24,
            (2, "amb"),
            (1.1, "motor_current"),
            (28, "run*wear.servo_overheating"),
            lag_s=1200,
            noise=0.1,
        ),
        power=quantity((0.7, "on"), (0.59, "motor_current"), noise=0.05),
    ),
)

PACKAGING = EquipmentModel(
    name="packaging",
    cycle_s=2.0,
    profile=((0.0, 1.0),),  # continuous motion
    speed_loss=0.15,
    scrap=0.01,
    setup_scrap=0.3,
    job_h=5.0,
    setup_min=25.0,
    idle_per_h=0.6,
    idle_min=3.0,
    minor_stops=(
        MinorStop(231, "film break", 0.3, 5.0),
        MinorStop(232, "carton jam", 0.8, 1.5),
    ),
    failures=(
        FailureMode(
            "conveyor_bearing_wear", 131, "conveyor motor bearing wear", 600, 180, 4.0, 0.0
        ),
        FailureMode("seal_heater_failure", 132, "seal heater failure", 400, 50, 2.5, 0.12),
    ),
    quantities=_quantities(
        conveyor_speed=quantity((95, "run*job"), noise=0.4, high=120),
        motor_current=quantity(
            (1.5, "on"),
            (11, "run*job*mat"),
            (6, "run*wear.conveyor_bearing_wear"),
            noise=0.2,
            high=60,
        ),
        motor_temp=quantity(
            25,
            (2, "amb"),
            (1.8, "motor_current"),
            (15, "run*wear.conveyor_bearing_wear"),
            lag_s=1800,
            noise=0.1,
        ),
        vibration=quantity(
            (0.2, "on"),
            (1.4, "run*job"),
            (1.5, "run*wear.conveyor_bearing_wear"),
            (6.5, "run*wear.conveyor_bearing_wear*wear.conveyor_bearing_wear"),
            noise=0.06,
        ),
        air_pressure=quantity(6.0, (-0.25, "run"), noise=0.02, wander=0.05, wander_s=1200, high=10),
        # The sealing jaws are held at temperature whenever the machine is on; a failing heater
        # cannot keep up.
        seal_temp=quantity(
            22,
            (158, "on"),
            (-75, "on*wear.seal_heater_failure"),
            lag_s=300,
            noise=0.4,
            wander=0.8,
            wander_s=120,
            high=300,
        ),
        film_tension=quantity(
            (6, "on"), (32, "run*job*mat"), noise=0.6, wander=1.0, wander_s=60, high=200
        ),
        power=quantity(
            (4.5, "on"),
            (-2.0, "on*wear.seal_heater_failure"),
            (0.59, "motor_current"),
            noise=0.08,
        ),
    ),
)

MODELS: Mapping[str, EquipmentModel] = MappingProxyType(
    {m.name: m for m in (CNC, PRESS, ASSEMBLY, PACKAGING)}
)


def known_quantities(model: str) -> frozenset[str]:
    """The quantities (``Signal.sim``) the virtual model simulates; empty for an unknown model."""
    m = MODELS.get(model)
    return frozenset() if m is None else TIMELINE_QUANTITIES | frozenset(m.quantities)
