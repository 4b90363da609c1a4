from __future__ import annotations

import numpy as np
import pytest

from smartfab.devices.modbus.registers import (
    MAX_READ_BITS,
    RegisterMap,
    Table,
    Words,
    decode,
    decode_text,
    encode,
    encode_one,
    encode_text,
    pack_bits,
)
from smartfab.errors import SmartfabError
from smartfab.model.plant import MAX_READ_REGISTERS, REGISTER_WORDS, ModbusBinding
from tests.devices.bound_plants import modbus_connection, modbus_signal, plant

SAMPLES = {
    "int16": [-32768, -1, 0, 1, 32767],
    "uint16": [0, 1, 40000, 65535],
    "int32": [-(2**31), -70000, -1, 0, 70000, 2**31 - 1],
    "uint32": [0, 1, 70000, 2**32 - 1],
    "int64": [-(2**63), -(2**40), -1, 0, 2**53, 2**62],
    "uint64": [0, 1, 2**53, 2**63, 2**64 - 2**11],  # float64 holds these exactly
    "float32": [-1.5, 0.0, 21.5, 3.0e38, 1.0e-30],
    "float64": [-1.0e300, -2.5, 0.0, np.pi, 1.0e-300],
}


@pytest.mark.parametrize("word_order", ["big", "little"])
@pytest.mark.parametrize("type_", sorted(SAMPLES))
def test_round_trip_every_type(type_: str, word_order: str) -> None:
    values = np.array(SAMPLES[type_], dtype=np.float64)
    words = encode(values, type_, word_order)  # type: ignore[arg-type]
    assert words.dtype == np.uint16
    assert words.shape == (len(values), REGISTER_WORDS[type_])
    back = decode(words, type_, word_order)  # type: ignore[arg-type]
    if type_ == "float32":
        np.testing.assert_array_equal(back, values.astype(np.float32).astype(np.float64))
    else:
        np.testing.assert_array_equal(back, values)


def test_known_words_and_word_order() -> None:
    assert encode([21.5], "float32", "big").tolist() == [[0x41AC, 0x0000]]
    assert encode([21.5], "float32", "little").tolist() == [[0x0000, 0x41AC]]
    assert encode([-2], "int32", "big").tolist() == [[0xFFFF, 0xFFFE]]
    assert encode([70000], "uint32", "little").tolist() == [[4464, 1]]
    assert encode([-1], "int16").tolist() == [[0xFFFF]]
    assert encode([1.0], "float64").tolist() == [[0x3FF0, 0, 0, 0]]
    assert decode([[0, 0, 0, 0x3FF0]], "float64", "little").tolist() == [1.0]


def test_scaling_and_offset_are_undone_and_rounded() -> None:
    words = encode([12.34, -3.26], "int16", scale=0.1)
    assert words.tolist() == [[123], [0xFFDF]]  # 123.4 -> 123, -32.6 -> -33
    np.testing.assert_allclose(decode(words, "int16", scale=0.1), [12.3, -3.3])
    words = encode([25.0], "uint16", scale=0.5, offset=-40.0)  # raw = (25 + 40) / 0.5
    assert words.tolist() == [[130]]
    assert decode(words, "uint16", scale=0.5, offset=-40.0).tolist() == [25.0]
    per_row = decode([[10], [10]], "uint16", scale=np.array([1.0, 0.1]), offset=np.array([0, 5.0]))
    np.testing.assert_allclose(per_row, [10.0, 6.0])


def test_integer_types_saturate_and_nan_becomes_zero() -> None:
    assert decode(encode([40000, -40000], "int16"), "int16").tolist() == [32767, -32768]
    assert decode(encode([-5, 70000], "uint16"), "uint16").tolist() == [0, 65535]
    assert decode(encode([1e12, -1], "uint32"), "uint32").tolist() == [2**32 - 1, 0]
    assert encode([np.nan], "int32").tolist() == [[0, 0]]
    assert np.isinf(decode(encode([1e39], "float32"), "float32")[0])
    assert np.isnan(decode(encode([np.nan], "float64"), "float64")[0])


def _map(signals: list[dict[str, object]], **conn: object) -> RegisterMap:
    return RegisterMap.for_connection(plant(signals, [modbus_connection(502, **conn)]), "plc")


def test_blocks_merge_small_holes_and_split_big_ones() -> None:
    m = _map([
        modbus_signal("a", 0),
        modbus_signal("b", 1, "float32"),
        modbus_signal("c", 10, "int16"),  # hole of 7 after b: merged
        modbus_signal("d", 40),  # hole of 29: new block
        modbus_signal("e", 5, table="input"),
    ], input_registers=10)  # fmt: skip
    blocks = [(b.table, b.start, b.count, b.slots.tolist()) for b in m.blocks]
    assert blocks == [
        ("holding", 0, 11, [0, 1, 2]),
        ("holding", 40, 1, [3]),
        ("input", 5, 1, [4]),
    ]
    assert m.paths == tuple(f"s/a/l/c/e/{n}" for n in "abcde")


def test_blocks_never_exceed_the_modbus_limit() -> None:
    m = _map([modbus_signal(f"v{i}", 4 * i, "float64") for i in range(100)])
    assert [b.count for b in m.blocks] == [124, 124, 124, 28]
    assert all(b.count <= MAX_READ_REGISTERS for b in m.blocks)
    assert sum(len(b.slots) for b in m.blocks) == 100


def test_image_and_blocks_round_trip_through_the_same_codecs() -> None:
    m = _map([
        modbus_signal("t", 0, "float32", word_order="little"),
        modbus_signal("p", 2, "int16", scale=0.1),
        modbus_signal("n", 7, "uint32", offset=-1000),
        modbus_signal("x", 3, "float64", table="input"),
    ], input_registers=8)  # fmt: skip
    images: dict[Table, Words] = {
        "holding": np.zeros(20, np.uint16),
        "input": np.zeros(8, np.uint16),
    }
    values = np.array([21.5, -3.2, 69000.0, -1e-3])
    m.encode_into({1: images}, values)
    assert images["holding"][:2].tolist() == [0x0000, 0x41AC]
    read = np.full(len(values), np.nan)
    for block in m.blocks:
        words = images[block.table][block.start : block.start + block.count]
        read[block.slots] = block.decode(words)
    np.testing.assert_allclose(read, values)


def test_a_binding_past_the_table_is_an_error_naming_the_signal() -> None:
    with pytest.raises(SmartfabError, match=r"s/a/l/c/e/big: float32 at holding register 9"):
        _map([modbus_signal("big", 9, "float32")], holding_registers=10)


def test_block_description_names_registers_and_signals() -> None:
    m = _map([modbus_signal(f"s{i}", i) for i in range(5)])
    assert m.blocks[0].describe(m.paths) == (
        "unit 1 holding registers 0-4 (s/a/l/c/e/s0, s/a/l/c/e/s1, s/a/l/c/e/s2 and 2 more)"
    )


def test_64_bit_integers_saturate_without_overflowing_the_cast() -> None:
    assert decode(encode([1e30, -1e30], "int64"), "int64").tolist() == [
        float(np.nextafter(2.0**63, 0)),
        -(2.0**63),
    ]
    assert decode(encode([2.0**64, -5], "uint64"), "uint64").tolist() == [
        float(np.nextafter(2.0**64, 0)),
        0.0,
    ]
    assert encode([-2], "int64", "little").tolist() == [[0xFFFE, 0xFFFF, 0xFFFF, 0xFFFF]]


def test_a_64_bit_setpoint_beyond_its_type_is_refused() -> None:
    b = ModbusBinding(connection="plc", register=0, type="uint64")
    assert encode_one(2.0**63, b) == [0x8000, 0, 0, 0]
    with pytest.raises(SmartfabError, match="outside what a uint64 holds"):
        encode_one(2.0**64, b)


def test_bits_pack_sixteen_to_a_word_least_significant_first() -> None:
    assert pack_bits([True, False, True]).tolist() == [0b101]
    assert pack_bits([False] * 16 + [True]).tolist() == [0, 1]
    assert pack_bits([]).tolist() == []


def test_bit_tables_and_register_bits_are_planned_like_registers() -> None:
    m = _map([
        *(modbus_signal(f"c{i}", 100 * i, None, table="coil") for i in range(22)),
        modbus_signal("b3", 5, "uint16", bit=3),
        modbus_signal("b20", 6, "int32", bit=20),
        modbus_signal("d", 1, None, table="discrete_input", unit=2),
    ], coils=2200, discrete_inputs=2)  # fmt: skip
    blocks = [(b.unit, b.table, b.start, b.count, b.slots.tolist()) for b in m.blocks]
    assert blocks == [
        (1, "coil", 0, 1901, list(range(20))),  # holes of 99 bits are read across ...
        (1, "coil", 2000, 101, [20, 21]),  # ... up to 2000 bits a request
        (1, "holding", 5, 3, [22, 23]),
        (2, "discrete_input", 1, 1, [24]),
    ]
    assert all(b.count <= MAX_READ_BITS for b in m.blocks)
    # Bit 20 of a big-word-order int32 is bit 4 of its first register.
    words = np.zeros(3, np.uint16)
    words[1] = 1 << 4
    assert m.blocks[2].decode(words).tolist() == [0.0, 1.0]


def test_strings_are_two_utf8_bytes_a_register_in_either_byte_order() -> None:
    assert encode_text(["ABC"], 2).tolist() == [[0x4142, 0x4300]]
    assert encode_text(["ABC"], 2, "little").tolist() == [[0x4241, 0x0043]]
    for order in ("big", "little"):
        words = encode_text(["HSG-4410", "", "Zürich ", "x"], 5, order)  # type: ignore[arg-type]
        assert words.shape == (4, 5) and words.dtype == np.uint16
        # Trailing NULs and spaces are padding, not text.
        assert decode_text(words, order).tolist() == ["HSG-4410", "", "Zürich", "x"]  # type: ignore[arg-type]


def test_a_string_too_long_is_cut_at_a_whole_character_and_bad_bytes_are_replaced() -> None:
    assert decode_text(encode_text(["ABCDEF"], 2)).tolist() == ["ABCD"]
    assert decode_text(encode_text(["ABCü"], 2)).tolist() == ["ABC"]  # ü needs 2 bytes, 1 left
    assert decode_text([[0x41FF, 0x4200]]).tolist() == ["A\ufffdB"]
    assert decode_text([[0x4100, 0x4200]]).tolist() == ["A\x00B"]  # only trailing NULs are padding


def test_strings_and_arrays_round_trip_through_image_and_blocks() -> None:
    m = _map([
        modbus_signal("n", 0, "int16"),
        {**modbus_signal("code", 1, None), "type": "string", "length": 5},  # registers 1-3
        {**modbus_signal("lot", 4, None, byte_order="little"), "type": "string", "length": 8},
        {**modbus_signal("force", 8, "int16", scale=0.5), "type": "array", "length": 3},
        {**modbus_signal("spectrum", 20, "float32", word_order="little"), "type": "array",
         "length": 4},
        {**modbus_signal("inputs", 0, "uint16", table="input"), "type": "array", "length": 2},
    ], input_registers=4)  # fmt: skip
    assert m.kinds == ("number", "text", "text", "array", "array", "array")
    images: dict[Table, Words] = {
        "holding": np.zeros(40, np.uint16),
        "input": np.zeros(4, np.uint16),
    }
    values = np.array([7.0, np.nan, np.nan, np.nan, np.nan, np.nan])
    texts = np.array(["", "HSG44", "AL-00017", "", "", ""], object)
    arrays = np.empty(6, object)
    arrays[:] = [np.empty(0), np.empty(0), np.empty(0), np.array([1.5, -2.0, 100.0]),
                 np.array([0.25, 1.0, 2.5, 1e-3]), np.array([1.0, 65535.0])]  # fmt: skip
    m.encode_into({1: images}, values, texts, arrays)
    assert images["holding"][1:4].tolist() == [0x4853, 0x4734, 0x3400]  # "HSG44" big-endian
    assert images["holding"][4].tolist() == 0x4C41  # "AL", low byte first
    assert images["holding"][8:11].tolist() == [3, 0xFFFC, 200]  # raw = value / 0.5
    got_texts: dict[int, str] = {}
    got_arrays: dict[int, list[float]] = {}
    for block in m.blocks:
        words = images[block.table][block.start : block.start + block.count]
        for tc in block.texts:
            got_texts |= dict(zip(tc.index.tolist(), tc.decode(words).tolist(), strict=True))
        for ac in block.arrays:
            got_arrays |= dict(zip(ac.index.tolist(), ac.decode(words).tolist(), strict=True))
        if block.slots.shape[0]:
            assert block.decode(words).tolist() == [7.0]
    assert got_texts == {1: "HSG44", 2: "AL-00017"}
    assert got_arrays[3] == [1.5, -2.0, 100.0] and got_arrays[5] == [1.0, 65535.0]
    np.testing.assert_allclose(got_arrays[4], [0.25, 1.0, 2.5, 1e-3], rtol=1e-6)


def test_a_string_or_array_is_read_whole_in_one_block() -> None:
    m = _map([
        *(modbus_signal(f"v{i}", i) for i in range(100)),
        {**modbus_signal("profile", 100, "float32"), "type": "array", "length": 30},  # 100-159
    ], holding_registers=200)  # fmt: skip
    # The array does not fit the first block's remaining 25 registers: it opens the next.
    assert [(b.start, b.count) for b in m.blocks] == [(0, 100), (100, 60)]
    (codec,) = m.blocks[1].arrays
    assert codec.words[0, 0] == 0 and codec.words[0, -1] == 59
