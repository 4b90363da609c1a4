"""The plant model: an ISA-95 hierarchy (site > area > line > work cell > equipment > signal) with
each signal's source binding. This module is the schema; ``smartfab.model.loader`` reads YAML into
it and reports every problem with file, line, field, value and reason.

Identifiers (``name``) are slugs so that a signal's path, ``site/area/line/cell/equipment/signal``,
is safe in URLs, MQTT topics and OPC UA string node ids.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]

# Machine states every equipment knows unless it declares its own (code -> name). The codes are what
# a PLC exposes in its state register; the names are what OEE and the web app speak.
DEFAULT_STATES: dict[int, str] = {
    0: "off",
    1: "running",
    2: "idle",
    3: "setup",
    4: "planned_stop",
    5: "unplanned_down",
}
STATE_NAMES = frozenset(DEFAULT_STATES.values())


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- connections: the devices smartfab talks to -----------------------------------------------


class OpcUaConnection(_Strict):
    name: Slug
    protocol: Literal["opcua"]
    endpoint: str = Field(pattern=r"^opc\.tcp://")
    publishing_interval_ms: int = Field(default=500, ge=10, le=60_000)


class ModbusConnection(_Strict):
    name: Slug
    protocol: Literal["modbus"]
    host: str
    port: int = Field(default=502, ge=1, le=65535)
    unit: int = Field(default=1, ge=0, le=247)
    poll_ms: int = Field(default=1000, ge=10, le=3_600_000)
    # How many registers of each table the device has; a binding past the end is an error.
    holding_registers: int = Field(default=10_000, ge=0, le=65536)
    input_registers: int = Field(default=0, ge=0, le=65536)


class MqttConnection(_Strict):
    name: Slug
    protocol: Literal["mqtt"]
    host: str
    port: int = Field(default=1883, ge=1, le=65535)


Connection = Annotated[
    OpcUaConnection | ModbusConnection | MqttConnection, Field(discriminator="protocol")
]

# --- signal bindings ---------------------------------------------------------------------------


class OpcUaBinding(_Strict):
    connection: Slug
    node: str = Field(pattern=r"^(ns=\d+;)?[isgb]=.+$")  # OPC UA NodeId string form


RegisterType = Literal["int16", "uint16", "int32", "uint32", "float32", "float64"]
REGISTER_WORDS: dict[str, int] = {
    "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "float64": 4,
}  # fmt: skip

# pydantic warns that the field "register" shadows ABCMeta.register, a method of the model's
# metaclass that instances never see; without this every command would print that warning.
warnings.filterwarnings("ignore", r'Field name "register" in "ModbusBinding"', UserWarning)


class ModbusBinding(_Strict):
    connection: Slug
    table: Literal["holding", "input"] = "holding"
    register: int = Field(ge=0, le=65535)  # zero-based protocol address
    type: RegisterType = "uint16"
    word_order: Literal["big", "little"] = "big"
    # engineering value = raw * scale + offset
    scale: float = 1.0
    offset: float = 0.0

    @field_validator("scale")
    @classmethod
    def _scale_not_zero(cls, scale: float) -> float:
        if scale == 0:
            raise ValueError("scale must not be 0: every reading would equal the offset")
        return scale


class MqttBinding(_Strict):
    connection: Slug
    topic: str = Field(min_length=1)
    field: str = Field(min_length=1)  # JSON field (dotted path) holding the value


class Source(_Strict):
    """Exactly one of the protocol bindings, or ``virtual`` for the simulator's own bus."""

    opcua: OpcUaBinding | None = None
    modbus: ModbusBinding | None = None
    mqtt: MqttBinding | None = None
    virtual: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> Source:
        chosen = [p for p in ("opcua", "modbus", "mqtt") if getattr(self, p) is not None]
        if self.virtual:
            chosen.append("virtual")
        if len(chosen) != 1:
            raise ValueError(
                "a source needs exactly one of opcua:, modbus:, mqtt: or virtual: true, "
                f"not {' and '.join(chosen) or 'none'}"
            )
        return self

    @property
    def protocol(self) -> str:
        for p in ("opcua", "modbus", "mqtt"):
            if getattr(self, p) is not None:
                return p
        return "virtual"

    @property
    def connection(self) -> str | None:
        b = self.opcua or self.modbus or self.mqtt
        return b.connection if b is not None else None


# --- hierarchy ---------------------------------------------------------------------------------

SignalRole = Literal["measurement", "state", "fault", "good_count", "scrap_count", "energy"]
DataType = Literal["float", "int", "bool"]


class Signal(_Strict):
    name: Slug
    description: str = ""
    unit: str  # checked against smartfab.model.units
    type: DataType = "float"
    role: SignalRole = "measurement"
    range: tuple[float, float] | None = None  # expected engineering range [low, high]
    sample_s: float = Field(default=1.0, gt=0, le=86_400)  # how often the source updates it
    source: Source
    # Which quantity of the virtual equipment model feeds this signal (absent for real equipment).
    sim: str | None = None


class Equipment(_Strict):
    name: Slug
    title: str = ""
    model: str | None = None  # virtual equipment model ("cnc", "press", ...); None for real only
    ideal_cycle_s: float | None = Field(default=None, gt=0)
    states: dict[int, str] = Field(default_factory=lambda: dict(DEFAULT_STATES))
    faults: dict[int, str] = Field(
        default_factory=dict
    )  # fault code (as the PLC reports it) -> text
    signals: list[Signal] = Field(min_length=1)


class WorkCell(_Strict):
    name: Slug
    title: str = ""
    equipment: list[Equipment] = Field(min_length=1)


class Line(_Strict):
    name: Slug
    title: str = ""
    cells: list[WorkCell] = Field(min_length=1)


class Area(_Strict):
    name: Slug
    title: str = ""
    lines: list[Line] = Field(min_length=1)


class Site(_Strict):
    name: Slug
    title: str = ""
    timezone: str = "UTC"
    areas: list[Area] = Field(min_length=1)


class Plant(_Strict):
    """A whole plant file."""

    enterprise: str = ""
    site: Site
    connections: list[Connection] = Field(default_factory=list)

    def iter_equipment(self) -> Iterator[EquipmentRef]:
        s = self.site
        for a in s.areas:
            for li in a.lines:
                for c in li.cells:
                    for e in c.equipment:
                        yield EquipmentRef(f"{s.name}/{a.name}/{li.name}/{c.name}/{e.name}", e)

    def iter_signals(self) -> Iterator[SignalRef]:
        for eq in self.iter_equipment():
            for sig in eq.equipment.signals:
                yield SignalRef(f"{eq.path}/{sig.name}", eq, sig)

    def connection(self, name: str) -> OpcUaConnection | ModbusConnection | MqttConnection:
        for c in self.connections:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class EquipmentRef:
    path: str
    equipment: Equipment


@dataclass(frozen=True, slots=True)
class SignalRef:
    path: str
    owner: EquipmentRef
    signal: Signal
