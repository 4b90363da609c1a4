from __future__ import annotations

import dataclasses

import pytest

from smartfab.virtual.models import (
    MODELS,
    Peak,
    Quantity,
    Term,
    known_quantities,
    quantity,
)
from smartfab.virtual.models.cnc import MODEL as CNC

EVERY_MODEL = {
    "state", "fault_code", "good_count", "scrap_count", "energy", "power", "cycle_time",
    "running", "faulted", "auto_mode", "mode",
    "product_code", "material_lot", "spectrum",  # a text, a text, an array
}  # fmt: skip
QUANTITIES = {
    "cnc": {
        "spindle_speed", "spindle_power", "spindle_temp", "vibration", "coolant_temp", "feed_rate",
        "axis_load_x", "axis_load_y", "axis_load_z", "coolant_pressure",
        "feed_override",  # a setpoint
    },
    "press": {
        "ram_force", "stroke_rate", "hydraulic_pressure", "oil_temp", "vibration", "motor_current",
        "die_temp", "pressure_setpoint",  # a setpoint
    },
    "assembly": {
        "torque", "robot_joint_temp", "air_pressure", "motor_current", "vibration",
        "press_fit_force",
    },
    "packaging": {
        "conveyor_speed", "motor_current", "motor_temp", "vibration", "air_pressure", "seal_temp",
        "film_tension",
    },
}  # fmt: skip
FAILURES = {
    "cnc": {101: "spindle bearing wear", 102: "tool breakage"},
    "press": {111: "hydraulic leak", 112: "main bearing wear"},
    "assembly": {121: "servo overheating", 122: "gripper wear"},
    "packaging": {131: "conveyor motor bearing wear", 132: "seal heater failure"},
}
MINOR_STOPS = {
    "cnc": {201: "chip jam", 202: "door interlock open"},
    "press": {211: "die misfeed", 212: "light curtain trip"},
    "assembly": {221: "part missing", 222: "screw feeder jam"},
    "packaging": {231: "film break", 232: "carton jam"},
}


@pytest.mark.parametrize("model", sorted(QUANTITIES))
def test_every_model_simulates_its_quantities(model: str) -> None:
    assert known_quantities(model) == EVERY_MODEL | QUANTITIES[model]


def test_an_unknown_model_simulates_nothing() -> None:
    assert known_quantities("lathe") == frozenset()


@pytest.mark.parametrize("model", sorted(QUANTITIES))
def test_fault_codes_and_texts(model: str) -> None:
    m = MODELS[model]
    assert {f.fault_code: f.text for f in m.failures} == FAILURES[model]
    assert {s.fault_code: s.text for s in m.minor_stops} == MINOR_STOPS[model]


def test_terms_are_parsed_into_gains_and_factors() -> None:
    q = quantity(2, (3.5, "act*job"), noise=0.1)
    assert q == Quantity((Term(2.0, ()), Term(3.5, ("act", "job"))), noise=0.1)


@pytest.mark.parametrize("extra", [{"noise": 0.1}, {"lag_s": 60.0}, {"wander": 1.0}])
def test_an_integral_has_no_variation_of_its_own(extra: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="integral"):
        quantity((1, "power"), integral=True, **extra)


def test_a_table_with_an_unknown_factor_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"wear\.nope"):
        dataclasses.replace(CNC, quantities={"x": quantity((1, "run*wear.nope"))})


def test_a_quantity_may_use_only_quantities_defined_before_it() -> None:
    dataclasses.replace(CNC, quantities={"a": quantity(1), "b": quantity((2, "a"))})
    with pytest.raises(ValueError, match="'a'"):
        dataclasses.replace(CNC, quantities={"a": quantity((2, "b")), "b": quantity(1)})


def test_a_quantity_may_not_shadow_a_timeline_quantity() -> None:
    with pytest.raises(ValueError, match="state"):
        dataclasses.replace(CNC, quantities={"state": quantity(1)})
    with pytest.raises(ValueError, match="product_code"):
        dataclasses.replace(CNC, quantities={"product_code": quantity(1)})


def test_a_spectrum_peak_with_an_unknown_factor_is_rejected() -> None:
    assert CNC.spectrum is not None
    peak = Peak(100, 10, quantity((1, "busy*wear.nope")))
    spectrum = dataclasses.replace(CNC.spectrum, peaks=(peak,))
    with pytest.raises(ValueError, match=r"spectrum\[1\].*wear\.nope"):
        dataclasses.replace(CNC, spectrum=spectrum)


@pytest.mark.parametrize(
    "change", [{"products": ()}, {"material": ""}, {"lot_parts": (0, 10)}, {"lot_parts": (9, 3)}]
)
def test_products_material_and_lots_are_required(change: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="products, a material and lot_parts"):
        dataclasses.replace(CNC, **change)  # type: ignore[arg-type]


def test_without_a_spectrum_a_model_simulates_none() -> None:
    plain = dataclasses.replace(CNC, spectrum=None)
    assert plain.other_quantities == {"product_code", "material_lot"}
    assert CNC.text_length("product_code") == 8 and CNC.text_length("material_lot") == 15


@pytest.mark.parametrize(
    "profile", [(), ((0.1, 1.0),), ((0.0, 1.0), (0.0, 0.5)), ((0.0, 1.0), (1.0, 0.0))]
)
def test_a_profile_must_rise_from_zero_and_stay_below_one(
    profile: tuple[tuple[float, float], ...],
) -> None:
    with pytest.raises(ValueError, match="profile"):
        dataclasses.replace(CNC, profile=profile)
