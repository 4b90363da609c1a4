"""The virtual CNC machining centre: its model table."""

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
    quantities=quantities(
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
    # Housings and covers of the gearbox family, from the lightest cut to the heaviest.
    products=(
        "CVR-2205",
        "CVR-2210",
        "FLG-3100",
        "FLG-3150",
        "HSG-4410",
        "HSG-4420",
        "HSG-5510",
        "HSG-5520",
    ),
    material="ENGJL250",  # grey cast iron castings, a lot per casting batch
    lot_parts=(40, 120),
    # Spindle vibration to 2 kHz: the spindle's rotation (about 190 Hz), the cutter's tooth pass,
    # the bearing's defect band that grows with its wear, and a dull tool's chatter band.
    spectrum=Spectrum(
        max_hz=2000,
        floor=quantity((0.02, "on"), (0.06, "busy")),
        peaks=(
            Peak(190, 12, quantity((0.9, "busy*job"))),
            Peak(760, 25, quantity((0.7, "act*mat"), (0.6, "act*wear.tool_breakage"))),
            Peak(
                1080,
                60,
                quantity(
                    (1.5, "busy*wear.spindle_bearing_wear"),
                    (5.0, "busy*wear.spindle_bearing_wear*wear.spindle_bearing_wear"),
                ),
            ),
            Peak(1550, 90, quantity((2.2, "act*wear.tool_breakage"))),
        ),
    ),
)
