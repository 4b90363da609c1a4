"""A virtual OPC UA server: a real asyncua server on a socket exposing every OPC UA-bound signal of
the plant as a variable with exactly its bound NodeId.

Variables sit in folders following the ISA-95 hierarchy (site/area/line/cell/equipment; folder node
ids ``ns=1;s=<path>``) and carry their EngineeringUnits (and EURange when the signal has a range).
``publish`` writes many values at once through the server's direct attribute write, which is what
makes 10,000+ value changes per second possible in Python.

Writable signals (setpoints) are variables clients may write. The simulation sets them until a
client first writes one; from then on the variable holds what the client wrote, as a PLC holds
an operator's setpoint. With ``security`` the server offers only Basic256Sha256 (Sign and
SignAndEncrypt) and accepts only clients whose certificate is in its trust list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
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
from smartfab.model.plant import OpcUaConnection, Plant, Signal, SignalRef
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
        self.node_ids: tuple[ua.NodeId, ...] = tuple(
            ua.NodeId.from_string(_binding_node(ref)) for ref in self.signals
        )
        self._vtypes = [_VARIANT[ref.signal.type] for ref in self.signals]
        self.security = security
        self._writable = {
            node_id: slot
            for slot, (ref, node_id) in enumerate(zip(self.signals, self.node_ids, strict=True))
            if ref.signal.writable
        }
        self.held: set[int] = set()  # slots of setpoints a client wrote: no longer simulated
        self._server: Server | None = None
        self._running = False

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
        """Write values (source timestamps ``ts_us``, epoch µs) to the variables at ``slots``
        (positions in ``paths``), in order; a slot may repeat to publish several samples.

        A NaN for an integer or boolean variable is published as Bad, with no value.
        """
        server = await self._built()
        index = np.asarray(slots, dtype=np.intp)
        n = index.shape[0]
        vals = np.broadcast_to(np.asarray(values, dtype=np.float64), (n,))
        stamps = np.broadcast_to(np.asarray(ts_us, dtype=np.int64), (n,))
        qualities = np.broadcast_to(np.asarray(quality, dtype=np.uint8), (n,))
        node_ids, vtypes = self.node_ids, self._vtypes
        when: dict[int, ua.DateTime] = {}
        now = ua.DateTime.now(UTC)
        rows = zip(index.tolist(), vals.tolist(), stamps.tolist(), qualities.tolist(), strict=True)
        held = self.held
        for written, (slot, value, ts, q) in enumerate(rows, start=1):
            if slot in held:
                continue
            source_ts = when.get(ts)
            if source_ts is None:
                source_ts = when[ts] = _EPOCH + timedelta(microseconds=ts)
            vtype = vtypes[slot]
            status = _STATUS[q]
            if vtype is ua.VariantType.Double:
                variant = ua.Variant(value, vtype)
            elif value != value:  # NaN has no integer or boolean form
                variant, status = _NULL, _STATUS[Quality.BAD]
            elif vtype is ua.VariantType.Int64:
                variant = ua.Variant(round(value), vtype)
            else:
                variant = ua.Variant(value != 0, vtype)
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
    try:
        var = await parent.add_variable(
            node_id,
            ua.QualifiedName(signal.name, node_id.NamespaceIndex),
            ua.Variant(False if vtype is ua.VariantType.Boolean else 0, vtype),
            vtype,
        )
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
