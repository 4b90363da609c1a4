"""Hostile register contents: whatever 16-bit words a device answers, decoding yields one float
per value and never raises; encoding any float (NaN, infinities, huge) yields 16-bit words
(saturated for integers, as a PLC does), and a setpoint that the register cannot hold is refused
with ``SmartfabError`` rather than written wrong."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from smartfab.devices.modbus.registers import decode, encode, encode_one
from smartfab.errors import SmartfabError
from smartfab.model.plant import REGISTER_WORDS, ModbusBinding

TYPES = sorted(REGISTER_WORDS)
ORDERS = ["big", "little"]
scales = st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != 0)
offsets = st.floats(allow_nan=False, allow_infinity=False)
words = st.integers(0, 0xFFFF)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(TYPES), st.sampled_from(ORDERS), st.data(), scales, offsets)
def test_any_words_decode_to_one_float_per_value(
    type_: str, order: str, data: st.DataObject, scale: float, offset: float
) -> None:
    n = data.draw(st.integers(0, 5))
    raw = data.draw(
        st.lists(words, min_size=n * REGISTER_WORDS[type_], max_size=n * REGISTER_WORDS[type_])
    )  # type: ignore[index]
    with np.errstate(over="ignore", invalid="ignore"):  # huge scales overflow to inf, as they must
        out = decode(raw, type_, order, scale, offset)  # type: ignore[arg-type]
    assert out.dtype == np.float64 and out.shape == (n,)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(TYPES), st.sampled_from(ORDERS), st.lists(st.floats(), max_size=5))
def test_any_float_encodes_to_words_and_integers_round_trip(
    type_: str, order: str, values: list[float]
) -> None:
    out = encode(values, type_, order)  # type: ignore[arg-type]
    assert out.dtype == np.uint16 and out.shape == (len(values), REGISTER_WORDS[type_])  # type: ignore[index]
    back = decode(out, type_, order)  # type: ignore[arg-type]
    if type_ in ("int16", "uint16", "int32", "uint32"):
        info = np.iinfo(type_)
        want = np.clip(np.rint(np.nan_to_num(values, nan=0.0)), info.min, info.max)
        assert np.array_equal(back, want)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(TYPES), st.sampled_from(ORDERS), st.floats(), scales, offsets,
)  # fmt: skip
def test_a_setpoint_is_encoded_exactly_or_refused(
    type_: str, order: str, value: float, scale: float, offset: float
) -> None:
    binding = ModbusBinding(
        connection="plc", register=100, type=type_, word_order=order, scale=scale, offset=offset
    )
    try:
        out = encode_one(value, binding)
    except SmartfabError as exc:
        assert str(exc)
        return
    assert len(out) == REGISTER_WORDS[type_] and all(0 <= w <= 0xFFFF for w in out)  # type: ignore[index]
