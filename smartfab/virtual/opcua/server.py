"""A virtual OPC UA server: a real asyncua server on a socket exposing every OPC UA-bound signal of
the plant as a variable with exactly its bound NodeId.

Variables sit in folders following the ISA-95 hierarchy (site/area/line/cell/equipment; folder node
ids ``ns=1;s=<path>``) and carry their EngineeringUnits (and EURange when the signal has a range).
Each has its signal's type as OPC UA servers have it: Double, Int64, Boolean; an enum signal an
Int32 of its own Enumeration data type (``ns=1;s=<path>.Enum``, whose EnumValues name the codes);
a string signal a String; an array signal a Double array (ValueRank 1, ArrayDimensions [length]).
``publish`` (numbers), ``publish_texts`` and ``publish_arrays`` write many values at once through
the server's direct attribute write, which is what makes 10,000+ value changes per second possible
in Python.

Writable signals (setpoints) are variables clients may write. The simulation sets them until a
client first writes one; from then on the variable holds what the client wrote, as a PLC holds
an operator's setpoint. With ``security`` the server offers only Basic256Sha256 (Sign and
SignAndEncrypt) and accepts only clients whose certificate is in its trust list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from asyncua import ua
from asyncua.common.callback import CallbackType, ServerItemCallback
from asyncua.common.node import Node
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server import internal_subscription
from asyncua.server.monitored_item_service import MonitoredItemService
from asyncua.server.server import Server
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.status_codes import StatusCodes
from asyncua.ua.uaerrors import UaStatusCodeError

from smartfab.devices.opcua.certs import application_uri
from smartfab.errors import SmartfabError
from smartfab.model.plant import OpcUaConnection, Plant, Signal, SignalRef, ValueKind
from smartfab.model.units import UnknownUnitError, lookup_unit
from smartfab.platform.points import Quality

_EPOCH = ua.DateTime(1970, 1, 1, tzinfo=UTC)
_UNITS_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"
_FOLDER_NS = 1  # the server's own namespace: folder ids cannot clash with bound node ids there
_YIELD_EVERY = 500  # writes between yields to the event loop, so that sessions stay served

_VARIANT = {
    "float": ua.VariantType.Double,
    "int": ua.VariantType.Int64,
    "bool": ua.VariantType.Boolean,
    "enum": ua.VariantType.Int32,  # an enumeration's values are Int32 (OPC UA Part 3 8.14)
    "string": ua.VariantType.String,
    "array": ua.VariantType.Double,  # with ValueRank 1
}
# Indexed by Quality; shared by all DataValues, which never mutate them.
_STATUS = tuple(
    ua.StatusCode(ua.UInt32(c)) for c in (StatusCodes.Good, StatusCodes.Uncertain, StatusCodes.Bad)
)
_NULL = ua.Variant(None, ua.VariantType.Null)
_POLICY = {
    "Sign": ua.SecurityPolicyType.Basic256Sha256_Sign,
    "SignAndEncrypt": ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
}
# What the server checks of a client's certificate: dates, trust list, revocation, client use.
_CLIENT_CHECKS = (
    CertificateValidatorOptions.TIME_RANGE
    | CertificateValidatorOptions.TRUSTED
    | CertificateValidatorOptions.REVOKED
    | CertificateValidatorOptions.PEER_CLIENT
)


@dataclass(frozen=True, slots=True)
class ServerSecurity:
    """Basic256Sha256 for the virtual server: its certificate and key, the trust list (a folder
    of client certificates, DER or PEM, or of the CAs that issued them) and the modes offered."""

    certificate: Path
    private_key: Path
    trusted_certs: Path
    modes: tuple[Literal["Sign", "SignAndEncrypt"], ...] = ("Sign", "SignAndEncrypt")


class _SharedDataValue(ua.DataValue):
    """A DataValue asyncua may share instead of copying.

    For every monitored item asyncua deep-copies each written value (``copy.deepcopy``, the largest
    cost of a data change by far). Ours are built fresh for every write and never mutated, so
    handing out the same object is safe, and a data change costs about a fourth.
    """

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, object]) -> _SharedDataValue:
        return self


class _LeanMonitoredItemService(MonitoredItemService):
    """asyncua's monitored-item service without its largest avoidable cost.

    asyncua 2.1 starts every data-change notification as ``ua.MonitoredItemNotification()``,
    whose default DataValue builds a Variant that guesses the type of ``None`` through a failing
    enum lookup, and then overwrites it: a third of the server's CPU per data change. This builds
    the notification with its value at once; the rest is asyncua's logic, unchanged.
    """

    async def datachange_callback(
        self, handle: int, value: ua.DataValue, error: ua.StatusCode | None = None
    ) -> None:
        if error:
            await super().datachange_callback(handle, value, error)
            return
        mid = self._monitored_datachange[handle]
        mdata = self._monitored_items[mid]
        if mdata.mode == ua.MonitoringMode.Disabled:
            return
        mdata.mvalue.set_current_datavalue(value)
        if mdata.filter:
            changed = self._is_data_changed(
                mdata.mvalue, mdata.filter.Trigger
            ) and self._is_deadband_exceeded(mdata.mvalue, mdata.filter)
        else:
            changed = self._is_data_changed(mdata.mvalue, ua.DataChangeTrigger.StatusValue)
        if changed:
            event = ua.MonitoredItemNotification(mdata.client_handle, value)
            await self.isub.enqueue_datachange_event(mid, event, mdata.queue_size)


# Subscriptions create their monitored-item service by this module-level name.
internal_subscription.MonitoredItemService = _LeanMonitoredItemService  # type: ignore[attr-defined]


class VirtualOpcUaServer:
    """Serves the signals bound to ``connections`` (names of OPC UA connections of ``plant``; all
    of them by default) on ``opc.tcp://host:port/path``. Port 0 picks a free port on the first start
    and keeps it for restarts; the address space and its values survive a stop."""

    def __init__(
        self,
        plant: Plant,
        connections: Sequence[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/",
        security: ServerSecurity | None = None,
    ) -> None:
        names = set(
            [c.name for c in plant.connections if isinstance(c, OpcUaConnection)]
            if connections is None
            else connections
        )
        self.host = host
        self.port = port
        self.path = path
        self.signals: tuple[SignalRef, ...] = tuple(
            ref
            for ref in plant.iter_signals()
            if ref.signal.source.opcua is not None and ref.signal.source.opcua.connection in names
        )
        self.paths: tuple[str, ...] = tuple(ref.path for ref in self.signals)
        self.kinds: tuple[ValueKind, ...] = tuple(ref.signal.kind for ref in self.signals)
        self.node_ids: tuple[ua.NodeId, ...] = tuple(
            ua.NodeId.from_string(_binding_node(ref)) for ref in self.signals
        )
        self._vtypes = [_VARIANT[ref.signal.type] for ref in self.signals]
        self._dims = [
            [ua.Int32(ref.signal.length or 0)] if ref.signal.type == "array" else None
            for ref in self.signals
        ]
        self.security = security
        self._writable = {
            node_id: slot
            for slot, (ref, node_id) in enumerate(zip(self.signals, self.node_ids, strict=True))
            if ref.signal.writable
        }
        self.held: set[int] = set()  # slots of setpoints a client wrote: no longer simulated
        self._server: Server | None = None
        self._running = False

    def slots(self, kind: ValueKind) -> npt.NDArray[np.intp]:
        """The slots of the signals whose values are of ``kind``."""
        return np.array([i for i, k in enumerate(self.kinds) if k == kind], dtype=np.intp)

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://{self.host}:{self.port}{self.path}"

    @property
    def server(self) -> Server:
        """The asyncua server (once started or published to), e.g. to add nodes a plant does not
        bind."""
        if self._server is None:
            raise RuntimeError("the virtual OPC UA server has not been built yet")
        return self._server

    @property
    def running(self) -> bool:
        return self._running

    async def start(self) -> None:
        if self._running:
            return
        server = await self._built()
        server.set_endpoint(self.endpoint)
        try:
            await server.start()
        except OSError as exc:
            raise SmartfabError(
                f"virtual OPC UA server cannot listen on {self.host}:{self.port}: {exc.strerror}"
            ) from exc
        # Keep the port picked for port 0, so that a restart comes back where clients look.
        assert server.bserver is not None  # start() made it
        self.port = server.bserver.port
        server.set_endpoint(self.endpoint)
        self._running = True

    async def stop(self) -> None:
        """Close the listener and every session, like a device that goes away."""
        if self._running and self._server is not None:
            self._running = False
            await self._server.stop()

    async def publish(
        self,
        slots: npt.ArrayLike,
        values: npt.ArrayLike,
        ts_us: npt.ArrayLike,
        quality: npt.ArrayLike | int = Quality.GOOD,
    ) -> None:
        """Write values (source timestamps ``ts_us``, epoch µs) to the number variables at
        ``slots`` (positions in ``paths``), in order; a slot may repeat to publish several
        samples.

        A NaN for an integer, enumeration or boolean variable is published as Bad, with no value.
        """
        index = np.asarray(slots, dtype=np.intp)
        n = index.shape[0]
        vals = np.broadcast_to(np.asarray(values, dtype=np.float64), (n,))
        vtypes = self._vtypes

        def variant(slot: int, value: float) -> ua.Variant | None:
            vtype = vtypes[slot]
            if vtype is ua.VariantType.Double:
                return ua.Variant(value, vtype)
            if value != value:  # NaN has no integer or boolean form
                return None
            if vtype is ua.VariantType.Boolean:
                return ua.Variant(value != 0, vtype)
            return ua.Variant(round(value), vtype)

        await self._write(index, map(variant, index.tolist(), vals.tolist()), ts_us, quality)

    async def publish_texts(
        self,
        slots: npt.ArrayLike,
        texts: Sequence[str] | npt.NDArray[np.object_],
        ts_us: npt.ArrayLike,
        quality: npt.ArrayLike | int = Quality.GOOD,
    ) -> None:
        """Write texts to the String variables at ``slots``, as ``publish`` writes numbers."""
        index = np.asarray(slots, dtype=np.intp)
        await self._write(
            index, (ua.Variant(str(s), ua.VariantType.String) for s in texts), ts_us, quality
        )

    async def publish_arrays(
        self,
        slots: npt.ArrayLike,
        values: npt.ArrayLike,
        offsets: npt.ArrayLike,
        ts_us: npt.ArrayLike,
        quality: npt.ArrayLike | int = Quality.GOOD,
    ) -> None:
        """Write arrays to the array variables at ``slots``, as ``publish`` writes numbers; value
        i is ``values[offsets[i]:offsets[i + 1]]`` (``ArrayBatch``'s layout), and one of no
        elements is published as Bad, with no value."""
        index = np.asarray(slots, dtype=np.intp)
        flat = np.asarray(values, dtype=np.float64).tolist()
        bounds = np.asarray(offsets, dtype=np.int64).tolist()
        dims = self._dims

        def variant(i: int, slot: int) -> ua.Variant | None:
            a, b = bounds[i], bounds[i + 1]
            if a == b:
                return None
            return ua.Variant(flat[a:b], ua.VariantType.Double, Dimensions=dims[slot])

        await self._write(
            index, map(variant, range(index.shape[0]), index.tolist()), ts_us, quality
        )

    async def _write(
        self,
        index: npt.NDArray[np.intp],
        variants: Iterable[ua.Variant | None],
        ts_us: npt.ArrayLike,
        quality: npt.ArrayLike | int,
    ) -> None:
        """Write each variant (None: no value, status Bad) to the variable at its slot in
        ``index``, with its source timestamp and quality; setpoints a client wrote are skipped."""
        server = await self._built()
        n = index.shape[0]
        stamps = np.broadcast_to(np.asarray(ts_us, dtype=np.int64), (n,))
        qualities = np.broadcast_to(np.asarray(quality, dtype=np.uint8), (n,))
        node_ids = self.node_ids
        when: dict[int, ua.DateTime] = {}
        now = ua.DateTime.now(UTC)
        rows = zip(index.tolist(), variants, stamps.tolist(), qualities.tolist(), strict=True)
        held = self.held
        for written, (slot, variant, ts, q) in enumerate(rows, start=1):
            if slot in held:
                continue
            source_ts = when.get(ts)
            if source_ts is None:
                source_ts = when[ts] = _EPOCH + timedelta(microseconds=ts)
            status = _STATUS[q]
            if variant is None:
                variant, status = _NULL, _STATUS[Quality.BAD]
            await server.write_attribute_value(
                node_ids[slot],
                _SharedDataValue(variant, status, SourceTimestamp=source_ts, ServerTimestamp=now),
            )
            if written % _YIELD_EVERY == 0:
                await asyncio.sleep(0)

    async def _built(self) -> Server:
        """The server with its address space, built on first use (values may be published
        before the first start)."""
        if self._server is None:
            self._server = await self._build()
        return self._server

    async def _build(self) -> Server:
        server = Server()
        await server.init()
        server.set_server_name("smartfab virtual factory")
        server.set_endpoint(self.endpoint)
        if self.security is not None:
            await _secure(server, self.security)
        server.subscribe_server_callback(CallbackType.PostWrite, self._on_client_write)
        highest = max((n.NamespaceIndex for n in self.node_ids), default=0)
        for index in range(len(await server.get_namespace_array()), highest + 1):
            await server.register_namespace(f"urn:smartfab:virtual:ns{index}")
        folders: dict[str, Node] = {}
        for ref, node_id in zip(self.signals, self.node_ids, strict=True):
            parent = await _folder(server, folders, ref.owner.path)
            await _variable(server, parent, node_id, ref)
        return server

    def _on_client_write(self, event: ServerItemCallback, _dispatcher: object) -> None:
        """A client wrote values: its setpoints now hold what it wrote."""
        if not event.is_external:  # the server's own writes (building nodes) are not a client's
            return
        params: ua.WriteParameters = event.request_params
        results: list[ua.StatusCode] = event.response_params or []
        for write, result in zip(params.NodesToWrite, results, strict=False):
            slot = self._writable.get(write.NodeId)
            if slot is not None and write.AttributeId == AttributeIds.Value and result.is_good():
                self.held.add(slot)


async def _secure(server: Server, security: ServerSecurity) -> None:
    """Offer only Basic256Sha256 in the given modes, with the server's certificate, and accept
    only clients whose certificate the trust list holds."""
    for what, path in (
        ("certificate", security.certificate),
        ("private key", security.private_key),
    ):
        if not path.is_file():
            raise SmartfabError(f"virtual OPC UA server: {what} {path} is not a file")
    if not security.trusted_certs.is_dir():
        raise SmartfabError(
            f"virtual OPC UA server: trusted_certs {security.trusted_certs} is not a folder"
        )
    await server.load_certificate(str(security.certificate))
    await server.load_private_key(str(security.private_key))
    cert = server.iserver.certificate
    uri = application_uri(cert) if cert is not None else None
    if uri:  # the server's application URI must be the one in its certificate
        await server.set_application_uri(uri)
    server.set_security_policy([_POLICY[m] for m in security.modes])
    store = TrustStore([security.trusted_certs], [])
    await store.load()
    server.set_certificate_validator(CertificateValidator(_CLIENT_CHECKS, store))


def _binding_node(ref: SignalRef) -> str:
    binding = ref.signal.source.opcua
    assert binding is not None  # only OPC UA-bound signals are served
    return binding.node


async def _folder(server: Server, folders: dict[str, Node], path: str) -> Node:
    """The folder node of ``path`` (``site/area/...``), creating it and its parents as needed."""
    if path in folders:
        return folders[path]
    head, _, name = path.rpartition("/")
    parent = await _folder(server, folders, head) if head else server.nodes.objects
    folder = await parent.add_folder(_own_node(path), ua.QualifiedName(name, _FOLDER_NS))
    folders[path] = folder
    return folder


async def _variable(server: Server, parent: Node, node_id: ua.NodeId, ref: SignalRef) -> None:
    signal = ref.signal
    vtype = _VARIANT[signal.type]
    initial: object = False if vtype is ua.VariantType.Boolean else 0
    if signal.type == "array":
        assert signal.length is not None  # an array signal has one (validated)
        initial = [0.0] * signal.length
    elif signal.type == "string":
        initial = ""
    data_type = None if signal.values is None else await _enumeration(server, ref)
    try:
        var = await parent.add_variable(
            node_id, ua.QualifiedName(signal.name, node_id.NamespaceIndex), initial, vtype,
            data_type,
        )  # fmt: skip
        if signal.length is not None and signal.type == "array":
            await var.write_value_rank(ua.ValueRank.OneDimension)
            dims = ua.Variant([ua.UInt32(signal.length)], ua.VariantType.UInt32)
            await var.write_attribute(AttributeIds.ArrayDimensions, ua.DataValue(dims))
    except UaStatusCodeError as exc:
        raise SmartfabError(f"{ref.path}: cannot create OPC UA node {node_id}: {exc}") from exc
    if signal.writable:
        await var.set_writable()
    if signal.description:
        await var.write_attribute(
            AttributeIds.Description,
            ua.DataValue(ua.Variant(ua.LocalizedText(signal.description))),
        )
    # Until the first value is published the variable says it has none, as OPC UA servers do.
    await server.write_attribute_value(
        node_id,
        ua.DataValue(StatusCode=ua.StatusCode(ua.UInt32(StatusCodes.BadWaitingForInitialData))),
    )
    await var.add_property(
        _own_node(f"{ref.path}.EngineeringUnits"),
        ua.QualifiedName("EngineeringUnits", 0),
        _eu_information(signal),
        ua.VariantType.ExtensionObject,
        ua.NodeId(ua.Int32(ObjectIds.EUInformation)),
    )
    if signal.range is not None:
        await var.add_property(
            _own_node(f"{ref.path}.EURange"),
            ua.QualifiedName("EURange", 0),
            ua.Range(Low=signal.range[0], High=signal.range[1]),
            ua.VariantType.ExtensionObject,
            ua.NodeId(ua.Int32(ObjectIds.Range)),
        )


async def _enumeration(server: Server, ref: SignalRef) -> ua.NodeId:
    """An Enumeration data type of the enum signal's codes and names: its EnumValues property
    (codes need not run 0, 1, 2, ...) and its DataTypeDefinition (OPC UA 1.04)."""
    values = ref.signal.values
    assert values is not None  # an enum signal has them (validated)
    dtype = await server.nodes.enum_data_type.add_data_type(
        _own_node(f"{ref.path}.Enum"), ua.QualifiedName(f"{ref.signal.name}Enum", _FOLDER_NS)
    )
    fields = [
        ua.EnumField(Value=ua.Int64(code), DisplayName=ua.LocalizedText(name), Name=name)
        for code, name in sorted(values.items())
    ]
    await dtype.write_data_type_definition(ua.EnumDefinition(Fields=fields))
    await dtype.add_property(
        _own_node(f"{ref.path}.Enum.EnumValues"),
        ua.QualifiedName("EnumValues", 0),
        [ua.EnumValueType(Value=f.Value, DisplayName=f.DisplayName) for f in fields],
        ua.VariantType.ExtensionObject,
        ua.NodeId(ua.Int32(ObjectIds.EnumValueType)),
    )
    return dtype.nodeid


def _eu_information(signal: Signal) -> ua.EUInformation:
    try:
        unit = lookup_unit(signal.unit)
    except UnknownUnitError:  # a plant built in code may use units the catalogue does not know
        return ua.EUInformation(
            NamespaceUri=_UNITS_NAMESPACE, UnitId=-1, DisplayName=ua.LocalizedText(signal.unit)
        )
    return ua.EUInformation(
        NamespaceUri=_UNITS_NAMESPACE,
        UnitId=unit.opcua_unit_id,
        DisplayName=ua.LocalizedText(unit.display),
        Description=ua.LocalizedText(unit.description),
    )


def _own_node(name: str) -> ua.NodeId:
    return ua.NodeId.from_string(f"ns={_FOLDER_NS};s={name}")
