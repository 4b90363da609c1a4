"""Modbus register encoding and the register layout of one connection.

This is the one place that knows how an engineering value becomes 16-bit register words and back;
the virtual device (server) and the connector (client) both use it, so they cannot disagree.

Words are big-endian within a register (the Modbus rule); ``word_order`` says which register of a
multi-register value holds the most significant word ("big": the first one, "little": the last).
Engineering value = raw * scale + offset, so encoding divides it back out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from smartfab.errors import SmartfabError
from smartfab.model.plant import (
    REGISTER_WORDS,
    ModbusBinding,
    ModbusConnection,
    Plant,
    RegisterType,
)

Table = Literal["holding", "input"]
WordOrder = Literal["big", "little"]
Words = npt.NDArray[np.uint16]
Float64Array = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]

MAX_READ_REGISTERS = 125  # most registers one "read holding/input registers" request may ask for
DEFAULT_MAX_HOLE = 8  # unused registers worth reading to save a request

# Register types as big-endian NumPy dtypes, and the raw range of the integer ones.
_BIG_ENDIAN: dict[str, str] = {
    "int16": ">i2", "uint16": ">u2", "int32": ">i4",
    "uint32": ">u4", "float32": ">f4", "float64": ">f8",
}  # fmt: skip
_INT_RANGE: dict[str, tuple[int, int]] = {
    t: (int(np.iinfo(t).min), int(np.iinfo(t).max)) for t in ("int16", "uint16", "int32", "uint32")
}


def encode(
    values: npt.ArrayLike,
    type: RegisterType,
    word_order: WordOrder = "big",
    scale: float | Float64Array = 1.0,
    offset: float | Float64Array = 0.0,
) -> Words:
    """Engineering values -> register words, shape (n, words of the type).

    Integer types are rounded to the nearest raw value and clipped to the type's range, the way a
    PLC saturates; NaN has no integer representation and becomes 0.
    """
    raw = np.atleast_1d((np.asarray(values, dtype=np.float64) - offset) / scale)
    if type in _INT_RANGE:
        low, high = _INT_RANGE[type]
        raw = np.clip(np.rint(np.nan_to_num(raw, nan=0.0)), low, high)
    with np.errstate(over="ignore"):  # float32 overflow is +-inf, as on the device
        typed = raw.astype(_BIG_ENDIAN[type])
    words = typed.view(">u2").reshape(raw.shape[0], REGISTER_WORDS[type])
    if word_order == "little":
        words = words[:, ::-1]
    return words.astype(np.uint16)


def decode(
    words: npt.ArrayLike,
    type: RegisterType,
    word_order: WordOrder = "big",
    scale: float | Float64Array = 1.0,
    offset: float | Float64Array = 0.0,
) -> Float64Array:
    """Register words, shape (n, words of the type) -> engineering values, shape (n,)."""
    w = np.asarray(words, dtype=np.uint16).reshape(-1, REGISTER_WORDS[type])
    if word_order == "little":
        w = w[:, ::-1]
    raw = np.ascontiguousarray(w, dtype=">u2").view(_BIG_ENDIAN[type]).reshape(-1)
    return raw.astype(np.float64) * scale + offset


def encode_one(value: float, binding: ModbusBinding) -> list[int]:
    """The register words of one engineering value for ``binding``, for a write: unlike
    ``encode``, a value whose raw form the register type cannot hold is refused, not saturated
    (a setpoint must arrive as asked or not at all)."""
    raw = (value - binding.offset) / binding.scale
    if not np.isfinite(raw):  # NaN or beyond float64 (a huge value over a tiny scale)
        raise SmartfabError(f"{value:g} is raw {raw:g}, not a number a register can hold")
    limits = _INT_RANGE.get(binding.type)
    if limits is not None and not limits[0] <= round(raw) <= limits[1]:
        raise SmartfabError(
            f"{value:g} is raw {raw:g} with scale {binding.scale:g} and offset "
            f"{binding.offset:g}, outside what a {binding.type} holds ({limits[0]}..{limits[1]})"
        )
    with np.errstate(over="ignore"):  # a float32 overflow is what this checks for
        too_big = not np.isfinite(np.float32(raw))
    if binding.type == "float32" and too_big:
        raise SmartfabError(f"{value:g} is raw {raw:g}, beyond what a float32 holds")
    words = encode([value], binding.type, binding.word_order, binding.scale, binding.offset)
    return [int(w) for w in words[0]]


@dataclass(frozen=True, slots=True)
class Codec:
    """Signals that share type and word order, encoded or decoded in one vectorised step.

    ``index`` says where each signal sits in the value array, ``words`` (shape (n, words)) which
    registers of the register array hold it.
    """

    type: RegisterType
    word_order: WordOrder
    index: IndexArray
    words: IndexArray
    scale: Float64Array
    offset: Float64Array

    def decode_into(self, registers: Words, out: Float64Array) -> None:
        out[self.index] = decode(
            registers[self.words], self.type, self.word_order, self.scale, self.offset
        )

    def encode_into(self, values: Float64Array, registers: Words) -> None:
        registers[self.words] = encode(
            values[self.index], self.type, self.word_order, self.scale, self.offset
        )


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One read request: ``count`` registers from ``start`` of ``table``, holding the signals
    ``slots`` (positions in the map's ``paths``)."""

    table: Table
    start: int
    count: int
    slots: IndexArray
    codecs: tuple[Codec, ...]  # index: position in slots; words: relative to start

    def decode(self, registers: Words) -> Float64Array:
        """Values of ``slots`` from the ``count`` registers read."""
        out = np.empty(self.slots.shape[0], np.float64)
        for codec in self.codecs:
            codec.decode_into(registers, out)
        return out

    def describe(self, paths: tuple[str, ...]) -> str:
        names = ", ".join(paths[i] for i in self.slots[:3])
        more = f" and {self.slots.shape[0] - 3} more" if self.slots.shape[0] > 3 else ""
        last = self.start + self.count - 1
        return f"{self.table} registers {self.start}-{last} ({names}{more})"


@dataclass(frozen=True, slots=True)
class _Binding:
    slot: int
    table: Table
    register: int
    type: RegisterType
    word_order: WordOrder
    scale: float
    offset: float

    @property
    def end(self) -> int:
        return self.register + REGISTER_WORDS[self.type]


@dataclass(frozen=True, slots=True)
class RegisterMap:
    """Where the signals of one Modbus connection live, and how to read them in few requests."""

    connection: ModbusConnection
    paths: tuple[str, ...]  # the signals bound to the connection, in plant order ("slots")
    blocks: tuple[ReadBlock, ...]
    image_codecs: Mapping[Table, tuple[Codec, ...]]  # words: absolute register addresses

    @classmethod
    def for_connection(
        cls, plant: Plant, connection: str, *, max_hole: int = DEFAULT_MAX_HOLE
    ) -> RegisterMap:
        conn = plant.connection(connection)
        if not isinstance(conn, ModbusConnection):
            raise SmartfabError(f"connection {connection!r} is {conn.protocol}, not modbus")
        paths: list[str] = []
        bindings: list[_Binding] = []
        for ref in plant.iter_signals():
            b = ref.signal.source.modbus
            if b is None or b.connection != connection:
                continue
            binding = _Binding(
                len(paths), b.table, b.register, b.type, b.word_order, b.scale, b.offset
            )
            size = conn.holding_registers if b.table == "holding" else conn.input_registers
            if binding.end > size:
                raise SmartfabError(
                    f"{ref.path}: {b.type} at {b.table} register {b.register} ends past the "
                    f"{size} {b.table} registers of connection {connection!r}"
                )
            if b.scale == 0:
                raise SmartfabError(f"{ref.path}: Modbus scale 0 cannot be encoded")
            paths.append(ref.path)
            bindings.append(binding)
        blocks = tuple(_plan_blocks(bindings, max_hole))
        image_codecs: dict[Table, tuple[Codec, ...]] = {
            table: _codecs([(b, b.slot, b.register) for b in bindings if b.table == table])
            for table in ("holding", "input")
        }
        return cls(conn, tuple(paths), blocks, image_codecs)

    def encode_into(self, images: Mapping[Table, Words], values: Float64Array) -> None:
        """Write the engineering ``values`` (one per path) into the register ``images`` of the
        device's tables."""
        for table, codecs in self.image_codecs.items():
            for codec in codecs:
                codec.encode_into(values, images[table])


def _plan_blocks(bindings: list[_Binding], max_hole: int) -> list[ReadBlock]:
    """Group bindings into contiguous reads of at most MAX_READ_REGISTERS registers, reading
    across holes of up to ``max_hole`` unused registers rather than issuing another request."""
    blocks: list[ReadBlock] = []
    for table in ("holding", "input"):
        members: list[_Binding] = []
        start = end = 0
        for b in sorted((b for b in bindings if b.table == table), key=lambda b: b.register):
            fits = b.register - end <= max_hole and b.end - start <= MAX_READ_REGISTERS
            if members and not fits:
                blocks.append(_block(table, start, end, members))
                members = []
            if not members:
                start = b.register
                end = b.end
            members.append(b)
            end = max(end, b.end)
        if members:
            blocks.append(_block(table, start, end, members))
    return blocks


def _block(table: Table, start: int, end: int, members: list[_Binding]) -> ReadBlock:
    codecs = _codecs([(b, i, b.register - start) for i, b in enumerate(members)])
    slots = np.array([b.slot for b in members], dtype=np.intp)
    return ReadBlock(table, start, end - start, slots, codecs)


def _codecs(entries: list[tuple[_Binding, int, int]]) -> tuple[Codec, ...]:
    """One codec per (type, word order) among ``entries`` of (binding, index, first word)."""
    keys = sorted({(b.type, b.word_order) for b, _, _ in entries})
    codecs = []
    for type_, order in keys:
        group = [(b, i, w) for b, i, w in entries if (b.type, b.word_order) == (type_, order)]
        first = np.array([w for _, _, w in group], dtype=np.intp)
        codecs.append(
            Codec(
                type=type_,
                word_order=order,
                index=np.array([i for _, i, _ in group], dtype=np.intp),
                words=first[:, None] + np.arange(REGISTER_WORDS[type_], dtype=np.intp),
                scale=np.array([b.scale for b, _, _ in group], dtype=np.float64),
                offset=np.array([b.offset for b, _, _ in group], dtype=np.float64),
            )
        )
    return tuple(codecs)
