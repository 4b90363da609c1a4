"""The plant model: an ISA-95 hierarchy (site > area > line > work cell > equipment > signal) with
each signal's source binding. This module is the schema; ``smartfab.model.loader`` reads YAML into
it and reports every problem with file, line, field, value and reason.

Identifiers (``name``) are slugs so that a signal's path, ``site/area/line/cell/equipment/signal``,
is safe in URLs, MQTT topics and OPC UA string node ids.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    SecretStr,
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


SecurityPolicy = Literal["None", "Basic256Sha256"]
SecurityMode = Literal["None", "Sign", "SignAndEncrypt"]


class OpcUaConnection(_Strict):
    name: Slug
    protocol: Literal["opcua"]
    endpoint: str = Field(pattern=r"^opc\.tcp://")
    publishing_interval_ms: int = Field(default=500, ge=10, le=60_000)
    # Message security (OPC UA Part 2): Basic256Sha256 signs (Sign) or signs and encrypts
    # (SignAndEncrypt) every message with the client's certificate and key. The server's own
    # certificate must be in the trust list ``trusted_certs``, a folder of DER or PEM files (the
    # server's certificate itself, or the CA that issued it); any other server is refused.
    security_policy: SecurityPolicy = "None"
    security_mode: SecurityMode = "None"
    certificate: Path | None = None  # the client's application instance certificate
    private_key: Path | None = None
    trusted_certs: Path | None = None

    @model_validator(mode="after")
    def _security_complete(self) -> OpcUaConnection:
        secure = self.security_policy != "None"
        if secure != (self.security_mode != "None"):
            raise ValueError(
                f"security_policy {self.security_policy} needs security_mode "
                + ("Sign or SignAndEncrypt" if secure else "None")
                + f", not {self.security_mode}"
            )
        if secure:
            missing = [
                f for f in ("certificate", "private_key", "trusted_certs")
                if getattr(self, f) is None
            ]  # fmt: skip
            if missing:
                raise ValueError(
                    f"security_policy {self.security_policy} needs {', '.join(missing)}: the "
                    "client signs with its certificate and key and accepts only a trusted server"
                )
        return self


class ModbusConnection(_Strict):
    name: Slug
    protocol: Literal["modbus"]
    host: str
    port: int = Field(default=502, ge=1, le=65535)
    unit: int = Field(default=1, ge=0, le=247)  # the unit id of bindings that name none
    poll_ms: int = Field(default=1000, ge=10, le=3_600_000)
    # How many addresses of each table the device has (per unit); a binding past the end is an
    # error, and so is one in a table the device does not have (0).
    holding_registers: int = Field(default=10_000, ge=0, le=65536)
    input_registers: int = Field(default=0, ge=0, le=65536)
    coils: int = Field(default=0, ge=0, le=65536)
    discrete_inputs: int = Field(default=0, ge=0, le=65536)

    def table_size(self, table: ModbusTable) -> int:
        """How many addresses the device has in ``table``."""
        return int(getattr(self, TABLE_SIZE_FIELD[table]))


class MqttConnection(_Strict):
    name: Slug
    protocol: Literal["mqtt"]
    host: str
    port: int = Field(default=1883, ge=1, le=65535)
    version: Literal["3.1.1", "5"] = "5"
    # Workers with the same group share the messages ($share/<group>/...) instead of each
    # getting all of them: how ingestion scales out.
    shared_group: Slug | None = None
    qos: Literal[0, 1, 2] = 1
    client_id: str | None = None  # default: unique per connector instance
    username: str | None = None
    # SecretStr: shown as ********** in reprs, logs and dumps; the connector reveals it only to
    # the MQTT client.
    password: SecretStr | None = None
    # TLS (MQTT over TLS, usually port 8883): ``ca`` verifies the broker's certificate (default:
    # the system's trusted CAs); ``cert``/``key`` authenticate the client where the broker asks.
    tls: bool = False
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    max_payload_bytes: int = Field(default=1 << 20, ge=64)  # larger messages are rejected
    # Flow control: QoS 1/2 messages unacknowledged at a time (MQTT 5 Receive Maximum; the
    # broker keeps the rest), QoS 0 messages waiting before more are dropped. Thousands are
    # needed for full speed: acknowledgements wait until the messages are stored.
    receive_maximum: int = Field(default=10_000, ge=1, le=65535)
    # Keep the broker's queue of QoS >= 1 messages while disconnected, this long (needs client_id)
    session_expiry_s: int = Field(default=0, ge=0)
    # Where smartfab edge agents publish their devices' outages (gap events), also read; the
    # plant that `smartfab edge server-plant` writes sets it.
    events_topic: str | None = None

    @model_validator(mode="after")
    def _tls_complete(self) -> MqttConnection:
        if (self.ca or self.cert or self.key) and not self.tls:
            raise ValueError("ca, cert and key are TLS settings: set tls: true too")
        if (self.cert is None) != (self.key is None):
            raise ValueError("a client certificate needs both cert and key")
        return self


Connection = Annotated[
    OpcUaConnection | ModbusConnection | MqttConnection, Field(discriminator="protocol")
]

# --- signal bindings ---------------------------------------------------------------------------

ValueKind = Literal["number", "text", "array"]


class OpcUaBinding(_Strict):
    connection: Slug
    node: str = Field(pattern=r"^(ns=\d+;)?[isgb]=.+$")  # OPC UA NodeId string form


# The four Modbus tables: coils (1 bit, read FC1, written FC5/FC15), discrete inputs (1 bit, read
# FC2, read-only), holding registers (16 bits, read FC3, written FC6/FC16), input registers
# (16 bits, read FC4, read-only).
ModbusTable = Literal["coil", "discrete_input", "holding", "input"]
BIT_TABLES: frozenset[str] = frozenset({"coil", "discrete_input"})
TABLE_SIZE_FIELD: dict[str, str] = {
    "coil": "coils", "discrete_input": "discrete_inputs",
    "holding": "holding_registers", "input": "input_registers",
}  # fmt: skip
TABLE_TITLES: dict[str, str] = {
    "coil": "coils", "discrete_input": "discrete inputs",
    "holding": "holding registers", "input": "input registers",
}  # fmt: skip
RegisterType = Literal[
    "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"
]
REGISTER_WORDS: dict[str, int] = {
    "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "int64": 4, "uint64": 4,
    "float32": 2, "float64": 4,
}  # fmt: skip
# The most registers one "read holding/input registers" request may ask for: a string or an array
# must fit one, so that its elements are read at one instant, never torn between two polls.
MAX_READ_REGISTERS = 125

# pydantic warns that the field "register" shadows ABCMeta.register, a method of the model's
# metaclass that instances never see; without this every command would print that warning.
warnings.filterwarnings("ignore", r'Field name "register" in "ModbusBinding"', UserWarning)


class ModbusBinding(_Strict):
    connection: Slug
    table: ModbusTable = "holding"
    # Zero-based protocol address: of the first register (holding, input) or of the bit (coil,
    # discrete_input).
    register: int = Field(ge=0, le=65535)
    unit: int | None = Field(default=None, ge=0, le=247)  # default: the connection's unit
    # Registers only: how the value (an array: each element) is laid out in them.
    type: RegisterType = "uint16"
    word_order: Literal["big", "little"] = "big"
    # Strings only: which byte of a register holds the first of its two characters ("big": the
    # high byte, as most PLCs).
    byte_order: Literal["big", "little"] = "big"
    # One bit of an integer register value (0: least significant), read as 0 or 1.
    bit: int | None = Field(default=None, ge=0, le=63)
    # engineering value = raw * scale + offset (not for bits)
    scale: float = 1.0
    offset: float = 0.0

    @field_validator("scale")
    @classmethod
    def _scale_not_zero(cls, scale: float) -> float:
        if scale == 0:
            raise ValueError("scale must not be 0: every reading would equal the offset")
        return scale

    @model_validator(mode="after")
    def _layout_fits_table(self) -> ModbusBinding:
        given = self.model_fields_set
        if self.table in BIT_TABLES:
            extra = [f for f in ("type", "word_order", "byte_order", "bit") if f in given]
            if extra:
                raise ValueError(
                    f"{', '.join(extra)}: a {self.table} is one bit, not a register layout; "
                    "leave them out"
                )
        if self.is_bit and ("scale" in given or "offset" in given):
            raise ValueError("scale and offset do not apply to a bit, which reads 0 or 1")
        if self.bit is not None:
            if self.type.startswith("float"):
                raise ValueError(f"bit needs an integer register type, not {self.type}")
            width = 16 * REGISTER_WORDS[self.type]
            if self.bit >= width:
                raise ValueError(f"bit {self.bit} is past the {width} bits of a {self.type}")
        return self

    @property
    def is_bit(self) -> bool:
        """Whether the binding reads one bit (a coil, a discrete input or a register's bit)."""
        return self.table in BIT_TABLES or self.bit is not None

    @property
    def bit_location(self) -> tuple[int, int]:
        """Where the ``bit`` of a register value is: (register, bit 0-15 within it). Bit 0 is in
        the least significant word, the last register in big word order."""
        assert self.bit is not None  # only for register bit fields
        word = self.bit // 16
        if self.word_order == "big":
            word = REGISTER_WORDS[self.type] - 1 - word
        return self.register + word, self.bit % 16

    @property
    def words(self) -> int:
        """Addresses a number bound here spans in its table (a bit table's address is one bit)."""
        return 1 if self.table in BIT_TABLES else REGISTER_WORDS[self.type]

    def span(self, kind: ValueKind = "number", length: int | None = None) -> int:
        """Addresses a value of ``kind`` spans from ``register``: a number its ``words``; a
        string of ``length`` characters one register per two; an array ``length`` elements of
        ``type`` each."""
        if kind == "text":
            return -(-(length or MAX_STRING_LENGTH) // 2)
        if kind == "array":
            return (length or 0) * REGISTER_WORDS[self.type]
        return self.words

    def kind_problem(self, kind: ValueKind, type: str, length: int | None) -> str | None:
        """Why a signal of ``kind`` (data ``type``, ``length``) cannot be bound here, or None."""
        given = self.model_fields_set
        if kind == "text" and length is None:
            return "a Modbus string needs length: the characters its registers hold, 2 each"
        if kind != "number":
            if self.table in BIT_TABLES:
                return f"a {self.table} is one bit: {_a(type)} needs holding or input registers"
            if self.bit is not None:
                return f"bit reads one bit, not {_a(type)}"
            span = self.span(kind, length)
            if span > MAX_READ_REGISTERS:
                return (
                    f"{_a(type)} of {length} needs {span} registers, more than one read request "
                    f"may ask for ({MAX_READ_REGISTERS})"
                )
        if kind == "text":
            extra = [f for f in ("type", "word_order", "scale", "offset") if f in given]
            if extra:
                return (
                    f"{', '.join(extra)}: a string's registers hold characters, two each; "
                    "byte_order says which byte comes first"
                )
        elif "byte_order" in given:
            return f"byte_order is for strings; the bytes of a {type} are big-endian (Modbus)"
        if type == "enum" and self.table not in BIT_TABLES and self.type.startswith("float"):
            return f"an enum's codes are whole numbers: bind an integer type, not {self.type}"
        return None


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


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


# --- working time: shifts, breaks and planned stops ----------------------------------------------

# A local wall-clock time; 24:00 is not one: a shift ending at midnight ends at "00:00".
Clock = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_MIN = 24 * 60


def clock_minutes(clock: str) -> int:
    """Minutes after local midnight of an "HH:MM" clock time."""
    return int(clock[:2]) * 60 + int(clock[3:])


def _span(start: str, end: str) -> tuple[int, int]:
    """(start, end) in minutes after the start day's midnight; an end not after the start is on
    the next day."""
    a, b = clock_minutes(start), clock_minutes(end)
    return a, b + _DAY_MIN if b <= a else b


class ShiftBreak(_Strict):
    """A planned stop inside every occurrence of a shift (a meal break, a handover)."""

    name: str = "break"
    start: Clock
    end: Clock

    @property
    def minutes(self) -> tuple[int, int]:
        return _span(self.start, self.end)


class Shift(_Strict):
    """A shift worked on the given weekdays; an end not after the start ends the next day. A
    shift belongs to the day on which it starts (the Friday night shift runs into Saturday)."""

    name: Slug
    start: Clock
    end: Clock
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    breaks: list[ShiftBreak] = Field(default_factory=list)

    @property
    def minutes(self) -> tuple[int, int]:
        """(start, end) in minutes after the midnight of the day the shift starts on."""
        return _span(self.start, self.end)

    def break_minutes(self, brk: ShiftBreak) -> tuple[int, int]:
        """A break's (start, end) in minutes after the midnight of the shift's start day: a break
        at 02:00 of a night shift starting at 22:00 is at 26:00."""
        a, b = brk.minutes
        if a < self.minutes[0]:
            a, b = a + _DAY_MIN, b + _DAY_MIN
        return a, b


class PlannedStop(_Strict):
    """A dated planned stop (maintenance, holiday, stock-taking) in the site's local time."""

    name: str = Field(min_length=1)
    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _naive(cls, value: datetime) -> datetime:
        if value.tzinfo is not None:
            raise ValueError(
                "give the local time of the site without a UTC offset, e.g. 2026-12-24 14:00"
            )
        return value


class WorkCalendar(_Strict):
    """When an asset is planned to work: its shifts and planned stops, in ``timezone``."""

    timezone: str
    shifts: list[Shift]
    planned_stops: list[PlannedStop]


# --- alarm rules (evaluated by smartfab.apps.monitoring.alarms) ---------------------------------

# ISA-18.2 recommends three or four priorities, so that operators can tell what to do first.
Priority = Literal["low", "medium", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = ("low", "medium", "high", "urgent")


class _AlarmRule(_Strict):
    priority: Priority = "medium"
    message: str = ""  # what the operator reads; a default names the signal and the condition
    # A rule written down but not evaluated yet: an engineer tunes and tests it on the stored
    # history before enabling it.
    enabled: bool = True


class LimitAlarm(_AlarmRule):
    """Active once the value is beyond ``limit`` for ``delay_s`` seconds without interruption
    (on-delay); returns to normal once it is back inside by ``deadband`` (hysteresis), so that a
    value hovering at the limit does not chatter."""

    limit: float
    deadband: float = Field(default=0.0, ge=0)
    delay_s: float = Field(default=0.0, ge=0, le=86_400)


class RateAlarm(_AlarmRule):
    """Active while the value changes faster than ``limit`` engineering units per ``per_s``
    seconds (either direction) between consecutive samples, for ``delay_s`` seconds."""

    limit: float = Field(gt=0)
    per_s: float = Field(default=60.0, gt=0)
    deadband: float = Field(default=0.0, ge=0)
    delay_s: float = Field(default=0.0, ge=0, le=86_400)


class StaleAlarm(_AlarmRule):
    """Active when the signal has not been updated for ``after_s`` seconds."""

    after_s: float = Field(gt=0, le=7 * 86_400)


class FlatlineAlarm(_AlarmRule):
    """Active when the value has not moved by more than ``tolerance`` from one sample to the next
    for ``after_s`` seconds (a frozen sensor or a stuck transmitter)."""

    after_s: float = Field(gt=0, le=7 * 86_400)
    tolerance: float = Field(default=0.0, ge=0)


class SignalAlarms(_Strict):
    """The alarms of one signal; an alarm's id is ``<signal path>:<kind>``."""

    high_high: LimitAlarm | None = None
    high: LimitAlarm | None = None
    low: LimitAlarm | None = None
    low_low: LimitAlarm | None = None
    rate: RateAlarm | None = None
    stale: StaleAlarm | None = None
    flatline: FlatlineAlarm | None = None


class StateAlarm(_AlarmRule):
    """Active while the equipment is in the state for ``delay_s`` seconds."""

    delay_s: float = Field(default=0.0, ge=0, le=86_400)


class FaultAlarm(_AlarmRule):
    """One alarm per fault code of the equipment's ``faults:`` table (``codes`` limits them),
    id ``<equipment path>:fault:<code>``, active while the PLC reports that code; ``priorities``
    overrides the priority of single codes."""

    codes: list[int] | None = None
    priorities: dict[int, Priority] = Field(default_factory=dict)
    delay_s: float = Field(default=0.0, ge=0, le=86_400)


class EquipmentAlarms(_Strict):
    """Alarms on the machine state and fault code signals; ids ``<equipment>:state:<name>`` and
    ``<equipment>:fault:<code>``."""

    states: dict[str, StateAlarm] = Field(default_factory=dict)
    faults: FaultAlarm | None = None


# --- hierarchy ---------------------------------------------------------------------------------


def value_kind(data_type: str) -> ValueKind:
    """The storage kind of a signal's data type (a type the model does not know is a number, as
    stores written before strings and arrays existed hold only numbers)."""
    return "text" if data_type == "string" else "array" if data_type == "array" else "number"


SignalRole = Literal["measurement", "state", "fault", "good_count", "scrap_count", "energy"]
# float, int and bool are one number; an enum is an integer whose values have names (a recipe
# step, a mode), stored as the number and shown by name; string and array values are stored in
# their own tables (smartfab.platform.points.TextBatch, ArrayBatch).
DataType = Literal["float", "int", "bool", "enum", "string", "array"]
NUMERIC_TYPES: frozenset[str] = frozenset({"float", "int", "bool", "enum"})
# The longest text and array a signal may declare: a product code or an alarm text is far shorter,
# a spectrum of 4096 bins fits.
MAX_STRING_LENGTH = 4096
MAX_ARRAY_LENGTH = 65_536


class QualityRange(_Strict):
    """Values outside [low, high] are physically impossible for the instrument (a broken wire, a
    sensor out of its measuring span): stored BAD. The signal's own ``range`` (expected values)
    only makes a point UNCERTAIN."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> QualityRange:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class StaleRule(_Strict):
    """The signal fell silent for more than ``after_s`` seconds: the first point after the
    silence is stored UNCERTAIN and a quality event records the silence."""

    after_s: float = Field(gt=0, le=7 * 86_400)


class FlatlineRule(_Strict):
    """The value has not moved by more than ``tolerance`` from one sample to the next for
    ``after_s`` seconds (a frozen sensor): the points from then on are stored UNCERTAIN."""

    after_s: float = Field(gt=0, le=7 * 86_400)
    tolerance: float = Field(default=0.0, ge=0)


class SpikeRule(_Strict):
    """The value jumped by more than ``max_step`` engineering units from the previous sample:
    the point is stored UNCERTAIN."""

    max_step: float = Field(gt=0)


class QualityRules(_Strict):
    """Data-quality rules of one signal, applied by the writer (``smartfab.platform.quality``):
    they flag points and record quality events, they never drop a point."""

    range: QualityRange | None = None
    stale: StaleRule | None = None
    flatline: FlatlineRule | None = None
    spike: SpikeRule | None = None


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
    alarms: SignalAlarms | None = None
    # A setpoint that engineers may write to the device (smartfab.platform.setpoints), only
    # within ``range``, which a writable signal must therefore have.
    writable: bool = False
    quality: QualityRules | None = None
    # enum: the name of each value (code -> name), as OPC UA EnumStrings or a PLC's table.
    values: dict[int, str] | None = None
    # array: the number of elements (required); string: the most characters (default
    # MAX_STRING_LENGTH; a Modbus string needs it, since it sets how many registers hold it).
    length: int | None = Field(default=None, ge=1, le=MAX_ARRAY_LENGTH)

    @property
    def kind(self) -> ValueKind:
        """How its values are stored: one number, a text, or an array of numbers."""
        return value_kind(self.type)

    @model_validator(mode="after")
    def _type_fields(self) -> Signal:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum signal needs values: the name of each code, e.g. {0: off}")
        if self.type != "enum" and self.values is not None:
            raise ValueError(f"values names the codes of an enum signal, not of a {self.type}")
        if self.type == "array" and self.length is None:
            raise ValueError("an array signal needs length: how many elements each value has")
        if self.type == "string" and self.length is not None and self.length > MAX_STRING_LENGTH:
            raise ValueError(f"length {self.length}: a string holds at most {MAX_STRING_LENGTH}")
        if self.type not in ("string", "array") and self.length is not None:
            raise ValueError(f"length is for string and array signals, not for a {self.type}")
        modbus = self.source.modbus
        if modbus is not None:
            problem = modbus.kind_problem(self.kind, self.type, self.length)
            if problem is not None:
                raise ValueError(problem)
        if self.kind != "number":
            numeric = [f for f in ("range", "alarms", "quality") if getattr(self, f) is not None]
            if numeric or self.writable:
                raise ValueError(
                    f"{', '.join(numeric + ['writable'] * self.writable)}: only for signals of "
                    f"one number, and this one is {self.type}"
                )
            if self.role != "measurement":
                raise ValueError(
                    f"role {self.role} needs a number; a {self.type} signal is a measurement"
                )
        return self

    @model_validator(mode="after")
    def _writable_bounded(self) -> Signal:
        if not self.writable:
            return self
        if self.range is None:
            raise ValueError(
                "a writable signal needs a range: [low, high] bounds every value written to it"
            )
        if not self.range[0] < self.range[1]:
            raise ValueError(f"the range of a writable signal must have low < high: {self.range}")
        protocol = self.source.protocol
        if protocol not in ("opcua", "modbus"):
            raise ValueError(f"only OPC UA and Modbus signals can be writable, not {protocol}")
        modbus = self.source.modbus
        if modbus is not None and modbus.table not in ("holding", "coil"):
            raise ValueError(
                "a writable Modbus signal must be a coil or in the holding registers: "
                f"{TABLE_TITLES[modbus.table]} are read-only"
            )
        if modbus is not None and modbus.bit is not None:
            # Writing one bit means reading the register and writing it back, which would undo
            # whatever the PLC changed in between.
            raise ValueError(
                "a bit of a holding register cannot be written safely; bind a coil instead"
            )
        return self

    def setpoint_problem(self, value: float) -> str | None:
        """Why ``value`` may not be written to this signal, or None when it may."""
        if not self.writable:
            return "the signal is not writable (writable: true in the plant file allows it)"
        if not math.isfinite(value):
            return f"{value} is not a finite number"
        assert self.range is not None  # a writable signal has one (validated)
        low, high = self.range
        if not low <= value <= high:
            return f"{value:g} {self.unit} is outside the writable range [{low:g}, {high:g}]"
        if self.type != "float" and value != round(value):
            return f"{value:g} is not a whole number, and the signal is {self.type}"
        if self.values is not None and int(value) not in self.values:
            return f"{value:g} is none of the enum's codes {sorted(self.values)}"
        return None


# --- energy and process optimisation (smartfab.apps.energy, smartfab.apps.quality) ----------------

# The units an emission factor may be given in, as the multiplier to kg CO2e per kWh.
EMISSION_UNITS: dict[str, float] = {"kgCO2e/kWh": 1.0, "gCO2e/kWh": 1e-3, "tCO2e/MWh": 1.0}


class ProcessParameter(_Strict):
    """An operating parameter the optimiser may move: a writable signal of the equipment and the
    largest change made at once (its rate-of-change limit, in the signal's unit)."""

    signal: Slug
    max_step: float = Field(gt=0)


class ProcessSettings(_Strict):
    """How an equipment's process is judged and optimised: its parameters, the inspection result
    of each part, the limits a recommendation must respect and the alarm on predicted risk."""

    parameters: list[ProcessParameter] = Field(min_length=1)
    inspection: Slug  # an enum signal: 0 good, each other code a defect type
    characteristic: Slug | None = None  # the measured characteristic of each part
    context: list[Slug] = Field(default_factory=list)  # measurements the models may use
    material_lot: Slug | None = None  # a string signal: the lot in process
    max_defect_rate: float = Field(gt=0, lt=1)  # the highest acceptable share of defects
    takt_s: float = Field(gt=0)  # a cycle longer than this starves the line
    risk_alarm: float | None = Field(default=None, gt=0, lt=1)  # alarm above this predicted risk
    alarm_priority: Priority = "medium"

    @model_validator(mode="after")
    def _distinct(self) -> ProcessSettings:
        names = [p.signal for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError(f"a parameter is listed twice: {names}")
        return self


class TariffPeriod(_Strict):
    """A time-of-use window and its energy price; an end at or before the start ends the next
    day."""

    name: str = Field(min_length=1)
    start: Clock
    end: Clock
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    price: float = Field(ge=0)  # per kWh, in the tariff's currency

    @property
    def minutes(self) -> tuple[int, int]:
        return _span(self.start, self.end)


class EnergyTariff(_Strict):
    """Time-of-use energy prices. Every hour of the week falls in exactly one period (periods
    that overlap are refused); ``demand_charge`` is per kW of the month's peak demand."""

    currency: str = Field(pattern=r"^[A-Z]{3}$")  # ISO 4217, e.g. CNY
    unit: str  # the price unit, "<currency>/kWh": stated, so that a price in MWh is caught
    periods: list[TariffPeriod] = Field(min_length=1)
    demand_charge: float = Field(default=0.0, ge=0)  # per kW and month

    @model_validator(mode="after")
    def _units_and_cover(self) -> EnergyTariff:
        if self.unit != f"{self.currency}/kWh":
            raise ValueError(
                f"unit {self.unit!r}: prices are per kWh in the tariff's currency, "
                f"write unit: {self.currency}/kWh (and convert a price per MWh)"
            )
        week = [""] * (7 * _DAY_MIN)
        for p in self.periods:
            a, b = p.minutes
            for day in p.days:
                base = WEEKDAYS.index(day) * _DAY_MIN
                for m in range(a, b):
                    slot = (base + m) % len(week)
                    if week[slot]:
                        raise ValueError(
                            f"periods {week[slot]!r} and {p.name!r} overlap on {day} at "
                            f"{m // 60 % 24:02d}:{m % 60:02d}"
                        )
                    week[slot] = p.name
        gap = next((i for i, name in enumerate(week) if not name), None)
        if gap is not None:
            day, m = WEEKDAYS[gap // _DAY_MIN], gap % _DAY_MIN
            raise ValueError(f"no period covers {day} {m // 60:02d}:{m % 60:02d}")
        return self

    def period_at(self, weekday: int, minute: int) -> TariffPeriod:
        """The period in force at ``minute`` after midnight of ``weekday`` (0 Monday)."""
        for p in self.periods:
            a, b = p.minutes
            for day in p.days:
                d = WEEKDAYS.index(day)
                m = (weekday - d) % 7 * _DAY_MIN + minute
                if a <= m < b:
                    return p
        raise KeyError((weekday, minute))  # cannot happen: validated to cover the week


class EmissionFactor(_Strict):
    """CO2 equivalent per unit of electricity (the grid's, or the supplier's contract)."""

    value: float = Field(gt=0)
    unit: str

    @field_validator("unit")
    @classmethod
    def _known(cls, unit: str) -> str:
        if unit not in EMISSION_UNITS:
            raise ValueError(f"unit {unit!r}: write one of {', '.join(EMISSION_UNITS)}")
        return unit

    @property
    def kg_per_kwh(self) -> float:
        return self.value * EMISSION_UNITS[self.unit]


class EnergySettings(_Strict):
    """Energy cost and emissions of the site."""

    tariff: EnergyTariff | None = None
    emission_factor: EmissionFactor | None = None


class Equipment(_Strict):
    name: Slug
    title: str = ""
    model: str | None = None  # virtual equipment model ("cnc", "press", ...); None for real only
    ideal_cycle_s: float | None = Field(default=None, gt=0)
    states: dict[int, str] = Field(default_factory=lambda: dict(DEFAULT_STATES))
    faults: dict[int, str] = Field(
        default_factory=dict
    )  # fault code (as the PLC reports it) -> text
    alarms: EquipmentAlarms | None = None
    signals: list[Signal] = Field(min_length=1)
    # Digital transformation: the equipment runs one of the plant's key processes, and it is
    # numerically controlled (CNC, a PLC-run press...); their share is the key-process CNC rate.
    key_process: bool = False
    numerical_control: bool = False
    process: ProcessSettings | None = None  # its operating parameters and inspection

    @model_validator(mode="after")
    def _process_signals(self) -> Equipment:
        if self.process is None:
            return self
        by_name = {s.name: s for s in self.signals}
        pr = self.process
        for p in pr.parameters:
            sig = by_name.get(p.signal)
            if sig is None or not sig.writable or sig.range is None:
                raise ValueError(f"process parameter {p.signal!r}: not a writable signal here")
            if p.max_step > sig.range[1] - sig.range[0]:
                raise ValueError(f"process parameter {p.signal!r}: max_step exceeds its range")
        inspection = by_name.get(pr.inspection)
        if inspection is None or inspection.values is None or 0 not in inspection.values:
            raise ValueError(
                f"process inspection {pr.inspection!r}: needs an enum signal here whose code 0 "
                "is a good part"
            )
        for name in [pr.characteristic, pr.material_lot, *pr.context]:
            if name is not None and name not in by_name:
                raise ValueError(f"process: no signal {name!r} on this equipment")
        return self


class WorkCell(_Strict):
    name: Slug
    title: str = ""
    equipment: list[Equipment] = Field(min_length=1)


# A cell of a storage zone's floor, (x, y): column and row of its grid, or the position of a node
# of its graph. Everything on the floor stands on one (the AGVs' pick-up and drop points).
Cell = tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]]
DemandClass = Literal["A", "B", "C"]
# MovingAI map characters: '.' and 'G' are free, '@', 'O', 'T' and 'W' are not (walls, trees,
# water); S (swamp) counts as free.
FREE_FLOOR = frozenset(".GS")
BLOCKED_FLOOR = frozenset("@OTW")
MAX_FLOOR_SIDE = 4096


class LineMaterial(_Strict):
    """A material a line draws from a storage zone: what one good part consumes, and the line-side
    stock that a replenishment keeps between ``min_units`` and ``max_units``."""

    sku: str  # a code of the site's skus
    per_part: float = Field(gt=0)  # units consumed per good part
    # The equipment whose good_count counts the parts; default: the line's last equipment that
    # counts good parts.
    equipment: Slug | None = None
    from_zone: Slug  # the storage zone that supplies it (of any area)
    at: Cell  # the line-side drop point on that zone's floor
    min_units: int = Field(ge=0)  # the reorder point
    max_units: int = Field(gt=0)  # a replenishment fills up to this

    @model_validator(mode="after")
    def _min_below_max(self) -> LineMaterial:
        if self.min_units >= self.max_units:
            raise ValueError(f"min_units {self.min_units} must be below max_units {self.max_units}")
        return self


class Line(_Strict):
    name: Slug
    title: str = ""
    # None: the site's shifts and planned stops apply; a list (even empty) replaces them.
    shifts: list[Shift] | None = None
    planned_stops: list[PlannedStop] | None = None
    cells: list[WorkCell] = Field(min_length=1)
    materials: list[LineMaterial] = Field(default_factory=list)


# --- warehouse: storage zones and storage units (ISA-95 Part 2) ----------------------------------


class Sku(_Strict):
    """A stock keeping unit: what is stored, picked and shipped."""

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")
    title: str = ""
    size_mm: tuple[PositiveFloat, PositiveFloat, PositiveFloat]  # length, width, height of a unit
    weight_kg: float = Field(gt=0)
    # ABC class by demand: A the fast movers (slotted near the I/O points), C the slow ones.
    demand_class: DemandClass = "C"
    per_tote: int = Field(default=1, ge=1)  # units one storage load (tote, pallet) holds


class Floor(_Strict):
    """The floor AGVs drive on: a grid (rows of MovingAI map characters, row 0 on top) or a graph
    (named nodes at cells and the edges between them, driven both ways)."""

    cell_m: float = Field(default=1.0, gt=0, le=100)  # the side of a grid cell, in metres
    grid: list[str] | None = Field(default=None, min_length=1, max_length=MAX_FLOOR_SIDE)
    nodes: dict[Slug, Cell] | None = None
    edges: list[tuple[Slug, Slug]] | None = None

    @model_validator(mode="after")
    def _grid_or_graph(self) -> Floor:
        if (self.grid is None) == (self.nodes is None):
            raise ValueError("a floor needs exactly one of grid: (rows) or nodes: (a graph)")
        if self.edges is not None and self.nodes is None:
            raise ValueError("edges join the nodes of a graph floor; a grid has none")
        return self

    def free(self, cell: tuple[int, int]) -> bool:
        """Whether an AGV may stand on ``cell``."""
        x, y = cell
        if self.grid is not None:
            return y < len(self.grid) and x < len(self.grid[y]) and self.grid[y][x] in FREE_FLOOR
        return cell in set((self.nodes or {}).values())


class Rack(_Strict):
    """A static rack: ``bays`` x ``levels`` locations, served from the floor cell ``at``."""

    name: Slug
    title: str = ""
    bays: int = Field(ge=1, le=1000)
    levels: int = Field(ge=1, le=100)
    max_load_kg: float = Field(default=1000.0, gt=0)  # per location
    at: Cell


class Crane(Equipment):
    """A stacker crane: equipment whose signals its PLC serves, with its kinematics. Travel and
    lift move at once; the slower of the two sets a move's time."""

    signals: list[Signal] = Field(default_factory=list)  # type: ignore[assignment]
    travel_speed_m_s: float = Field(default=4.0, gt=0, le=20)
    travel_accel_m_s2: float = Field(default=0.8, gt=0, le=10)
    lift_speed_m_s: float = Field(default=1.5, gt=0, le=10)
    lift_accel_m_s2: float = Field(default=0.8, gt=0, le=10)
    fork_s: float = Field(default=6.0, gt=0, le=120)  # to take or set down a load


class AsrsAisle(_Strict):
    """An automated aisle: locations on both sides, ``bays`` x ``levels`` each, served by its
    crane from the input/output point at bay 0, level 0, which meets the floor at ``at``."""

    name: Slug
    title: str = ""
    bays: int = Field(ge=1, le=1000)
    levels: int = Field(ge=1, le=100)
    bay_m: float = Field(default=1.4, gt=0, le=10)
    level_m: float = Field(default=1.2, gt=0, le=10)
    at: Cell
    crane: Crane


class GtpStation(_Strict):
    """A goods-to-person station: totes come to the picker, who picks ``picks_per_hour``."""

    name: Slug
    title: str = ""
    picks_per_hour: float = Field(default=400.0, gt=0)
    at: Cell


class Chute(_Strict):
    name: Slug
    capacity: int = Field(default=40, ge=1)  # items before it is full and blocks its destination
    dock: Slug | None = None  # the outbound dock it feeds


class Sorter(_Strict):
    """A cross-belt sorter: items inducted at ``at`` ride a carrier to their chute; a full chute
    sends its items round again. ``equipment`` are its machines that serve signals."""

    name: Slug
    title: str = ""
    induction_per_hour: float = Field(default=3000.0, gt=0)
    loop_m: float = Field(default=60.0, gt=0)
    speed_m_s: float = Field(default=2.0, gt=0, le=10)
    at: Cell
    chutes: list[Chute] = Field(min_length=1)
    equipment: list[Equipment] = Field(default_factory=list)


class Conveyor(_Strict):
    name: Slug
    title: str = ""
    length_m: float = Field(gt=0)
    speed_m_s: float = Field(default=0.5, gt=0, le=10)
    from_unit: Slug  # a unit of the same zone
    to_unit: Slug


class Dock(_Strict):
    name: Slug
    title: str = ""
    kind: Literal["inbound", "outbound"]
    at: Cell


class Charger(_Strict):
    name: Slug
    power_w: float = Field(default=3000.0, gt=0)
    at: Cell


class Agv(_Strict):
    name: Slug
    serial: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")  # VDA 5050 serialNumber
    speed_m_s: float = Field(default=1.5, gt=0, le=10)
    battery_wh: float = Field(default=2000.0, gt=0)
    drive_w: float = Field(default=400.0, gt=0)  # consumption while driving
    payload_kg: float = Field(default=600.0, gt=0)
    at: Cell  # where it starts (parks)


class AgvFleet(_Strict):
    """AGVs that speak VDA 5050 over the MQTT ``connection``: topics
    ``<interface>/v2/<manufacturer>/<serial>/<topic>``."""

    # The plant's MQTT connection of the broker (its host, port, TLS and credentials); none: the
    # virtual warehouse's own broker, 127.0.0.1:1883.
    connection: Slug | None = None
    interface: str = Field(default="uagv", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    manufacturer: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    charge_below: float = Field(default=0.3, gt=0, lt=1)  # battery fraction sending it to charge
    # The server's virtual warehouse plays the AGVs on the broker; off when real AGVs answer to
    # these serials there (the fleet manager's side runs either way).
    virtual_agvs: bool = True
    agvs: list[Agv] = Field(min_length=1)
    chargers: list[Charger] = Field(default_factory=list)


class OrderDemand(_Strict):
    """The customer orders a storage zone ships, as its virtual warehouse draws them: order
    lines a day, spread over the day by ``hourly`` (24 relative weights, 00-23 h), orders of 1 to
    ``max_lines`` lines, each due after one of ``service``'s lead times ([hours, share] pairs),
    rounded up to the next outbound departure (every ``departure_h`` hours)."""

    lines_per_day: float = Field(default=1000.0, gt=0, le=1_000_000)
    lines_per_order: float = Field(default=3.0, ge=1)
    max_lines: int = Field(default=8, ge=1, le=100)
    hourly: list[float] | None = Field(default=None, min_length=24, max_length=24)
    service: list[tuple[float, float]] | None = Field(default=None, min_length=1)
    departure_h: float = Field(default=1.0, gt=0, le=24)

    @model_validator(mode="after")
    def _consistent(self) -> OrderDemand:
        if self.lines_per_order > self.max_lines:
            raise ValueError("lines_per_order cannot exceed max_lines")
        if self.hourly is not None and (min(self.hourly) < 0 or sum(self.hourly) <= 0):
            raise ValueError("hourly needs non-negative weights, not all zero")
        if self.service is not None and any(h <= 0 or w < 0 for h, w in self.service):
            raise ValueError("service needs positive hours and non-negative shares")
        if self.service is not None and sum(w for _, w in self.service) <= 0:
            raise ValueError("service's shares cannot all be zero")
        return self


class StorageZone(_Strict):
    """An ISA-95 storage zone: its floor and its storage units."""

    name: Slug
    title: str = ""
    floor: Floor
    racks: list[Rack] = Field(default_factory=list)
    asrs: list[AsrsAisle] = Field(default_factory=list)
    gtp_stations: list[GtpStation] = Field(default_factory=list)
    sorters: list[Sorter] = Field(default_factory=list)
    conveyors: list[Conveyor] = Field(default_factory=list)
    docks: list[Dock] = Field(default_factory=list)
    fleet: AgvFleet | None = None
    demand: OrderDemand | None = None  # the customer orders its virtual warehouse simulates

    def units(self) -> Iterator[tuple[str, int, Rack | AsrsAisle | GtpStation | Sorter | Dock]]:
        """Every unit standing on the floor, with the field and index that hold it."""
        for field in ("racks", "asrs", "gtp_stations", "sorters", "docks"):
            for i, unit in enumerate(getattr(self, field)):
                yield field, i, unit

    def equipment(self) -> Iterator[tuple[str, Equipment]]:
        """The zone's equipment with its path below the zone (unit/equipment)."""
        for aisle in self.asrs:
            yield f"{aisle.name}/{aisle.crane.name}", aisle.crane
        for sorter in self.sorters:
            for eq in sorter.equipment:
                yield f"{sorter.name}/{eq.name}", eq


class Area(_Strict):
    name: Slug
    title: str = ""
    lines: list[Line] = Field(default_factory=list)
    storage_zones: list[StorageZone] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> Area:
        if not self.lines and not self.storage_zones:
            raise ValueError("an area needs lines: or storage_zones: (at least one)")
        return self


class Site(_Strict):
    name: Slug
    title: str = ""
    timezone: str = "UTC"
    # No shifts: every hour of every day is planned working time.
    shifts: list[Shift] = Field(default_factory=list)
    planned_stops: list[PlannedStop] = Field(default_factory=list)
    skus: list[Sku] = Field(default_factory=list)
    areas: list[Area] = Field(min_length=1)


# --- the plant's software, for the digital-transformation KPIs and the sovereignty report -------

SoftwareCategory = Literal[
    "cad", "cae", "cam", "capp", "pdm", "plm", "eda",
    "mes", "erp", "scm", "wms", "qms", "scada", "office", "other",
]  # fmt: skip
# Digital R&D and design tools, as the national penetration statistic counts them.
RD_DESIGN_CATEGORIES = frozenset({"cad", "cae", "cam", "capp", "pdm", "plm", "eda"})


class Software(_Strict):
    name: str = Field(min_length=1, max_length=200)
    category: SoftwareCategory
    vendor: str = ""
    origin: str = Field(default="", pattern=r"^([A-Z]{2})?$")  # vendor's country, ISO 3166 alpha-2
    hosting: Literal["on_premises", "cloud"] = "on_premises"
    users: int = Field(default=0, ge=0)  # people who use it in their work


class DigitalInventory(_Strict):
    design_staff: int = Field(default=0, ge=0)  # people in R&D, design and process planning
    software: list[Software] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> DigitalInventory:
        names = [s.name for s in self.software]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"software listed twice: {', '.join(twice)}")
        for s in self.software:
            if s.category in RD_DESIGN_CATEGORIES and s.users > self.design_staff:
                raise ValueError(
                    f"{s.name}: {s.users} users of a design tool, more than the "
                    f"{self.design_staff} design_staff"
                )
        return self


# --- what the plant's figures are worth, for the measured gains of transformation projects -------

# The largest price a plant file may state: beyond it sums of a year's parts overflow a float's
# exact range long before they mean anything.
_MAX_PRICE = 1e9


class Economics(_Strict):
    """Prices that turn a measured gain into money (smartfab.apps.transformation.gains): one
    more good part, one scrapped part fewer, one hour of unplanned downtime avoided. Energy is
    priced by the energy tariff."""

    currency: str = Field(pattern=r"^[A-Z]{3}$")  # ISO 4217, e.g. CNY
    good_part_margin: float | None = Field(default=None, ge=0, le=_MAX_PRICE)
    scrap_cost: float | None = Field(default=None, ge=0, le=_MAX_PRICE)
    downtime_cost_per_hour: float | None = Field(default=None, ge=0, le=_MAX_PRICE)


class Plant(_Strict):
    """A whole plant file."""

    enterprise: str = ""
    site: Site
    connections: list[Connection] = Field(default_factory=list)
    digital: DigitalInventory | None = None  # the plant's software (transformation KPIs)
    energy: EnergySettings | None = None  # tariff and emission factor
    economics: Economics | None = None  # prices of parts, scrap and downtime

    @model_validator(mode="after")
    def _one_currency(self) -> Plant:
        tariff = self.energy.tariff if self.energy is not None else None
        economics = self.economics
        if economics is not None and tariff is not None and tariff.currency != economics.currency:
            raise ValueError(
                f"economics.currency {economics.currency} differs from "
                f"energy.tariff.currency {tariff.currency}: state every price in one currency"
            )
        return self

    def iter_equipment(self) -> Iterator[EquipmentRef]:
        s = self.site
        for a in s.areas:
            for li in a.lines:
                for c in li.cells:
                    for e in c.equipment:
                        yield EquipmentRef(f"{s.name}/{a.name}/{li.name}/{c.name}/{e.name}", e)

    def iter_zone_equipment(self) -> Iterator[EquipmentRef]:
        """The storage zones' equipment (cranes, sorter machines), paths
        ``site/area/zone/unit/equipment``. Kept apart from ``iter_equipment``, which production,
        OEE and the twin read as the lines' machines."""
        for a, z in self.iter_zones():
            for below, e in z.equipment():
                yield EquipmentRef(f"{self.site.name}/{a.name}/{z.name}/{below}", e)

    def iter_zones(self) -> Iterator[tuple[Area, StorageZone]]:
        """Every storage zone with its area."""
        for a in self.site.areas:
            for z in a.storage_zones:
                yield a, z

    def zone(self, name: str) -> StorageZone:
        """The storage zone named ``name`` (zone names are unique in a site)."""
        for _, z in self.iter_zones():
            if z.name == name:
                return z
        raise KeyError(name)

    def sku(self, code: str) -> Sku:
        for k in self.site.skus:
            if k.code == code:
                return k
        raise KeyError(code)

    def iter_signals(self) -> Iterator[SignalRef]:
        """Every signal: the lines' equipment's, then the storage zones'."""
        for eq in itertools.chain(self.iter_equipment(), self.iter_zone_equipment()):
            for sig in eq.equipment.signals:
                yield SignalRef(f"{eq.path}/{sig.name}", eq, sig)

    def work_calendar(self, path: str) -> WorkCalendar:
        """The shifts and planned stops of the asset at ``path`` (site, area, line or anything
        below): its line's where the line overrides them, else the site's. An area, or the site,
        spans lines that may differ: it gets the site's; so does a storage zone."""
        s = self.site
        shifts, stops = s.shifts, s.planned_stops
        parts = path.strip("/").split("/")
        if parts[0] != s.name:
            raise KeyError(path)
        if len(parts) >= 3:
            line = next(
                (
                    li
                    for a in s.areas
                    if a.name == parts[1]
                    for li in a.lines
                    if li.name == parts[2]
                ),
                None,
            )
            if line is None:
                zones = (z for a in s.areas if a.name == parts[1] for z in a.storage_zones)
                if not any(z.name == parts[2] for z in zones):
                    raise KeyError(path)
                return WorkCalendar(timezone=s.timezone, shifts=shifts, planned_stops=stops)
            shifts = s.shifts if line.shifts is None else line.shifts
            stops = s.planned_stops if line.planned_stops is None else line.planned_stops
        return WorkCalendar(timezone=s.timezone, shifts=shifts, planned_stops=stops)

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
