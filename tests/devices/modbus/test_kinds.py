"""Strings, enumerations and arrays in Modbus registers: the virtual device holds them, the
connector delivers them as TextBatch and ArrayBatch columns beside the numbers, and an outage
marks every kind stale."""

from __future__ import annotations

import numpy as np
import pytest

from smartfab.errors import SmartfabError
from smartfab.model.plant import Plant
from smartfab.platform.points import Quality, now_us
from smartfab.virtual.modbus.server import VirtualModbusServer
from tests.devices.bound_plants import modbus_signal
from tests.devices.modbus.plants import connector_for, device_plant
from tests.devices.sinks import running

SIGNALS = [
    modbus_signal("count", 0, "uint16"),
    {**modbus_signal("mode", 1, "uint16"), "type": "enum", "values": {0: "off", 3: "setup"}},
    {**modbus_signal("product", 2, None), "type": "string", "length": 8},  # registers 2-5
    {**modbus_signal("lot", 6, None, byte_order="little"), "type": "string", "length": 12},
    {**modbus_signal("force", 12, "int16", scale=0.5), "type": "array", "length": 4},
    {**modbus_signal("spectrum", 0, "float32", table="input"), "type": "array", "length": 3},
]


def kinds_plant(port: int = 502) -> Plant:
    return device_plant(port, SIGNALS, holding_registers=20, input_registers=6)


async def test_strings_enums_and_arrays_are_read_from_registers() -> None:
    device = VirtualModbusServer(kinds_plant())
    device.set_values([0, 1], [12, 3])
    device.set_texts([2, 3], ["HSG-4410", "DC04-417233"])
    device.set_arrays([4, 5], [[1.5, -2.0, 0.0, 100.0], [0.25, 0.5, 4.0]])
    await device.start()
    try:
        connector = connector_for(kinds_plant(device.port))
        assert connector.signal_ids.number.tolist() == [100, 101]
        assert connector.signal_ids.text.tolist() == [102, 103]
        assert connector.signal_ids.array.tolist() == [104, 105]
        async with running(connector) as got:
            await got.wait_for(lambda: len(got.arrays) >= 2 and len(got.texts) >= 2)
            device.set_texts([2], ["FLG-2205"])
            await got.wait_for(lambda: "FLG-2205" in got.texts.text)
    finally:
        await device.stop()
    first = got.texts.take(got.texts.ts == got.texts.ts[0])
    assert dict(zip(first.signal_id.tolist(), first.text.tolist(), strict=True)) == {
        102: "HSG-4410", 103: "DC04-417233",
    }  # fmt: skip
    arrays = got.arrays.take(got.arrays.ts == got.arrays.ts[0])
    rows = {int(arrays.signal_id[i]): arrays.row(i).tolist() for i in range(len(arrays))}
    assert rows == {104: [1.5, -2.0, 0.0, 100.0], 105: [0.25, 0.5, 4.0]}
    numbers = got.points.take(got.points.ts == got.points.ts[0])
    assert dict(zip(numbers.signal_id.tolist(), numbers.value.tolist(), strict=True)) == {
        100: 12.0, 101: 3.0,
    }  # fmt: skip
    assert (got.texts.quality == Quality.GOOD).all() and connector.status.errors == 0
    # One poll, one timestamp, whatever the kind.
    assert got.texts.ts[0] == got.arrays.ts[0] == got.points.ts[0]


async def test_an_outage_marks_every_kind_stale() -> None:
    device = VirtualModbusServer(kinds_plant())
    device.set_texts([2], ["HSG-4410"])
    await device.start()
    try:
        connector = connector_for(kinds_plant(device.port))
        async with running(connector) as got:
            await got.wait_for(lambda: len(got.texts) >= 2)
            await device.stop()
            await got.wait_for(lambda: connector.status.state == "reconnecting")
            back = now_us()
            device.set_texts([2], ["BACK"])
            await device.start()
            await got.wait_for(lambda: "BACK" in got.texts.text)
        got.assert_one_outage(connector.signal_ids, back_us=back)
        at = got.gaps.ts[0]
        assert sorted(got.texts.take(got.texts.ts == at).signal_id.tolist()) == [102, 103]
        assert got.arrays.take(got.arrays.ts == at).lengths.tolist() == [0, 0]
    finally:
        await device.stop()


def test_the_device_refuses_an_array_of_another_length() -> None:
    device = VirtualModbusServer(kinds_plant())
    with pytest.raises(SmartfabError, match="s/a/l/c/e/force: 2 elements, its registers hold 4"):
        device.set_arrays([4], [[1.0, 2.0]])
    assert np.all(device.images[1]["holding"][12:16] == 0)
