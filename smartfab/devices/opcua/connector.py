"""OPC UA connector: one data-change subscription over every bound node of a connection.

Notifications are handled a whole publish response at a time (asyncua's subscription handler API
would spawn a task per changed value), turned into columns: source timestamp, value, quality from
the StatusCode severity; a PointBatch for signals of one number (Double, Float, integers, Boolean,
an enumeration's Int32), a TextBatch for string signals (String, LocalizedText) and an ArrayBatch
for array signals (one-dimensional numeric arrays). A value that is not of its signal's kind is
counted and logged with its signal, never emitted. A bound node the server does not have is
reported naming the signal; the others are still read. asyncua's session watchdog tells when the
server stops answering, and ``_stream`` then raises so that ``Connector.run`` reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from asyncua import ua
from asyncua.client.client import Client
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.status_codes import get_name_and_doc
from asyncua.ua.uaerrors import UaError

from smartfab.devices.connector import (
    Backoff,
    Connector,
    Mismatch,
    PointSink,
    SignalIds,
    quiet_library,
)
from smartfab.devices.opcua.certs import application_uri, load_certificate
from smartfab.devices.opcua.types import ValueType, read_value_types
from smartfab.errors import SmartfabError
from smartfab.model.plant import OpcUaConnection, Plant, Signal, ValueKind
from smartfab.platform.points import AnyPoints, ArrayBatch, PointBatch, TextBatch, now_us
from smartfab.platform.setpoints import SetpointError

log = logging.getLogger(__name__)
quiet_library(
    "asyncua.client.client",
    "asyncua.client.ua_client.UASocketProtocol",
    "asyncua.client.ua_client.UaClient",
    "asyncua.client.ua_session",
    "asyncua.client.ua_session.UaSession",
)

_BAD = 0x80000000  # StatusCode severity bits: 00 good, 01 uncertain, 1x bad
_KEEPALIVE_MS = 5_000  # how often an idle subscription still hears from the server
_MAX_QUEUE = 1_000  # upper bound of a monitored item's server-side queue
# Operations per request: servers cap them (MaxNodesPerBrowse, MaxMonitoredItemsPerCall, ...),
# commonly at 1000 or more.
_PER_REQUEST = 500
_T = TypeVar("_T")
# What the client checks of the server's certificate: validity dates, that it is in (or issued by
# a CA in) the trust list and not revoked, and that it is a server's certificate.
_SERVER_CHECKS = (
    CertificateValidatorOptions.TIME_RANGE
    | CertificateValidatorOptions.TRUSTED
    | CertificateValidatorOptions.REVOKED
    | CertificateValidatorOptions.PEER_SERVER
)
_MODE = {
    "Sign": ua.MessageSecurityMode.Sign,
    "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt,
}
# Numbers a variable of each OPC UA type can hold, so that a write is of the node's own type.
_INTEGER_TYPES = {
    ua.VariantType.SByte, ua.VariantType.Byte, ua.VariantType.Int16, ua.VariantType.UInt16,
    ua.VariantType.Int32, ua.VariantType.UInt32, ua.VariantType.Int64, ua.VariantType.UInt64,
}  # fmt: skip
_FLOAT_TYPES = {ua.VariantType.Float, ua.VariantType.Double}


@dataclass(frozen=True, slots=True)
class BoundNode:
    """A signal read from an OPC UA node."""

    path: str  # the signal's plant path
    node: str  # NodeId string form, e.g. "ns=2;s=site/area/line/cell/eq.temp"
    signal_id: int
    sample_s: float = 1.0  # how often the server updates it: sizes the server-side queue
    kind: ValueKind = "number"  # what its values are: one number, a text or an array
    # Each sample is an event (a part's inspection result): reported even when the value repeats.
    every_sample: bool = False


@dataclass(frozen=True, slots=True)
class BrowsedVariable:
    """A variable found under the server's Objects folder."""

    node: str  # NodeId string form
    path: str  # browse names from the Objects folder, joined with "/"
    type: ValueType | str  # what it holds, or why the server did not tell

    @property
    def data_type(self) -> str:
        """E.g. "Double", "Double[32]", "ModeEnum (Int32 enumeration 0 off, 1 on)"."""
        return str(self.type) if isinstance(self.type, ValueType) else f"unknown ({self.type})"


class OpcUaConnector(Connector):
    """Subscribes to ``nodes`` on the server of ``connection``.

    ``watchdog_s`` is how often the session is probed; a server that does not answer a probe
    within that time counts as gone. ``timeout_s`` bounds every other request.
    """

    protocol = "opcua"

    def __init__(
        self,
        connection: OpcUaConnection,
        nodes: Sequence[BoundNode],
        *,
        watchdog_s: float = 2.0,
        timeout_s: float = 4.0,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(connection.name, connection.endpoint, backoff)
        self.connection = connection
        self.nodes = tuple(nodes)
        self.watchdog_s = watchdog_s
        self.timeout_s = timeout_s
        self.node_errors: dict[str, str] = {}  # signal path -> why its node cannot be read
        # The plant's signals of the nodes (path -> signal), for ``check``; set by from_plant.
        self.signals: Mapping[str, Signal] = {}
        self.status.signals = len(self.nodes)
        self.status.extra["rejected_values"] = 0
        self._node_ids = [ua.NodeId.from_string(n.node) for n in self.nodes]
        self._ids = np.array([n.signal_id for n in self.nodes], dtype=np.int32)
        self._kinds = [n.kind for n in self.nodes]  # by client handle, as _ids
        self._signal_ids = SignalIds.of(self._ids, self._kinds)
        self._client: Client | None = None
        self._emit: PointSink | None = None
        # The initial values arrive while subscribing, before _stream has a sink to give them to.
        self._early: list[AnyPoints] = []
        self._failed: asyncio.Future[Exception] | None = None
        self._rejected: set[int] = set()  # handles whose wrong-typed value was logged already
        self._variant_types: dict[str, ua.VariantType] = {}  # setpoint path -> its node's type

    @property
    def signal_ids(self) -> SignalIds:
        return self._signal_ids

    @classmethod
    def from_plant(
        cls,
        plant: Plant,
        connection: str,
        signal_ids: Mapping[str, int],
        *,
        watchdog_s: float = 2.0,
        timeout_s: float = 4.0,
        backoff: Backoff | None = None,
    ) -> OpcUaConnector:
        conn = plant.connection(connection)
        if not isinstance(conn, OpcUaConnection):
            raise SmartfabError(f"connection {connection!r} is {conn.protocol}, not opcua")
        nodes = []
        setpoints: dict[str, Signal] = {}
        signals: dict[str, Signal] = {}
        per_part = _per_part(plant)
        for ref in plant.iter_signals():
            b = ref.signal.source.opcua
            if b is None or b.connection != connection:
                continue
            if ref.path not in signal_ids:
                raise SmartfabError(f"connection {connection!r}: no signal id for {ref.path}")
            signal = signals[ref.path] = ref.signal
            nodes.append(
                BoundNode(ref.path, b.node, signal_ids[ref.path], signal.sample_s, signal.kind,
                          ref.path in per_part)
            )  # fmt: skip
            if ref.signal.writable:
                setpoints[ref.path] = ref.signal
        connector = cls(conn, nodes, watchdog_s=watchdog_s, timeout_s=timeout_s, backoff=backoff)
        connector.setpoints = setpoints
        connector.signals = {n.path: signals[n.path] for n in nodes}
        return connector

    # --- discovery ---------------------------------------------------------------------------

    async def browse(self) -> list[BrowsedVariable]:
        """Every variable under the server's Objects folder (outside namespace 0, i.e. not the
        server's own diagnostics), found over a session of its own."""
        async with self._own_session() as client:
            return await _browse(client)

    async def read_values(self, nodes: Sequence[str]) -> list[object]:
        """The current value of each node (a number, a text, a list), or the reason it has none
        as text ("BadNodeIdUnknown: ..."), over a session of its own."""
        ids = [ua.NodeId.from_string(n) for n in nodes]
        reads = [ua.ReadValueId(NodeId=n, AttributeId=ua.UInt32(AttributeIds.Value)) for n in ids]
        out: list[object] = []
        async with self._own_session() as client:
            for chunk in _chunks(reads):
                for dv in await client.uaclient.read(ua.ReadParameters(NodesToRead=chunk)):
                    status = dv.StatusCode
                    if status is not None and not status.is_good():
                        name, doc = get_name_and_doc(status.value)
                        out.append(f"{name}: {doc}")
                    else:
                        out.append(dv.Value.Value if dv.Value is not None else None)
        return out

    async def check(self) -> list[Mismatch]:
        """Each bound node that the server does not have or whose type, value rank, array
        dimensions or enumeration names do not fit its signal (``signals``, set by
        ``from_plant``)."""
        async with self._own_session() as client:
            types = await read_value_types(client, self._node_ids)
        mismatches = []
        for bound, value_type in zip(self.nodes, types, strict=True):
            signal = self.signals.get(bound.path)
            where = f"node {bound.node}"
            if isinstance(value_type, str):
                mismatches.append(Mismatch(bound.path, where, value_type, "source.opcua.node"))
                continue
            if signal is None:
                continue
            if (problem := value_type.problem(signal)) is not None:
                mismatches.append(Mismatch(bound.path, where, problem, "type"))
            if (problem := value_type.unit_problem(signal)) is not None:
                mismatches.append(Mismatch(bound.path, where, problem, "unit"))
        return mismatches

    @contextlib.asynccontextmanager
    async def _own_session(self) -> AsyncIterator[Client]:
        """A session of its own, beside the subscription's, closed on leaving."""
        client = Client(self.connection.endpoint, timeout=self.timeout_s)
        await self._secure(client)
        await client.connect()
        try:
            yield client
        finally:
            await client.disconnect()

    # --- Connector ---------------------------------------------------------------------------

    async def _connect(self) -> None:
        client = Client(
            self.connection.endpoint, timeout=self.timeout_s, watchdog_intervall=self.watchdog_s
        )
        self._failed = asyncio.get_running_loop().create_future()
        client.connection_lost_callback = functools.partial(self._on_connection_lost, client)
        self._client = client
        try:
            await self._secure(client)
            await client.connect()
            await self._subscribe(client)
        except BaseException:
            # Connector.run only disconnects sessions that connected; this one may be half open.
            await self._disconnect()
            raise

    async def _stream(self, emit: PointSink) -> None:
        assert self._failed is not None  # set by _connect
        self._emit = emit
        early, self._early = self._early, []
        for batch in early:
            await emit(batch)
        stop = asyncio.ensure_future(self.stopping.wait())
        waiting: set[asyncio.Future[Any]] = {self._failed, stop}
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            self._emit = None
        if self._failed.done() and not self.stopping.is_set():
            raise self._failed.result()

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        self._emit = None
        self._early.clear()
        if client is not None:
            # asyncua tears a dead session down without raising; the timeout bounds a hung one.
            try:
                await asyncio.wait_for(client.disconnect(), self.timeout_s)
            except TimeoutError:
                log.warning("%s: closing the session timed out", self.name)

    async def _secure(self, client: Client) -> None:
        """Basic256Sha256 message security with the connection's certificate, accepting only a
        server whose certificate the trust list holds (asyncua checks it while creating the
        session, and the connection fails with BadCertificateUntrusted otherwise)."""
        conn = self.connection
        if conn.security_policy == "None":
            return
        assert conn.certificate and conn.private_key and conn.trusted_certs  # validated
        for what, path in (("certificate", conn.certificate), ("private_key", conn.private_key)):
            if not path.is_file():
                raise SmartfabError(f"connection {conn.name!r}: {what} {path} is not a file")
        if not conn.trusted_certs.is_dir():
            raise SmartfabError(
                f"connection {conn.name!r}: trusted_certs {conn.trusted_certs} is not a folder"
            )
        store = TrustStore([conn.trusted_certs], [])
        await store.load()
        client.certificate_validator = CertificateValidator(_SERVER_CHECKS, store)
        # The client's application URI must be the one in its certificate (OPC UA Part 4 5.4.1).
        try:
            uri = application_uri(load_certificate(conn.certificate))
        except ValueError as exc:
            raise SmartfabError(f"connection {conn.name!r}: {conn.certificate}: {exc}") from exc
        if uri:
            client.application_uri = uri
        await client.set_security(
            SecurityPolicyBasic256Sha256,
            str(conn.certificate),
            str(conn.private_key),
            mode=_MODE[conn.security_mode],
        )

    # --- setpoints ---------------------------------------------------------------------------

    async def _write_setpoint(self, path: str, signal: Signal, value: float) -> None:
        client = self._session(path)
        node = client.get_node(_node_of(signal))
        try:
            vtype = self._variant_types.get(path)
            if vtype is None:
                vtype = self._variant_types[path] = await node.read_data_type_as_variant_type()
            await node.write_value(ua.DataValue(ua.Variant(_as_type(path, value, vtype), vtype)))
        except (UaError, TimeoutError, ConnectionError) as exc:
            raise SetpointError(f"{path}: writing node {_node_of(signal)} failed: {exc}") from exc
        log.info("%s: wrote %s = %g", self.name, path, value)

    async def _read_setpoint(self, path: str, signal: Signal) -> float:
        client = self._session(path)
        try:
            value = await client.get_node(_node_of(signal)).read_value()
        except (UaError, TimeoutError, ConnectionError) as exc:
            raise SetpointError(f"{path}: reading node {_node_of(signal)} failed: {exc}") from exc
        if type(value) not in (float, int, bool):
            raise SetpointError(f"{path}: node {_node_of(signal)} holds {value!r}, not a number")
        return float(value)

    def _session(self, path: str) -> Client:
        if self._client is None:
            raise SetpointError(f"{path}: no session with {self.connection.endpoint}")
        return self._client

    # --- subscription ------------------------------------------------------------------------

    async def _subscribe(self, client: Client) -> None:
        interval = float(self.connection.publishing_interval_ms)
        keepalive = max(1, math.ceil(_KEEPALIVE_MS / interval))
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=interval,
            RequestedLifetimeCount=ua.UInt32(keepalive * 10),
            RequestedMaxKeepAliveCount=ua.UInt32(keepalive),
            MaxNotificationsPerPublish=ua.UInt32(0),
            PublishingEnabled=True,
        )
        sub = await client.uaclient.create_subscription(
            params, functools.partial(self._on_publish, client)
        )
        items = [
            ua.MonitoredItemCreateRequest(
                ItemToMonitor=ua.ReadValueId(
                    NodeId=node_id, AttributeId=ua.UInt32(AttributeIds.Value)
                ),
                MonitoringMode=ua.MonitoringMode.Reporting,
                RequestedParameters=ua.MonitoringParameters(
                    ClientHandle=ua.UInt32(handle),  # the node's position: indexes our columns
                    SamplingInterval=bound.sample_s * 1000,
                    # Enough room for every update between two publishes, so none is dropped.
                    QueueSize=ua.UInt32(
                        min(_MAX_QUEUE, math.ceil(interval / 1000 / bound.sample_s) + 1)
                    ),
                    DiscardOldest=True,
                    # By default a server reports a change of value only: a good part after a
                    # good part would be lost.
                    Filter=ua.DataChangeFilter(Trigger=ua.DataChangeTrigger.StatusValueTimestamp)
                    if bound.every_sample
                    else None,
                ),
            )
            for handle, (bound, node_id) in enumerate(zip(self.nodes, self._node_ids, strict=True))
        ]
        results: list[ua.MonitoredItemCreateResult] = []
        for chunk in _chunks(items):
            results += await client.uaclient.create_monitored_items(
                ua.CreateMonitoredItemsParameters(
                    SubscriptionId=sub.SubscriptionId,
                    ItemsToCreate=chunk,
                    TimestampsToReturn=ua.TimestampsToReturn.Both,
                )
            )
        self.node_errors.clear()
        for bound, result in zip(self.nodes, results, strict=True):
            if not result.StatusCode.is_good():
                name, doc = get_name_and_doc(result.StatusCode.value)
                problem = f"node {bound.node} cannot be read: {name} ({doc})"
                self.node_errors[bound.path] = problem
                self.status.errors += 1
                self.status.last_error = f"{bound.path}: {problem}"
                log.error("%s: %s: %s", self.name, bound.path, problem)

    async def _on_publish(self, client: Client, result: ua.PublishResult) -> None:
        if client is not self._client:  # a late answer to a session already closed
            return
        for notification in result.NotificationMessage.NotificationData or ():
            if isinstance(notification, ua.DataChangeNotification):
                for batch in self._batches(notification.MonitoredItems):
                    if self._emit is None:
                        self._early.append(batch)
                        continue
                    try:
                        await self._emit(batch)
                    except Exception as exc:  # noqa: BLE001
                        # asyncua would swallow it; make the stream fail like the sink did.
                        self._fail(exc)
                        return
            elif (
                isinstance(notification, ua.StatusChangeNotification)
                and notification.Status.value & _BAD
            ):
                name, _ = get_name_and_doc(notification.Status.value)
                self._fail(ConnectionError(f"subscription ended by the server: {name}"))

    def _batches(self, items: Sequence[ua.MonitoredItemNotification]) -> list[AnyPoints]:
        """The points of one data-change notification as columns, a batch per kind of value
        (none for a kind without points). Numbers, by far the most, take the short way."""
        rows: dict[ValueKind, _Rows] = {"number": _Rows(), "text": _Rows(), "array": _Rows()}
        numbers = rows["number"]
        handles, values, codes, stamps = (
            numbers.handles,
            numbers.values,
            numbers.codes,
            numbers.stamps,
        )
        received = now_us() / 1e6
        kinds = self._kinds
        for item in items:
            dv = item.Value
            value: Any = dv.Value.Value if dv.Value is not None else None
            code = dv.StatusCode.value if dv.StatusCode is not None else 0
            handle = item.ClientHandle
            kind = kinds[handle]
            if kind != "number":
                value = self._other(handle, kind, value, code)
                if value is None:
                    continue
                out = rows[kind]
                out.handles.append(handle)
                out.values.append(value)
                out.codes.append(code)
                ts = dv.SourceTimestamp or dv.ServerTimestamp
                out.stamps.append(ts.timestamp() if ts is not None else received)
                continue
            # (bool and an enumeration's IntEnum are ints)
            if type(value) is float or isinstance(value, int):
                values.append(float(value))
            elif value is None and code & _BAD:  # a bad value carries no value at all
                values.append(math.nan)
            else:
                self._reject(handle, value, code)
                continue
            handles.append(handle)
            codes.append(code)
            ts = dv.SourceTimestamp or dv.ServerTimestamp
            stamps.append(ts.timestamp() if ts is not None else received)
        batches: list[AnyPoints] = []
        for kind, r in rows.items():
            if not r.handles:
                continue
            index = np.array(r.handles, dtype=np.intp)
            ts_us = np.rint(np.array(r.stamps, dtype=np.float64) * 1e6).astype(np.int64)
            ids = self._ids[index]
            quality = np.minimum(np.array(r.codes, dtype=np.uint32) >> 30, 2).astype(np.uint8)
            if kind == "number":
                batches.append(PointBatch(ts_us, ids, np.array(r.values, np.float64), quality))
            elif kind == "text":
                text = np.empty(len(r.values), object)
                text[:] = r.values
                batches.append(TextBatch(ts_us, ids, text, quality))
            else:
                offsets = np.zeros(len(r.values) + 1, np.int64)
                np.cumsum([len(v) for v in r.values], out=offsets[1:])
                batches.append(ArrayBatch(ts_us, ids, np.concatenate(r.values), offsets, quality))
        return batches

    def _other(self, handle: int, kind: ValueKind, value: object, code: int) -> object:
        """A text (str) or array (float64 elements) value as its batch holds it, or None (the
        value rejected) when it is not of its signal's kind."""
        if value is None and code & _BAD:  # a bad value carries no value at all
            return "" if kind == "text" else np.empty(0)
        if kind == "text":
            if isinstance(value, ua.LocalizedText):
                return value.Text or ""
            if isinstance(value, str):
                return value
        else:
            vector = _vector(value)
            if vector is not None:
                return vector
        self._reject(handle, value, code)
        return None

    def _reject(self, handle: int, value: object, code: int) -> None:
        bound = self.nodes[handle]
        expected = _EXPECTED[bound.kind]
        self.status.extra["rejected_values"] += 1
        self.status.errors += 1
        self.status.last_error = (
            f"{bound.path}: value {_short(value)} from {bound.node} is not {expected}"
        )
        # Logged once per signal: a node of the wrong type never sends anything else.
        if handle not in self._rejected:
            self._rejected.add(handle)
            log.warning(
                "%s: %s: value %s (%s, status 0x%08X) from node %s is not %s; dropped",
                self.name, bound.path, _short(value), type(value).__name__, code, bound.node,
                expected,
            )  # fmt: skip

    async def _on_connection_lost(self, client: Client, exc: Exception) -> None:
        if client is not self._client:
            return
        self._fail(ConnectionError(f"server {self.connection.endpoint} not answering: {exc!r}"))

    def _fail(self, exc: Exception) -> None:
        if self._failed is not None and not self._failed.done():
            self._failed.set_result(exc)


async def _browse(client: Client) -> list[BrowsedVariable]:
    """Walk the hierarchy under Objects level by level, one Browse request per level."""
    found: list[tuple[ua.NodeId, str]] = []
    level: list[tuple[ua.NodeId, str]] = [(ua.NodeId(ua.Int32(ObjectIds.ObjectsFolder)), "")]
    seen: set[ua.NodeId] = set()
    while level:
        children: list[tuple[ua.NodeId, str]] = []
        results = [
            refs
            for chunk in _chunks([node for node, _ in level])
            for refs in await _browse_all(client, chunk)
        ]
        for (_, prefix), references in zip(level, results, strict=True):
            for ref in references:
                node = ua.NodeId(ref.NodeId.Identifier, ref.NodeId.NamespaceIndex)
                if node.NamespaceIndex == 0 or node in seen:
                    continue
                seen.add(node)
                path = f"{prefix}/{ref.BrowseName.Name}" if prefix else str(ref.BrowseName.Name)
                if ref.NodeClass == ua.NodeClass.Variable:
                    found.append((node, path))
                children.append((node, path))
        level = children
    types = await read_value_types(client, [node for node, _ in found])
    return [
        BrowsedVariable(node.to_string(), path, value_type)
        for (node, path), value_type in zip(found, types, strict=True)
    ]


async def _browse_all(
    client: Client, nodes: list[ua.NodeId]
) -> list[list[ua.ReferenceDescription]]:
    """Forward hierarchical references (but not properties) of ``nodes``, following
    continuation points until every reference is in."""
    descriptions = [
        ua.BrowseDescription(
            NodeId=node,
            BrowseDirection=ua.BrowseDirection.Forward,
            ReferenceTypeId=ua.NodeId(ua.Int32(ObjectIds.HierarchicalReferences)),
            IncludeSubtypes=True,
            NodeClassMask=ua.UInt32(ua.NodeClass.Object | ua.NodeClass.Variable),
            ResultMask=ua.UInt32(ua.BrowseResultMask.All),
        )
        for node in nodes
    ]
    results = await client.uaclient.browse(
        ua.BrowseParameters(NodesToBrowse=descriptions, RequestedMaxReferencesPerNode=ua.UInt32(0))
    )
    out: list[list[ua.ReferenceDescription]] = []
    for result in results:
        refs = list(result.References)
        point = result.ContinuationPoint
        while point:
            (more,) = await client.uaclient.browse_next(
                ua.BrowseNextParameters(ContinuationPoints=[point])
            )
            refs.extend(more.References)
            point = more.ContinuationPoint
        out.append([r for r in refs if r.ReferenceTypeId != _HAS_PROPERTY])
    return out


_HAS_PROPERTY = ua.NodeId(ua.Int32(ObjectIds.HasProperty))


def _node_of(signal: Signal) -> str:
    binding = signal.source.opcua
    assert binding is not None  # setpoints of an OPC UA connector are OPC UA-bound
    return binding.node


def _as_type(path: str, value: float, vtype: ua.VariantType) -> float | int | bool:
    """``value`` as the Python value of a variant of the node's type ``vtype``."""
    if vtype in _FLOAT_TYPES:
        return float(value)
    if vtype is ua.VariantType.Boolean and value in (0, 1):
        return bool(value)
    if vtype in _INTEGER_TYPES and value == round(value):
        return int(value)
    raise SetpointError(f"{path}: {value:g} cannot be written to a node of type {vtype.name}")


class _Rows:
    """The columns of one kind of value, a row per point, while a notification is read."""

    __slots__ = ("codes", "handles", "stamps", "values")

    def __init__(self) -> None:
        self.handles: list[int] = []
        self.values: list[Any] = []
        self.codes: list[int] = []
        self.stamps: list[float] = []


# What a value of each kind must be.
_EXPECTED: dict[str, str] = {
    "number": "a number",
    "text": "a text (String or LocalizedText)",
    "array": "a one-dimensional array of numbers",
}


def _vector(value: object) -> npt.NDArray[np.float64] | None:
    """An array value as float64 elements, or None when it is not a one-dimensional array of
    numbers (a scalar, a matrix, texts)."""
    if not isinstance(value, list | tuple | np.ndarray) or any(
        not isinstance(v, int | float) for v in value
    ):
        return None
    return np.asarray(value, dtype=np.float64)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _chunks(items: list[_T]) -> list[list[_T]]:
    return [items[i : i + _PER_REQUEST] for i in range(0, len(items), _PER_REQUEST)]


def _per_part(plant: Plant) -> set[str]:
    """The paths of the signals that carry one sample per part: the inspection result, the
    characteristic, the context and the material lot of the equipment's process block."""
    out: set[str] = set()
    for ref in plant.iter_equipment():
        pr = ref.equipment.process
        if pr is not None:
            names = [pr.inspection, pr.characteristic, pr.material_lot, *pr.context]
            out |= {f"{ref.path}/{n}" for n in names if n is not None}
    return out
