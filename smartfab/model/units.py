"""The catalogue of engineering units a plant file may use, each with its UNECE Recommendation 20
common code.

The code is what OPC UA puts in ``EUInformation`` (namespace
``http://www.opcfoundation.org/UA/units/un/cefact``), so every module that exposes or reads units
speaks the same identifiers. Plant files write units in plain ASCII (``degC``, ``m3/h``, ``Nm``) so
they are easy to type; the usual Unicode spellings (``°C``, ``m³/h``) are accepted as aliases.

The catalogue is curated, not the whole of Rec 20: a short list of the units shop floors use keeps
typos detectable (``degF`` is reported with a suggestion instead of silently becoming a new unit).
It is metric on purpose, so that data from different machines stays comparable.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from smartfab.errors import SmartfabError


@dataclass(frozen=True, slots=True)
class Unit:
    symbol: str  # how plant files write it
    code: str  # UNECE Rec 20 common code, e.g. "CEL"
    display: str  # UNECE symbol, OPC UA EUInformation.DisplayName, e.g. "°C"
    description: str  # UNECE name, OPC UA EUInformation.Description, e.g. "degree Celsius"

    @property
    def opcua_unit_id(self) -> int:
        """OPC UA ``EUInformation.UnitId``: the code's ASCII bytes as one big-endian integer."""
        return int.from_bytes(self.code.encode("ascii"), "big")


_CATALOGUE: tuple[Unit, ...] = (
    # temperature
    Unit("degC", "CEL", "°C", "degree Celsius"),
    Unit("K", "KEL", "K", "kelvin"),
    # pressure
    Unit("Pa", "PAL", "Pa", "pascal"),
    Unit("kPa", "KPA", "kPa", "kilopascal"),
    Unit("MPa", "MPA", "MPa", "megapascal"),
    Unit("mbar", "MBR", "mbar", "millibar"),
    Unit("bar", "BAR", "bar", "bar"),
    # power and energy
    Unit("W", "WTT", "W", "watt"),
    Unit("kW", "KWT", "kW", "kilowatt"),
    Unit("MW", "MAW", "MW", "megawatt"),
    Unit("kVA", "KVA", "kV·A", "kilovolt-ampere"),
    Unit("kvar", "KVR", "kvar", "kilovar"),
    Unit("Wh", "WHR", "W·h", "watt hour"),
    Unit("kWh", "KWH", "kW·h", "kilowatt hour"),
    Unit("MWh", "MWH", "MW·h", "megawatt hour"),
    Unit("J", "JOU", "J", "joule"),
    Unit("kJ", "KJO", "kJ", "kilojoule"),
    # electrical
    Unit("A", "AMP", "A", "ampere"),
    Unit("mA", "4K", "mA", "milliampere"),
    Unit("V", "VLT", "V", "volt"),
    Unit("mV", "2Z", "mV", "millivolt"),
    Unit("kV", "KVT", "kV", "kilovolt"),
    Unit("Ohm", "OHM", "Ω", "ohm"),
    # rotation, rates and frequency
    Unit("rpm", "RPM", "r/min", "revolutions per minute"),
    Unit("1/min", "C94", "min⁻¹", "reciprocal minute (strokes or cycles per minute)"),
    Unit("1/s", "C97", "s⁻¹", "reciprocal second"),
    Unit("1/h", "H10", "1/h", "reciprocal hour"),
    Unit("Hz", "HTZ", "Hz", "hertz"),
    Unit("kHz", "KHZ", "kHz", "kilohertz"),
    # speed and acceleration
    Unit("mm/s", "C16", "mm/s", "millimetre per second"),
    Unit("mm/min", "H81", "mm/min", "millimetre per minute"),
    Unit("m/min", "2X", "m/min", "metre per minute"),
    Unit("m/s", "MTS", "m/s", "metre per second"),
    Unit("m/s2", "MSK", "m/s²", "metre per second squared"),
    Unit("gn", "K40", "gn", "standard acceleration of free fall"),
    # length and angle
    Unit("um", "4H", "µm", "micrometre"),
    Unit("mm", "MMT", "mm", "millimetre"),
    Unit("cm", "CMT", "cm", "centimetre"),
    Unit("m", "MTR", "m", "metre"),
    Unit("degree", "DD", "°", "degree (angle)"),
    Unit("rad", "C81", "rad", "radian"),
    # time
    Unit("ms", "C26", "ms", "millisecond"),
    Unit("s", "SEC", "s", "second"),
    Unit("min", "MIN", "min", "minute"),
    Unit("h", "HUR", "h", "hour"),
    Unit("d", "DAY", "d", "day"),
    # force and torque
    Unit("N", "NEW", "N", "newton"),
    Unit("kN", "B47", "kN", "kilonewton"),
    Unit("MN", "B73", "MN", "meganewton"),
    Unit("Nm", "NU", "N·m", "newton metre"),
    Unit("kNm", "B48", "kN·m", "kilonewton metre"),
    # flow and volume
    Unit("l/min", "L2", "l/min", "litre per minute"),
    Unit("l/s", "G51", "l/s", "litre per second"),
    Unit("m3/h", "MQH", "m³/h", "cubic metre per hour"),
    Unit("m3/min", "G53", "m³/min", "cubic metre per minute"),
    Unit("ml", "MLT", "ml", "millilitre"),
    Unit("l", "LTR", "l", "litre"),
    Unit("m3", "MTQ", "m³", "cubic metre"),
    # mass, mass flow, density
    Unit("g", "GRM", "g", "gram"),
    Unit("kg", "KGM", "kg", "kilogram"),
    Unit("t", "TNE", "t", "tonne"),
    Unit("kg/h", "E93", "kg/h", "kilogram per hour"),
    Unit("t/h", "E18", "t/h", "tonne per hour"),
    Unit("kg/m3", "KMQ", "kg/m³", "kilogram per cubic metre"),
    # ratios and dimensionless
    Unit("%", "P1", "%", "percent"),
    Unit("dB", "2N", "dB", "decibel"),
    Unit("pH", "Q30", "pH", "pH (potential of hydrogen)"),
    Unit("1", "C62", "1", "one (dimensionless: states, codes, ratios)"),
    Unit("count", "C62", "1", "number of items (dimensionless count)"),
)

# Other spellings people paste from datasheets -> the catalogue symbol.
_ALIASES: dict[str, str] = {
    "°C": "degC",
    "Ω": "Ohm",
    "r/min": "rpm",
    "m/s²": "m/s2",
    "µm": "um",  # micro sign U+00B5
    "μm": "um",  # Greek mu U+03BC: looks the same, so both must work
    "N·m": "Nm",
    "kN·m": "kNm",
    "m³/h": "m3/h",
    "m³/min": "m3/min",
    "m³": "m3",
    "kg/m³": "kg/m3",
}

UNITS: Mapping[str, Unit] = MappingProxyType({u.symbol: u for u in _CATALOGUE})
_SPELLINGS: Mapping[str, Unit] = MappingProxyType(
    {**UNITS, **{alias: UNITS[symbol] for alias, symbol in _ALIASES.items()}}
)


class UnknownUnitError(SmartfabError):
    """A unit that is not in the catalogue; ``reason`` says so and suggests the closest one."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.suggestion = _closest(symbol)
        if self.suggestion is not None:
            self.reason = f"unknown unit; did you mean {self.suggestion!r}?"
        else:
            self.reason = "unknown unit; `smartfab plant units` lists the known ones"
        super().__init__(f"{symbol!r}: {self.reason}")


def lookup_unit(symbol: str) -> Unit:
    """The catalogue entry for ``symbol`` (a catalogue symbol or an alias such as ``°C``)."""
    unit = _SPELLINGS.get(symbol)
    if unit is None:
        raise UnknownUnitError(symbol)
    return unit


def unit_of_opcua_id(unit_id: int) -> Unit | None:
    """The catalogue's unit of an OPC UA ``EUInformation.UnitId`` (its first symbol, where two
    share a code), or None for a unit the catalogue does not know."""
    return _BY_OPCUA_ID.get(unit_id)


_BY_OPCUA_ID: Mapping[int, Unit] = MappingProxyType(
    {u.opcua_unit_id: u for u in reversed(_CATALOGUE)}
)


def display_unit(symbol: str) -> str:
    """How people read ``symbol`` after a value: its UNECE symbol (``degC`` -> ``°C``, ``m3/h``
    -> ``m³/h``); empty for a dimensionless one (states, counts); an unknown one as written."""
    unit = _SPELLINGS.get(symbol)
    if unit is None:
        return symbol
    return "" if unit.code == _DIMENSIONLESS else unit.display


_DIMENSIONLESS = "C62"  # UNECE "one": states, codes, counts and ratios


def _closest(symbol: str) -> str | None:
    # Case first: "KW" is one keystroke from "kW" but difflib rates the pair poorly.
    same_letters = [s for s in UNITS if s.casefold() == symbol.strip().casefold()]
    if len(same_letters) == 1:
        return same_letters[0]
    matches = difflib.get_close_matches(symbol, list(_SPELLINGS), n=1)
    return _SPELLINGS[matches[0]].symbol if matches else None
