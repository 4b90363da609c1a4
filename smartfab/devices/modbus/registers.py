"""Modbus register encoding and the address layout of one connection.

This is the one place that knows how an engineering value becomes 16-bit register words or bits
and back; the virtual device (server) and the connector (client) both use it, so they cannot
disagree.

Words are big-endian within a register (the Modbus rule); ``word_order`` says which register of a
multi-register value holds the most significant word ("big": the first one, "little": the last).
Engineering value = raw * scale + offset, so encoding divides it back out.

Bits (coils, discrete inputs, and ``bit:`` fields of registers) are handled as 16-bit words too:
coil or discrete input ``a`` is bit ``a % 16`` of word ``a // 16`` (``pack_bits`` makes such words
of the bits a device answered), so one kind of codec reads and writes every bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from smartfab.errors import SmartfabError
from smartfab.model.plant import (
    BIT_TABLES,
    REGISTER_WORDS,
    TABLE_TITLES,
    ModbusBinding,
    ModbusConnection,
    ModbusTable,
    Plant,
    RegisterType,
)

Table = ModbusTable
TABLES: tuple[Table, ...] = ("coil", "discrete_input", "holding", "input")
WordOrder = Literal["big", "little"]
Words = npt.NDArray[np.uint16]
Float64Array = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]

MAX_READ_REGISTERS = 125  # most registers one "read holding/input registers" request may ask for
MAX_READ_BITS = 2000  # most bits one "read coils/discrete inputs" request may ask for
DEFAULT_MAX_HOLE = 8  # unused registers worth reading to save a request (16 times as many bits)

# Register types as big-endian NumPy dtypes, and the raw range of the integer ones.
_BIG_ENDIAN: dict[str, str] = {
    "int16": ">i2", "uint16": ">u2", "int32": ">i4", "uint32": ">u4",
    "int64": ">i8", "uint64": ">u8", "float32": ">f4", "float64": ">f8",
}  # fmt: skip
_INTEGERS = ("int16", "uint16", "int32", "uint32", "int64", "uint64")
_INT_RANGE: dict[str, tuple[int, int]] = {
    t: (int(np.iinfo(t).min), int(np.iinfo(t).max)) for t in _INTEGERS
}
# The same as floats to clip to before the cast: the largest 64-bit integers have no float64, and
# the nearest one above would overflow the cast.
_CLIP_RANGE: dict[str, tuple[float, float]] = {
    t: (float(low), float(np.nextafter(float(high), 0.0)) if high >= 2**53 else float(high))
    for t, (low, high) in _INT_RANGE.items()
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
    if type in _CLIP_RANGE:
        low, high = _CLIP_RANGE[type]
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


def pack_bits(bits: npt.ArrayLike) -> Words:
    """Bits as 16-bit words: bit ``k`` is bit ``k % 16`` of word ``k // 16``."""
    packed = np.packbits(np.asarray(bits, dtype=np.bool_), bitorder="little")
    if packed.shape[0] % 2:
        packed = np.append(packed, np.uint8(0))
    return packed.view("<u2").astype(np.uint16)


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
class BitCodec:
    """Signals that are one bit each: bit ``shift`` of word ``word`` (a register, or 16 packed
    coils or discrete inputs). Any non-zero value encodes as 1."""

    index: IndexArray
    word: IndexArray
    shift: IndexArray

    def decode_into(self, registers: Words, out: Float64Array) -> None:
        out[self.index] = (registers[self.word] >> self.shift.astype(np.uint16)) & 1

    def encode_into(self, values: Float64Array, registers: Words) -> None:
        masks = np.left_shift(1, self.shift).astype(np.uint16)
        on = np.nan_to_num(values[self.index]) != 0
        # ``.at``: several bits may share a word, and each must keep the others' changes.
        np.bitwise_and.at(registers, self.word, ~masks)
        np.bitwise_or.at(registers, self.word[on], masks[on])


AnyCodec = Codec | BitCodec


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One read request: ``count`` registers or bits from ``start`` of ``table`` of ``unit``,
    holding the signals ``slots`` (positions in the map's ``paths``)."""

    unit: int
    table: Table
    start: int
    count: int
    slots: IndexArray
    codecs: tuple[AnyCodec, ...]  # index: position in slots; words: relative to start

    @property
    def bits(self) -> bool:
        """Whether this reads coils or discrete inputs (answered as bits, see ``pack_bits``)."""
        return self.table in BIT_TABLES

    def decode(self, registers: Words) -> Float64Array:
        """Values of ``slots`` from the ``count`` registers read (or the bits read, packed)."""
        out = np.empty(self.slots.shape[0], np.float64)
        for codec in self.codecs:
            codec.decode_into(registers, out)
        return out

    def describe(self, paths: tuple[str, ...]) -> str:
        names = ", ".join(paths[i] for i in self.slots[:3])
        more = f" and {self.slots.shape[0] - 3} more" if self.slots.shape[0] > 3 else ""
        last = self.start + self.count - 1
        return f"unit {self.unit} {TABLE_TITLES[self.table]} {self.start}-{last} ({names}{more})"


@dataclass(frozen=True, slots=True)
class _Binding:
    slot: int
    unit: int
    b: ModbusBinding

    @property
    def table(self) -> Table:
        return self.b.table

    @property
    def start(self) -> int:
        return self.b.register

    @property
    def end(self) -> int:
        return self.b.register + self.b.words


@dataclass(frozen=True, slots=True)
class RegisterMap:
    """Where the signals of one Modbus connection live, and how to read them in few requests."""

    connection: ModbusConnection
    paths: tuple[str, ...]  # the signals bound to the connection, in plant order ("slots")
    blocks: tuple[ReadBlock, ...]
    # (unit, table) -> codecs over the device's image of that table: registers, or packed bits
    # (see pack_bits); words: absolute addresses.
    image_codecs: Mapping[tuple[int, Table], tuple[AnyCodec, ...]]

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
            size = conn.table_size(b.table)
            if b.register + b.words > size:
                what = b.table if b.table in BIT_TABLES else f"{b.type} at {b.table} register"
                raise SmartfabError(
                    f"{ref.path}: {what} {b.register} is past the end of the {size} "
                    f"{b.table} addresses of connection {connection!r}"
                )
            paths.append(ref.path)
            bindings.append(_Binding(len(paths) - 1, conn.unit if b.unit is None else b.unit, b))
        blocks = tuple(_plan_blocks(bindings, max_hole))
        groups = sorted({(b.unit, b.table) for b in bindings})
        image_codecs = {
            (unit, table): _codecs(
                [(b, b.slot, 0) for b in bindings if (b.unit, b.table) == (unit, table)]
            )
            for unit, table in groups
        }
        return cls(conn, tuple(paths), blocks, image_codecs)

    @property
    def units(self) -> list[int]:
        """The unit ids the connection's signals live in."""
        return sorted({unit for unit, _ in self.image_codecs})

    def encode_into(
        self, images: Mapping[int, Mapping[Table, Words]], values: Float64Array
    ) -> None:
        """Write the engineering ``values`` (one per path) into the ``images`` (unit -> table ->
        registers or packed bits) of the device's tables."""
        for (unit, table), codecs in self.image_codecs.items():
            for codec in codecs:
                codec.encode_into(values, images[unit][table])


def _plan_blocks(bindings: list[_Binding], max_hole: int) -> list[ReadBlock]:
    """Group the bindings of each unit and table into contiguous reads of at most what one
    request may ask for, reading across holes of up to ``max_hole`` unused registers (16 times
    as many bits) rather than issuing another request."""
    blocks: list[ReadBlock] = []
    for unit, table in sorted({(b.unit, b.table) for b in bindings}):
        bits = table in BIT_TABLES
        limit = MAX_READ_BITS if bits else MAX_READ_REGISTERS
        hole = max_hole * 16 if bits else max_hole
        members: list[_Binding] = []
        start = end = 0
        chosen = (b for b in bindings if (b.unit, b.table) == (unit, table))
        for b in sorted(chosen, key=lambda b: b.start):
            fits = b.start - end <= hole and b.end - start <= limit
            if members and not fits:
                blocks.append(_block(unit, table, start, end, members))
                members = []
            if not members:
                start = b.start
                end = b.end
            members.append(b)
            end = max(end, b.end)
        if members:
            blocks.append(_block(unit, table, start, end, members))
    return blocks


def _block(unit: int, table: Table, start: int, end: int, members: list[_Binding]) -> ReadBlock:
    codecs = _codecs([(b, i, start) for i, b in enumerate(members)])
    slots = np.array([b.slot for b in members], dtype=np.intp)
    return ReadBlock(unit, table, start, end - start, slots, codecs)


def _codecs(entries: list[tuple[_Binding, int, int]]) -> tuple[AnyCodec, ...]:
    """The codecs of ``entries`` of (binding, index, address the words count from): one per
    (type, word order) of whole values, and one for every bit."""
    codecs: list[AnyCodec] = []
    bits = [(b.b, i, base) for b, i, base in entries if b.b.is_bit]
    if bits:
        # A coil's address counts bits, a register bit field's counts registers.
        where = [
            divmod(b.register - base, 16) if b.table in BIT_TABLES else _register_bit(b, base)
            for b, _, base in bits
        ]
        codecs.append(BitCodec(
            index=np.array([i for _, i, _ in bits], dtype=np.intp),
            word=np.array([w for w, _ in where], dtype=np.intp),
            shift=np.array([s for _, s in where], dtype=np.intp),
        ))  # fmt: skip
    values = [(b.b, i, base) for b, i, base in entries if not b.b.is_bit]
    for type_, order in sorted({(b.type, b.word_order) for b, _, _ in values}):
        group = [(b, i, base) for b, i, base in values if (b.type, b.word_order) == (type_, order)]
        first = np.array([b.register - base for b, _, base in group], dtype=np.intp)
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


def _register_bit(b: ModbusBinding, base: int) -> tuple[int, int]:
    register, shift = b.bit_location
    return register - base, shift
