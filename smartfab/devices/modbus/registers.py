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

A string is UTF-8 bytes, two a register (``byte_order`` says which byte comes first), padded with
NULs; trailing NULs and spaces are not part of it. An array is ``length`` consecutive values of the
binding's type, each encoded as a number is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from smartfab.errors import SmartfabError
from smartfab.model.plant import (
    BIT_TABLES,
    MAX_READ_REGISTERS,
    REGISTER_WORDS,
    TABLE_TITLES,
    ModbusBinding,
    ModbusConnection,
    ModbusTable,
    Plant,
    RegisterType,
    ValueKind,
)

Table = ModbusTable
TABLES: tuple[Table, ...] = ("coil", "discrete_input", "holding", "input")
WordOrder = Literal["big", "little"]
ByteOrder = Literal["big", "little"]
Words = npt.NDArray[np.uint16]
Float64Array = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]
ObjectArray = npt.NDArray[np.object_]

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


def encode_text(texts: Sequence[str], registers: int, byte_order: ByteOrder = "big") -> Words:
    """Texts -> register words, shape (n, registers): UTF-8, two bytes a register, NUL-padded; a
    text longer than the registers hold is cut at the last whole character that fits."""
    size = 2 * registers
    raw = []
    for text in texts:
        data = text.encode("utf-8")
        if len(data) > size:
            data = data[:size].decode("utf-8", "ignore").encode("utf-8")
        raw.append(data)
    packed = np.array(raw, dtype=f"S{size}").tobytes()  # NUL-padded to size
    words = np.frombuffer(packed, dtype=">u2" if byte_order == "big" else "<u2")
    return words.reshape(len(raw), registers).astype(np.uint16)


def decode_text(words: npt.ArrayLike, byte_order: ByteOrder = "big") -> ObjectArray:
    """Register words, shape (n, registers) -> texts, shape (n,), without trailing NULs and
    spaces; bytes that are not UTF-8 become U+FFFD."""
    w = np.asarray(words, dtype=np.uint16)
    w = w.reshape(-1, w.shape[-1]) if w.ndim else w.reshape(1, 1)
    raw = w.astype(">u2" if byte_order == "big" else "<u2").tobytes()
    # A bytes dtype drops trailing NULs by itself.
    chunks = np.frombuffer(raw, dtype=f"S{2 * w.shape[1]}").tolist()
    out = np.empty(len(chunks), object)
    out[:] = [c.decode("utf-8", "replace").rstrip(" ") for c in chunks]
    return out


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


@dataclass(frozen=True, slots=True)
class TextCodec:
    """String signals of ``words.shape[1]`` registers each and one byte order; ``index``: the
    signals' slots in the connection's ``paths``."""

    byte_order: ByteOrder
    index: IndexArray
    words: IndexArray

    def decode(self, registers: Words) -> ObjectArray:
        return decode_text(registers[self.words], self.byte_order)

    def encode_into(self, texts: ObjectArray, registers: Words) -> None:
        """``texts``: one per slot of the connection."""
        registers[self.words] = encode_text(
            texts[self.index].tolist(), self.words.shape[1], self.byte_order
        )


@dataclass(frozen=True, slots=True)
class ArrayCodec:
    """Array signals of ``length`` elements of one type and word order; ``index``: the signals'
    slots in the connection's ``paths``, ``words`` (shape (n, length * words of the type)) their
    registers, element after element."""

    type: RegisterType
    word_order: WordOrder
    length: int
    index: IndexArray
    words: IndexArray
    scale: Float64Array  # per signal
    offset: Float64Array

    def decode(self, registers: Words) -> Float64Array:
        """The arrays, one row each, shape (n, length)."""
        per_element = np.repeat(self.scale, self.length), np.repeat(self.offset, self.length)
        flat = decode(registers[self.words], self.type, self.word_order, *per_element)
        return flat.reshape(-1, self.length)

    def encode_into(self, arrays: ObjectArray, registers: Words) -> None:
        """``arrays``: one per slot of the connection, each ``length`` values."""
        rows = np.stack([np.asarray(arrays[i], np.float64) for i in self.index])
        per_element = np.repeat(self.scale, self.length), np.repeat(self.offset, self.length)
        words = encode(rows.reshape(-1), self.type, self.word_order, *per_element)
        registers[self.words] = words.reshape(self.words.shape)


AnyCodec = Codec | BitCodec
ImageCodec = Codec | BitCodec | TextCodec | ArrayCodec


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One read request: ``count`` registers or bits from ``start`` of ``table`` of ``unit``,
    holding the number signals ``slots`` (positions in the map's ``paths``) and the strings and
    arrays of ``texts`` and ``arrays``."""

    unit: int
    table: Table
    start: int
    count: int
    slots: IndexArray
    codecs: tuple[AnyCodec, ...]  # index: position in slots; words: relative to start
    # index: slots in the map's paths; words: relative to start
    texts: tuple[TextCodec, ...] = ()
    arrays: tuple[ArrayCodec, ...] = ()

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
        valued = [c.index for c in self.texts] + [c.index for c in self.arrays]
        members = np.sort(np.concatenate([self.slots, *valued]))
        names = ", ".join(paths[i] for i in members[:3])
        more = f" and {members.shape[0] - 3} more" if members.shape[0] > 3 else ""
        last = self.start + self.count - 1
        return f"unit {self.unit} {TABLE_TITLES[self.table]} {self.start}-{last} ({names}{more})"


@dataclass(frozen=True, slots=True)
class _Binding:
    slot: int
    unit: int
    b: ModbusBinding
    kind: ValueKind = "number"
    length: int | None = None  # a string's characters, an array's elements

    @property
    def table(self) -> Table:
        return self.b.table

    @property
    def start(self) -> int:
        return self.b.register

    @property
    def end(self) -> int:
        return self.b.register + self.b.span(self.kind, self.length)


@dataclass(frozen=True, slots=True)
class RegisterMap:
    """Where the signals of one Modbus connection live, and how to read them in few requests."""

    connection: ModbusConnection
    paths: tuple[str, ...]  # the signals bound to the connection, in plant order ("slots")
    blocks: tuple[ReadBlock, ...]
    # (unit, table) -> codecs over the device's image of that table: registers, or packed bits
    # (see pack_bits); index: slots; words: absolute addresses.
    image_codecs: Mapping[tuple[int, Table], tuple[ImageCodec, ...]]
    kinds: tuple[ValueKind, ...] = ()  # of each path
    spans: tuple[tuple[int, Table, int, int], ...] = ()  # each path's unit, table, start, count

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
            signal = ref.signal
            unit = conn.unit if b.unit is None else b.unit
            bound = _Binding(len(paths), unit, b, signal.kind, signal.length)
            if bound.end > size:
                layout = b.type if signal.kind == "number" else f"{signal.type} of {signal.length}"
                what = b.table if b.table in BIT_TABLES else f"{layout} at {b.table} register"
                raise SmartfabError(
                    f"{ref.path}: {what} {b.register} is past the end of the {size} "
                    f"{b.table} addresses of connection {connection!r}"
                )
            paths.append(ref.path)
            bindings.append(bound)
        blocks = tuple(_plan_blocks(bindings, max_hole))
        groups = sorted({(b.unit, b.table) for b in bindings})
        image_codecs = {}
        for unit, table in groups:
            members = [b for b in bindings if (b.unit, b.table) == (unit, table)]
            numbers = _codecs([(b, b.slot, 0) for b in members if b.kind == "number"])
            image_codecs[unit, table] = (*numbers, *_value_codecs(members, 0))
        spans = tuple((b.unit, b.table, b.start, b.end - b.start) for b in bindings)
        return cls(conn, tuple(paths), blocks, image_codecs, tuple(b.kind for b in bindings), spans)

    @property
    def units(self) -> list[int]:
        """The unit ids the connection's signals live in."""
        return sorted({unit for unit, _ in self.image_codecs})

    def encode_into(
        self,
        images: Mapping[int, Mapping[Table, Words]],
        values: Float64Array,
        texts: ObjectArray | None = None,
        arrays: ObjectArray | None = None,
    ) -> None:
        """Write the engineering ``values``, ``texts`` (str) and ``arrays`` (float arrays of their
        signal's length), each one per path and read at the paths of its kind, into the
        ``images`` (unit -> table -> registers or packed bits) of the device's tables."""
        for (unit, table), codecs in self.image_codecs.items():
            image = images[unit][table]
            for codec in codecs:
                if isinstance(codec, TextCodec):
                    if texts is not None:
                        codec.encode_into(texts, image)
                elif isinstance(codec, ArrayCodec):
                    if arrays is not None:
                        codec.encode_into(arrays, image)
                else:
                    codec.encode_into(values, image)


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
    numbers = [b for b in members if b.kind == "number"]
    codecs = _codecs([(b, i, start) for i, b in enumerate(numbers)])
    slots = np.array([b.slot for b in numbers], dtype=np.intp)
    values = _value_codecs(members, start)
    texts = tuple(c for c in values if isinstance(c, TextCodec))
    arrays = tuple(c for c in values if isinstance(c, ArrayCodec))
    return ReadBlock(unit, table, start, end - start, slots, codecs, texts, arrays)


def _value_codecs(members: list[_Binding], base: int) -> list[TextCodec | ArrayCodec]:
    """The codecs of the strings (one per register count and byte order) and arrays (one per
    type, word order and length) among ``members``, indexed by slot, words counted from
    ``base``."""
    codecs: list[TextCodec | ArrayCodec] = []
    texts = [b for b in members if b.kind == "text"]
    for registers, order in sorted({(b.end - b.start, b.b.byte_order) for b in texts}):
        group = [b for b in texts if (b.end - b.start, b.b.byte_order) == (registers, order)]
        codecs.append(TextCodec(order, _slots(group), _spans(group, base, registers)))
    arrays = [b for b in members if b.kind == "array"]
    for type_, order, length in sorted({(b.b.type, b.b.word_order, b.length) for b in arrays}):
        group = [
            b for b in arrays if (b.b.type, b.b.word_order, b.length) == (type_, order, length)
        ]
        assert length is not None  # an array signal has one (validated)
        codecs.append(ArrayCodec(
            type_, order, length, _slots(group),
            _spans(group, base, length * REGISTER_WORDS[type_]),
            np.array([b.b.scale for b in group], dtype=np.float64),
            np.array([b.b.offset for b in group], dtype=np.float64),
        ))  # fmt: skip
    return codecs


def _slots(group: list[_Binding]) -> IndexArray:
    return np.array([b.slot for b in group], dtype=np.intp)


def _spans(group: list[_Binding], base: int, width: int) -> IndexArray:
    """The registers of each of ``group``, ``width`` from its first, counted from ``base``."""
    first = np.array([b.start - base for b in group], dtype=np.intp)
    return first[:, None] + np.arange(width, dtype=np.intp)


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
