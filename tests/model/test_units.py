from __future__ import annotations

import pytest

from smartfab.model.units import UNITS, UnknownUnitError, lookup_unit


@pytest.mark.parametrize(
    ("symbol", "code"),
    [
        ("degC", "CEL"),
        ("°C", "CEL"),
        ("K", "KEL"),
        ("bar", "BAR"),
        ("kPa", "KPA"),
        ("kW", "KWT"),
        ("kWh", "KWH"),
        ("A", "AMP"),
        ("rpm", "RPM"),
        ("1/min", "C94"),
        ("mm/s", "C16"),
        ("mm/min", "H81"),
        ("m/min", "2X"),
        ("%", "P1"),
        ("s", "SEC"),
        ("N", "NEW"),
        ("kN", "B47"),
        ("Nm", "NU"),
        ("l/min", "L2"),
        ("m3/h", "MQH"),
        ("m/s2", "MSK"),
        ("count", "C62"),
        ("1", "C62"),
    ],
)
def test_lookup_gives_the_unece_code(symbol: str, code: str) -> None:
    assert lookup_unit(symbol).code == code


def test_aliases_resolve_to_the_catalogue_symbol() -> None:
    assert lookup_unit("°C").symbol == "degC"
    assert lookup_unit("µm") is lookup_unit("μm") is lookup_unit("um")  # micro sign, Greek mu
    assert lookup_unit("m³/h").symbol == "m3/h"


def test_catalogue_symbols_are_unique_and_complete() -> None:
    assert len(UNITS) >= 50
    for symbol, unit in UNITS.items():
        assert unit.symbol == symbol
        assert lookup_unit(symbol) is unit
        assert unit.code and unit.display and unit.description


@pytest.mark.parametrize(
    ("code", "unit_id"),
    # Values from the OPC Foundation's UNECE_to_OPCUA.csv.
    [("CEL", 4408652), ("C62", 4404786), ("4K", 13387), ("KWH", 4937544), ("2X", 12888)],
)
def test_opcua_unit_id_matches_the_opc_foundation_table(code: str, unit_id: int) -> None:
    unit = next(u for u in UNITS.values() if u.code == code)
    assert unit.opcua_unit_id == unit_id


@pytest.mark.parametrize(
    ("symbol", "suggestion"),
    [("degF", "degC"), ("KW", "kW"), ("kwh", "kWh"), ("mm/sec", "mm/s"), ("RPM", "rpm")],
)
def test_unknown_unit_suggests_the_closest(symbol: str, suggestion: str) -> None:
    with pytest.raises(UnknownUnitError) as caught:
        lookup_unit(symbol)
    assert caught.value.suggestion == suggestion
    assert caught.value.reason == f"unknown unit; did you mean {suggestion!r}?"
    assert str(caught.value) == f"{symbol!r}: unknown unit; did you mean {suggestion!r}?"


def test_unknown_unit_without_a_close_one_points_to_the_list() -> None:
    with pytest.raises(UnknownUnitError) as caught:
        lookup_unit("psi")
    assert caught.value.suggestion is None
    assert "smartfab plant units" in caught.value.reason


def test_display_unit_is_how_people_write_it() -> None:
    """Pages, API and alarm texts show °C, not the ASCII symbol plant files type."""
    from smartfab.model.units import display_unit

    assert display_unit("degC") == "°C"
    assert display_unit("°C") == "°C"  # an alias reads the same
    assert display_unit("m3/h") == "m³/h" and display_unit("Nm") == "N·m"
    assert display_unit("kW") == "kW"
    assert display_unit("1") == "" and display_unit("count") == ""  # dimensionless: no unit
    assert display_unit("furlong") == "furlong"  # not in the catalogue: as written
