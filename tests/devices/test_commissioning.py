"""Asking devices what they offer, before a binding is saved: Modbus registers decoded as the
plant file would read them (the virtual device), the MQTT topics and Sparkplug metrics heard on
the shared Mosquitto, and a preview of picked bindings."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiomqtt
import numpy as np
import orjson
import pytest

from smartfab.devices.commissioning import CommissioningError, mqtt_topics, preview, read_modbus
from smartfab.devices.mqtt.sparkplug_b_pb2 import Payload
from smartfab.model.plant import ModbusConnection, MqttConnection
from smartfab.virtual.modbus.server import VirtualModbusServer
from tests.devices.modbus.plants import device_plant
from tests.devices.mqtt.broker import shared_broker_port

VALUES = [21.5, -3.2, 70000.0, 0.125]  # temp float32 @0, pressure int16 x0.1 @2, count @3


@pytest.fixture
async def device() -> AsyncIterator[ModbusConnection]:
    server = VirtualModbusServer(device_plant())
    server.set_values(np.arange(4), VALUES)
    await server.start()
    conn = device_plant(server.port).connection("plc")
    assert isinstance(conn, ModbusConnection)
    yield conn
    await server.stop()


async def test_modbus_registers_decode_as_the_type_and_word_order_read_them(
    device: ModbusConnection,
) -> None:
    regs = await read_modbus(device, "holding", 0, 5, type="float32")
    assert [r.address for r in regs] == [0, 1, 2, 3, 4]
    assert regs[0].value == 21.5  # registers 0-1, big word order
    assert regs[-1].value is None  # a float32 from register 4 would need register 5
    assert [r.raw for r in regs[2:3]] == [65504]  # -32 as int16: -3.2 / 0.1
    swapped = await read_modbus(device, "holding", 3, 2, type="uint32", word_order="little")
    assert swapped[0].value == 70000
    values = await preview(device, [
        {"register": 0, "type": "float32"}, {"register": 2, "type": "int16", "scale": 0.1},
        {"register": 9, "type": "uint32"},
    ])  # fmt: skip
    assert values[:2] == [21.5, pytest.approx(-3.2)]
    assert "exception response 2" in str(values[2])  # registers 9-10 of a device with 10
    with pytest.raises(CommissioningError, match="exception response"):
        await read_modbus(device, "holding", 8, 4)  # the device has 10 holding registers


async def test_mqtt_topics_list_json_fields_and_sparkplug_metrics() -> None:
    port = shared_broker_port()
    root = f"commissioning-{uuid.uuid4().hex[:8]}"
    uns = f"{root}/works/hall/line-1/cell-1/press-1"
    birth = Payload()
    for alias, (name, value) in enumerate([("force", 812.5), ("mode", 2.0)]):
        m = birth.metrics.add()
        m.name, m.alias, m.datatype, m.double_value = name, alias, 10, value
    data = Payload()
    m = data.metrics.add()
    m.alias, m.datatype, m.double_value = 0, 10, 815.0  # DATA names it by alias only
    conn = MqttConnection(name="broker", protocol="mqtt", host="127.0.0.1", port=port)
    messages = [
        (uns, orjson.dumps({"ts": 1, "values": {"temp": 21.5, "state": "run"}})),
        (f"spBv1.0/{root}/DBIRTH/hall.line-1/cell-1.press-1", birth.SerializeToString()),
        (f"spBv1.0/{root}/DDATA/hall.line-1/cell-1.press-1", data.SerializeToString()),
    ]
    async with aiomqtt.Client("127.0.0.1", port) as client:
        for topic, payload in messages:  # retained: the probe hears them as it subscribes
            await client.publish(topic, payload, qos=1, retain=True)
    try:
        seen = {t.topic: t for t in await mqtt_topics(conn, f"{root}/#", 1.0)}
        assert seen[uns].kind == "json"
        assert seen[uns].fields == {"ts": 1, "values.temp": 21.5, "values.state": "run"}
        sparkplug = await mqtt_topics(conn, f"spBv1.0/{root}/#", 1.0)
        (device,) = sparkplug
        assert device.topic == f"spBv1.0/{root}/hall.line-1/cell-1.press-1"
        assert device.kind == "sparkplug" and device.messages == 2
        assert device.fields == {"force": 815.0, "mode": 2.0}  # the DATA's alias, named
        picked = [{"topic": uns, "field": "values.temp"}, {"topic": uns, "field": "values.nope"}]
        values = await preview(conn, picked, seconds=1.0)
        assert values == [21.5, "no field 'values.nope' in the messages"]
    finally:
        async with aiomqtt.Client("127.0.0.1", port) as client:
            for topic, _ in messages:
                await client.publish(topic, b"", qos=1, retain=True)
