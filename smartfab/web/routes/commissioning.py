"""Commissioning from the browser: ask a device, live, what it offers (an OPC UA address space,
Modbus registers with a decode preview, the MQTT topics and Sparkplug metrics heard) and what
picked bindings read now, before they are mapped to signals and saved (``POST /api/plant/edits``).

The device is one of the plant's connections (by ``name``) or one being added (``connection``,
as the plant file writes it). Devices belong to no part of the plant: engineers with a
whole-plant grant ask them. A device that cannot be asked answers 502 with the reason."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from smartfab.devices.commissioning import (
    MAX_BITS,
    AnyConnection,
    CommissioningError,
    browse_opcua,
    mqtt_topics,
    preview,
    read_modbus,
)
from smartfab.model.plant import (
    Connection,
    ModbusConnection,
    MqttConnection,
    OpcUaConnection,
    RegisterType,
)
from smartfab.platform.queries import PlantData
from smartfab.platform.security.roles import Principal
from smartfab.web.auth import require

EDIT = require("plant.edit")
_CONNECTION: TypeAdapter[AnyConnection] = TypeAdapter(Connection)


class Device(BaseModel):
    name: str | None = Field(default=None, description="A connection of the plant")
    connection: dict[str, Any] | None = Field(
        default=None, description="A connection being added, as the plant file writes it"
    )


class RegistersIn(Device):
    table: Literal["coil", "discrete_input", "holding", "input"] = "holding"
    start: int = Field(ge=0, le=65535)
    count: int = Field(default=20, ge=1, le=MAX_BITS)
    unit: int | None = Field(default=None, ge=0, le=247, description="Default: the connection's")
    type: RegisterType = "uint16"
    word_order: Literal["big", "little"] = "big"


class TopicsIn(Device):
    filter: str = Field(default="#", min_length=1, max_length=1024)
    seconds: float = Field(default=3.0, ge=0.2, le=30)


class PreviewIn(Device):
    bindings: list[dict[str, Any]] = Field(
        min_length=1, max_length=500,
        description="Each a signal's source.<protocol> without its connection; a Modbus string "
        "adds text: true and length",
    )  # fmt: skip


def router(data: PlantData) -> APIRouter:
    api = APIRouter(tags=["commissioning"])

    def device(ref: Device, who: Principal, kind: type[AnyConnection] | None = None) -> Any:
        if who.scope:
            raise HTTPException(
                403, f"devices belong to the whole plant; your access is limited to {who.scope!r}"
            )
        if ref.name is not None:
            try:
                found = data.plant.connection(ref.name) if data.plant is not None else None
            except KeyError:
                found = None
            if found is None:
                raise HTTPException(404, f"unknown connection {ref.name!r}")
            conn: AnyConnection = found
        elif ref.connection is not None:
            try:
                conn = _CONNECTION.validate_python(ref.connection)
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                where = ".".join(str(p) for p in first["loc"][1:]) or "connection"
                raise HTTPException(422, f"connection.{where}: {first['msg']}") from None
        else:
            raise HTTPException(422, "name a connection of the plant, or give one (connection)")
        if kind is not None and not isinstance(conn, kind):
            raise HTTPException(422, f"connection {conn.name!r} is {conn.protocol}")
        return conn

    @api.post("/commissioning/opcua/browse", summary="The variables of an OPC UA server")
    async def opcua(ref: Device, who: Annotated[Principal, EDIT]) -> dict[str, Any]:
        conn = device(ref, who, OpcUaConnection)
        try:
            found = await browse_opcua(conn)
        except CommissioningError as exc:
            raise HTTPException(502, str(exc)) from None
        return {"endpoint": conn.endpoint, "variables": [asdict(v) for v in found]}

    @api.post(
        "/commissioning/modbus/registers",
        summary="A range of Modbus registers, raw and decoded as a type and word order read them",
    )
    async def modbus(ask: RegistersIn, who: Annotated[Principal, EDIT]) -> dict[str, Any]:
        conn = device(ask, who, ModbusConnection)
        try:
            found = await read_modbus(
                conn, ask.table, ask.start, ask.count, unit=ask.unit, type=ask.type,
                word_order=ask.word_order,
            )  # fmt: skip
        except CommissioningError as exc:
            raise HTTPException(502, str(exc)) from None
        return {"registers": [asdict(r) for r in found]}

    @api.post("/commissioning/mqtt/topics", summary="The MQTT topics heard for a few seconds")
    async def mqtt(ask: TopicsIn, who: Annotated[Principal, EDIT]) -> dict[str, Any]:
        conn = device(ask, who, MqttConnection)
        try:
            found = await mqtt_topics(conn, ask.filter, ask.seconds)
        except CommissioningError as exc:
            raise HTTPException(502, str(exc)) from None
        return {"topics": [asdict(t) for t in found]}

    @api.post("/commissioning/preview", summary="What picked bindings read now")
    async def values(ask: PreviewIn, who: Annotated[Principal, EDIT]) -> dict[str, Any]:
        conn = device(ask, who)
        try:
            found = await preview(conn, ask.bindings)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise HTTPException(422, f"bindings: {where}: {first['msg']}") from None
        except CommissioningError as exc:
            raise HTTPException(502, str(exc)) from None
        return {"values": found}

    return api
