"""The virtual mechanical stamping press: its model table."""

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
    quantities=quantities(
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
    products=(
        "CLP-0090",
        "CLP-0095",
        "BRK-1120",
        "BRK-1140",
        "CVR-0310",
        "CVR-0320",
        "PLT-0450",
        "PLT-0460",
    ),
    material="DC04",  # cold-rolled steel coil, a lot per coil
    lot_parts=(1500, 4000),
    # Frame vibration to 500 Hz: the crank's stroke harmonics, the hydraulic pump's ripple (a leak
    # makes it work harder) and the main bearing's band.
    spectrum=Spectrum(
        max_hz=500,
        floor=quantity((0.05, "on"), (0.1, "run")),
        peaks=(
            Peak(20, 6, quantity((1.6, "run*job"))),
            Peak(150, 10, quantity((0.4, "on"), (1.2, "on*wear.hydraulic_leak"))),
            Peak(
                330,
                30,
                quantity(
                    (1.4, "run*wear.main_bearing_wear"),
                    (5.0, "run*wear.main_bearing_wear*wear.main_bearing_wear"),
                ),
            ),
        ),
    ),
)
