"""What an OPC UA variable holds, read from the server: its data type resolved to the built-in type
its values have (an enumeration's values are Int32, and its names come from the data type's
EnumValues or EnumStrings), its value rank and array dimensions; and whether a signal of the plant
file can take it. ``smartfab browse`` shows it, ``smartfab plant check --live`` compares it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.common.ua_utils import get_base_data_type
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIdNames, ObjectIds
from asyncua.ua.status_codes import get_name_and_doc
from asyncua.ua.uaerrors import UaError

from smartfab.model.plant import Signal
from smartfab.model.units import UNITS, UnknownUnitError, lookup_unit, unit_of_opcua_id

_ENUMERATION = 29  # ns=0: the abstract data type every enumeration derives from
_NUMBERS = frozenset({
    "Boolean", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64", "Float",
    "Double", "Number", "Integer", "UInteger",  # the last three: abstract, any of their kind
})  # fmt: skip
_INTEGERS = _NUMBERS - {"Boolean", "Float", "Double", "Number"}
_ANY = "BaseDataType"  # a variable of any type: what its values are shows only when they come
_TEXTS = frozenset({"String", "LocalizedText"})
_SCALAR = -1  # ValueRank: a scalar
_ONE_DIMENSION = 1
_PER_REQUEST = 500  # attributes per Read request; servers cap them, commonly at 1000 or more


@dataclass(frozen=True, slots=True)
class ValueType:
    """What a variable holds."""

    data_type: str  # the data type's name: "Double", or a server's own, e.g. "MachineModeEnum"
    builtin: str  # the built-in type its values are encoded as: "Double", "Int32" for an enum
    value_rank: int = _SCALAR  # -1 scalar, 1 one-dimensional array, n > 1 n dimensions, ...
    dimensions: tuple[int, ...] = ()  # ArrayDimensions, where the server gives them (0: any)
    enum: Mapping[int, str] | None = None  # an enumeration's value names, where given
    # Its EngineeringUnits: the catalogue's symbol ("degC"), or the server's display name of a
    # unit the catalogue does not know; None when the variable states none.
    unit: str | None = None

    def __str__(self) -> str:
        """E.g. "Double", "Double[32]", "Int32[]", "MachineMode (Int32 enumeration 0 off, 1 on)"."""
        name = self.builtin if self.data_type == self.builtin else self.data_type
        if self.value_rank == _ONE_DIMENSION:
            size = self.dimensions[0] if self.dimensions and self.dimensions[0] else ""
            name += f"[{size}]"
        elif self.value_rank > _ONE_DIMENSION:
            name += "[" + ",".join(str(d or "") for d in self.dimensions) + "]"
        elif self.value_rank != _SCALAR:
            name += f" (ValueRank {self.value_rank})"
        if self.enum is not None:
            names = ", ".join(f"{code} {text}" for code, text in sorted(self.enum.items()))
            name += f" ({self.builtin} enumeration {names})" if names else " (enumeration)"
        return name

    def problem(self, signal: Signal) -> str | None:
        """Why ``signal`` cannot take this variable's values, or None when it can."""
        declared = f"the signal is {signal.type}"
        if self.builtin == _ANY:
            return None
        if signal.kind == "text":
            if self.builtin not in _TEXTS:
                return f"{declared}, the node holds {self}, not a String or LocalizedText"
            if self.value_rank != _SCALAR:
                return f"{declared}, the node holds {self}, not one text"
            return None
        if self.builtin not in _NUMBERS:
            return f"{declared}, the node holds {self}, not numbers"
        if signal.kind == "array":
            if self.value_rank != _ONE_DIMENSION:
                return f"{declared} of {signal.length}, the node holds {self}, not a 1-D array"
            size = self.dimensions[0] if self.dimensions else 0
            if size and size != signal.length:
                return f"{declared} of {signal.length}, the node holds {size} elements ({self})"
            return None
        if self.value_rank != _SCALAR:
            return f"{declared}, the node holds {self}, not one value"
        if signal.type == "enum":
            if self.builtin not in _INTEGERS:
                return f"{declared}, the node holds {self}, not whole numbers"
            return _names_problem(signal.values or {}, self.enum)
        return None

    def unit_problem(self, signal: Signal) -> str | None:
        """Why the signal's unit is not the one the variable's values are in, or None (also when
        the variable states none, or one the catalogue does not know)."""
        if self.unit is None or self.unit not in UNITS:
            return None
        node = UNITS[self.unit]
        try:
            declared = lookup_unit(signal.unit)
        except UnknownUnitError:
            return None  # the plant check reports it
        if declared.code == node.code:
            return None
        return (
            f"the node's values are in {node.display} ({node.description}), not "
            f"{declared.display}: smartfab stores values as the device sends them and does not "
            f"convert them; write unit: {node.symbol}"
        )


def _names_problem(plant: Mapping[int, str], server: Mapping[int, str] | None) -> str | None:
    """How the plant's enum value names differ from the server's, or None."""
    if not server:
        return None  # the server names none: nothing to compare
    differ = [
        f"{code}: {plant.get(code, '(none)')} here, {server.get(code, '(none)')} on the server"
        for code in sorted(plant.keys() | server.keys())
        if plant.get(code) != server.get(code)
    ]
    return f"the enum's values differ from the server's: {'; '.join(differ)}" if differ else None


async def read_value_types(client: Client, nodes: Sequence[ua.NodeId]) -> list[ValueType | str]:
    """The value type of each of ``nodes``, or why it cannot be told (the node does not exist,
    is not a variable, ...): one Read of three attributes per node, then a walk up the type
    hierarchy for each data type that is not built in."""
    attributes = (AttributeIds.DataType, AttributeIds.ValueRank, AttributeIds.ArrayDimensions)
    reads = [
        ua.ReadValueId(NodeId=node, AttributeId=ua.UInt32(a)) for node in nodes for a in attributes
    ]
    values: list[ua.DataValue] = []
    for i in range(0, len(reads), _PER_REQUEST):
        values += await client.uaclient.read(
            ua.ReadParameters(NodesToRead=reads[i : i + _PER_REQUEST])
        )
    types: dict[ua.NodeId, tuple[str, str, Mapping[int, str] | None] | str] = {}
    units = await _engineering_units(client, nodes)
    out: list[ValueType | str] = []
    for i in range(len(nodes)):
        data_type, rank, dims = values[3 * i : 3 * i + 3]
        status = data_type.StatusCode
        if status is not None and not status.is_good():
            name, _ = get_name_and_doc(status.value)
            out.append("no such node" if name == "BadNodeIdUnknown" else f"not a variable ({name})")
            continue
        type_id = _value(data_type)
        if not isinstance(type_id, ua.NodeId):
            out.append("the server gives no data type")
            continue
        if type_id not in types:
            types[type_id] = await _resolve(client, type_id)
        resolved = types[type_id]
        if isinstance(resolved, str):
            out.append(resolved)
            continue
        name, builtin, names = resolved
        rank_value = _value(rank)
        dims_value = _value(dims)
        out.append(ValueType(
            name, builtin,
            int(rank_value) if isinstance(rank_value, int) else _SCALAR,
            tuple(int(d) for d in dims_value) if isinstance(dims_value, list) else (),
            names, units[i],
        ))  # fmt: skip
    return out


async def _engineering_units(client: Client, nodes: Sequence[ua.NodeId]) -> list[str | None]:
    """The unit of each node's EngineeringUnits property (OPC UA Part 8), where it has one: one
    TranslateBrowsePaths request to find the properties, one Read of their values."""
    paths = [
        ua.BrowsePath(
            StartingNode=node,
            RelativePath=ua.RelativePath(
                Elements=[
                    ua.RelativePathElement(
                        ReferenceTypeId=ua.NodeId(ua.Int32(ObjectIds.HasProperty)),
                        IsInverse=False,  # type: ignore[arg-type]  # ua.Boolean is bool at run time
                        TargetName=ua.QualifiedName("EngineeringUnits", 0),
                    )
                ]
            ),
        )
        for node in nodes
    ]
    found: list[ua.NodeId | None] = []
    for i in range(0, len(paths), _PER_REQUEST):
        for result in await client.uaclient.translate_browsepaths_to_nodeids(
            paths[i : i + _PER_REQUEST]
        ):
            good = result.StatusCode.is_good() and result.Targets
            target = result.Targets[0].TargetId if good else None
            found.append(
                ua.NodeId(target.Identifier, target.NamespaceIndex) if target is not None else None
            )
    value = ua.UInt32(AttributeIds.Value)
    reads = [ua.ReadValueId(NodeId=n, AttributeId=value) for n in found if n is not None]
    values: list[ua.DataValue] = []
    for i in range(0, len(reads), _PER_REQUEST):
        values += await client.uaclient.read(
            ua.ReadParameters(NodesToRead=reads[i : i + _PER_REQUEST])
        )
    read = iter(values)
    return [_unit_name(_value(next(read))) if n is not None else None for n in found]


def _unit_name(info: object) -> str | None:
    if not isinstance(info, ua.EUInformation):
        return None
    known = unit_of_opcua_id(int(info.UnitId))
    if known is not None:
        return known.symbol
    text = info.DisplayName.Text if info.DisplayName is not None else None
    return str(text) if text else None


def _value(dv: ua.DataValue) -> object:
    return dv.Value.Value if dv.Value is not None else None


async def _resolve(
    client: Client, type_id: ua.NodeId
) -> tuple[str, str, Mapping[int, str] | None] | str:
    """(the data type's name, the built-in type its values are, an enumeration's names), or why
    the data type cannot be resolved."""
    if type_id.NamespaceIndex == 0 and isinstance(type_id.Identifier, int):
        name = ObjectIdNames.get(type_id.Identifier)
        if name is not None and type_id.Identifier < _ENUMERATION:
            return name, name, None
    node = client.get_node(type_id)
    try:
        base = await get_base_data_type(node)
        name = (await node.read_browse_name()).Name or type_id.to_string()
    except (UaError, TimeoutError) as exc:
        return f"its data type {type_id.to_string()} cannot be resolved: {exc}"
    base_id = base.nodeid.Identifier
    if base_id == _ENUMERATION:
        return name, "Int32", await _enum_names(node)
    return name, str(ObjectIdNames.get(int(base_id), base.nodeid.to_string())), None


async def _enum_names(data_type: Node) -> dict[int, str]:
    """An enumeration's value names: its EnumValues (any codes) or EnumStrings (0, 1, 2, ...)
    property; empty when it has neither."""
    for prop in ("EnumValues", "EnumStrings"):
        try:
            value = await (await data_type.get_child(f"0:{prop}")).read_value()
        except UaError:
            continue
        if prop == "EnumValues":
            return {int(v.Value): str(v.DisplayName.Text) for v in value}
        return {code: str(text.Text) for code, text in enumerate(value)}
    return {}
