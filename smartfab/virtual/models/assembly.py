"""The virtual assembly station: its model table."""

from __future__ import annotations

from smartfab.virtual.models.table import (
    EquipmentModel,
    FailureMode,
    MinorStop,
    Peak,
    Spectrum,
    quantities,
    quantity,
)

MODEL = EquipmentModel(
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
    quantities=quantities(
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
    products=(
        "GM-37-010",
        "GM-37-020",
        "GM-45-010",
        "GM-45-030",
        "GM-63-020",
        "GM-63-050",
        "GB-90-010",
        "GB-90-020",
    ),
    material="KIT",  # kits of bought-in parts (bearings, seals, screws), a lot per delivery
    lot_parts=(200, 600),
    # Robot arm vibration to 1 kHz: the servo's commutation, the gripper's band as it wears and
    # an overheating servo's rising noise.
    spectrum=Spectrum(
        max_hz=1000,
        floor=quantity((0.01, "on"), (0.04, "act"), (0.05, "run*wear.servo_overheating")),
        peaks=(
            Peak(120, 15, quantity((0.5, "act*job"))),
            Peak(480, 40, quantity((1.8, "act*wear.gripper_wear"))),
        ),
    ),
)
