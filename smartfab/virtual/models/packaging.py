"""The virtual packaging machine (flow wrapper): its model table."""

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
    quantities=quantities(
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
    products=(
        "PK-GM37",
        "PK-GM45",
        "PK-GM63",
        "PK-GB90",
        "PK-SPARE-S",
        "PK-SPARE-M",
        "PK-SPARE-L",
        "PK-EXPORT",
    ),
    material="FILM-PE",  # wrapping film, a lot per roll
    lot_parts=(800, 2000),
    # Conveyor drive vibration to 1 kHz: the belt's rotation and the motor bearing's band.
    spectrum=Spectrum(
        max_hz=1000,
        floor=quantity((0.02, "on"), (0.05, "run")),
        peaks=(
            Peak(50, 8, quantity((0.8, "run*job"))),
            Peak(
                620,
                50,
                quantity(
                    (1.2, "run*wear.conveyor_bearing_wear"),
                    (5.0, "run*wear.conveyor_bearing_wear*wear.conveyor_bearing_wear"),
                ),
            ),
        ),
    ),
)
