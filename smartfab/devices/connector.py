"""What every protocol connector is, and the one place where reconnection and outages are handled.

A connector subclass only knows its protocol: how to connect, how to stream batches of points while
connected, how to disconnect. ``Connector.run`` wraps that in the reconnect loop: when the device
goes away it backs off exponentially (with jitter, capped) and keeps trying.

Every outage is recorded one way, whatever the protocol, so that OEE, alarms and reports see them
alike: when it starts, the signals it silences get a BAD point without a value (a number NaN, a
text "", an array of no elements: nobody reads their last value as current) and one warning line
says what was lost, where, why and what the connector does about it; when it ends, a ``gap`` event
from its start, its value the seconds it lasted, records it. The whole connection is one source of
outages (``run`` handles it); a connector whose connection carries several independent sources
(Sparkplug edge nodes and devices behind one broker) reports theirs through ``source_lost`` and
``source_back``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from smartfab.model.plant import Signal, ValueKind
from smartfab.platform.points import (
    AnyPoints,
    ArrayBatch,
    EventBatch,
    EventKind,
    Int32Array,
    PointBatch,
    Quality,
    TextBatch,
    now_us,
)
from smartfab.platform.setpoints import SetpointError

log = logging.getLogger(__name__)

# Points of any kind: numbers, texts (string signals) and arrays (array signals).
PointSink = Callable[[AnyPoints], Awaitable[None]]
EventSink = Callable[[EventBatch], Awaitable[None]]


@dataclass
class ConnectorStatus:
    """What the API shows about a connector."""

    name: str
    protocol: str
    endpoint: str
    state: str = "stopped"  # stopped | connecting | connected | reconnecting
    connected_since_us: int | None = None
    last_data_us: int | None = None
    points: int = 0
    errors: int = 0
    gaps: int = 0
    last_error: str = ""
    signals: int = 0
    extra: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff between reconnection attempts."""

    initial_s: float = 0.2
    factor: float = 2.0
    max_s: float = 10.0
    jitter: float = 0.2  # +- fraction, so that many connectors do not retry in lock-step

    def delays(self) -> Callable[[], float]:
        current = self.initial_s

        def next_delay() -> float:
            nonlocal current
            d = current * (1 + random.uniform(-self.jitter, self.jitter))
            current = min(current * self.factor, self.max_s)
            return d

        return next_delay


def quiet_library(*loggers: str) -> None:
    """Demote what the named loggers of a protocol library log to DEBUG. On a lost connection
    such libraries log errors, often with a traceback, that only repeat, less clearly, the one
    line the connector logs per outage; at DEBUG they stay there for whoever digs deeper."""
    for name in loggers:
        logger = logging.getLogger(name)
        if _demote not in logger.filters:
            logger.addFilter(_demote)


def _demote(record: logging.LogRecord) -> bool:
    if record.levelno > logging.DEBUG:
        # The logger let the record through at its first level; as a DEBUG record it goes on
        # only where DEBUG is wanted, or every handler would print it labelled DEBUG.
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        if record.exc_info:  # the traceback goes into the debug line's text, once
            record.msg = f"{record.getMessage()} ({record.exc_info[1]!r})"
            record.args, record.exc_info, record.exc_text = None, None, None
    return True


@dataclass(frozen=True, slots=True)
class Outage:
    """A source of data that is lost: the connection itself, or a part of what it carries."""

    what: str  # e.g. "modbus connection 'plc' to modbus://10.0.0.5:502/1", "Sparkplug device g/e/d"
    start_us: int
    why: str


_CONNECTION = ""  # the key of the connection's own outage


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A signal whose binding does not fit what the live device holds (``Connector.check``)."""

    path: str  # the signal's plant path
    where: str  # what it is bound to: a node id, registers of a unit
    problem: str  # why it does not fit: the declared type against the device's
    field: str = "source"  # the signal's field at fault: its source, type or unit


@dataclass(frozen=True, slots=True)
class SignalIds:
    """Signal ids by the kind of value they carry, so that an outage marks every kind BAD in a
    batch of its own. Plain ids, where a connector gives them, are ids of number signals."""

    number: Int32Array
    text: Int32Array
    array: Int32Array

    @classmethod
    def of(cls, ids: npt.ArrayLike, kinds: Sequence[ValueKind] | None = None) -> SignalIds:
        """The ``ids`` sorted by their ``kinds`` (one per id; None: all numbers)."""
        every = np.asarray(ids, dtype=np.int32).reshape(-1)
        if kinds is None:
            return cls(every, every[:0], every[:0])
        kind = np.asarray(kinds, dtype=object)
        if kind.shape != every.shape:
            raise ValueError(f"{every.shape[0]} signal ids but {kind.shape[0]} kinds")
        return cls(every[kind == "number"], every[kind == "text"], every[kind == "array"])

    def __len__(self) -> int:
        return int(self.number.shape[0] + self.text.shape[0] + self.array.shape[0])


class Connector(ABC):
    """A protocol connector. Subclasses implement ``_connect``, ``_stream``, ``_disconnect`` and
    ``signal_ids``."""

    protocol: str = ""

    def __init__(self, name: str, endpoint: str, backoff: Backoff | None = None) -> None:
        self.status = ConnectorStatus(name=name, protocol=self.protocol, endpoint=endpoint)
        self.backoff = backoff or Backoff()
        self._stopping = asyncio.Event()
        # The writable signals (plant path -> signal) of this connection: subclasses that can
        # write fill it in from_plant.
        self.setpoints: dict[str, Signal] = {}
        # Set by the runtime: called right after a batch went to the bus, it returns what
        # completes once that batch is stored. Connectors whose source redelivers what is not
        # acknowledged (MQTT QoS >= 1) acknowledge only then; the others need not use it.
        self.stored: Callable[[], Awaitable[None]] | None = None
        self.outages: dict[str, Outage] = {}  # open outages by source ("": the connection)
        self._points: PointSink | None = None
        self._events: EventSink | None = None

    @property
    def name(self) -> str:
        return self.status.name

    @property
    @abstractmethod
    def signal_ids(self) -> npt.ArrayLike | SignalIds:
        """The ids of every signal this connector delivers (those a lost connection silences), by
        kind where any of them is not a number."""

    # --- setpoints: the checks are here, once; subclasses only speak their protocol ----------

    async def write(self, path: str, value: float) -> None:
        """Write ``value`` to the writable signal at ``path`` over the connector's session.

        Raises SetpointError, without touching the device, for a signal this connector cannot
        write, a value the plant file does not allow, or while the device is not connected."""
        signal = self._setpoint(path)
        problem = signal.setpoint_problem(value)
        if problem is not None:
            raise SetpointError(f"{path}: {problem}")
        await self._write_setpoint(path, signal, value)

    async def read(self, path: str) -> float:
        """The current value of the writable signal at ``path``, read from the device now."""
        return await self._read_setpoint(path, self._setpoint(path))

    def _setpoint(self, path: str) -> Signal:
        signal = self.setpoints.get(path)
        if signal is None:
            raise SetpointError(
                f"{path}: not a writable signal of connection {self.name!r} "
                "(writable: true in the plant file allows writing it)"
            )
        if self.status.state != "connected":
            raise SetpointError(f"{path}: connection {self.name!r} is {self.status.state}")
        return signal

    async def check(self) -> list[Mismatch]:
        """Every signal of this connector whose binding does not fit what the device holds
        (a node of another type or missing, registers the device does not have), found over a
        session of its own; raises OSError, TimeoutError or ConnectionError when the device
        cannot be reached."""
        raise NotImplementedError(f"{self.protocol} connections cannot be checked live")

    async def _write_setpoint(self, path: str, signal: Signal, value: float) -> None:
        raise SetpointError(f"{path}: {self.protocol} connectors cannot write")

    async def _read_setpoint(self, path: str, signal: Signal) -> float:
        raise SetpointError(f"{path}: {self.protocol} connectors cannot read on demand")

    @abstractmethod
    async def _connect(self) -> None:
        """Open the session; raise on failure."""

    @abstractmethod
    async def _stream(self, emit: PointSink) -> None:
        """Deliver batches to ``emit`` until the connection fails (raise) or ``stopping`` is set
        (return)."""

    @abstractmethod
    async def _disconnect(self) -> None:
        """Close the session; must not raise."""

    @property
    def stopping(self) -> asyncio.Event:
        return self._stopping

    async def run(self, points: PointSink, events: EventSink) -> None:
        """Connect, stream, and reconnect until ``stop`` is called.

        An outage ends when data flows again, not when a socket opens: a device that accepts
        connections and drops them at once stays in one outage (one gap event, backoff growing)
        instead of a gap event per attempt."""
        status = self.status
        self._points, self._events = points, events
        next_delay = self.backoff.delays()

        async def emit(batch: AnyPoints) -> None:
            nonlocal next_delay
            status.points += len(batch)
            status.last_data_us = now_us()
            if _CONNECTION in self.outages:
                await self._outage_over(_CONNECTION, status.last_data_us)
                next_delay = self.backoff.delays()
            await points(batch)

        try:
            while not self._stopping.is_set():
                status.state = "reconnecting" if _CONNECTION in self.outages else "connecting"
                try:
                    await self._connect()
                except Exception as exc:  # noqa: BLE001
                    # Any failure to connect is retried: a device that is down says so in many
                    # ways.
                    status.errors += 1
                    status.last_error = f"connect: {exc}"
                    await self._connection_lost(f"cannot connect: {_reason(exc)}")
                    await self._sleep(next_delay())
                    continue
                status.state = "connected"
                status.connected_since_us = now_us()
                try:
                    await self._stream(emit)
                except asyncio.CancelledError:
                    await self._disconnect()
                    raise
                except Exception as exc:  # noqa: BLE001
                    status.errors += 1
                    status.last_error = f"stream: {exc}"
                    await self._connection_lost(f"lost: {_reason(exc)}")
                await self._disconnect()
                status.connected_since_us = None
                if _CONNECTION in self.outages and not self._stopping.is_set():
                    await self._sleep(next_delay())
            # Stopped during outages: record them up to now, so that none is left unrecorded.
            for key in list(self.outages):
                await self._outage_over(key, now_us(), still=True)
        finally:
            status.state = "stopped"

    def stop(self) -> None:
        self._stopping.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    # --- outages: recorded here, alike for every protocol ------------------------------------

    @property
    def redelivers(self) -> bool:
        """Whether what the source sends while the connection is down arrives once it is back (an
        MQTT session the broker keeps): then a lost connection loses no data, and its signals are
        not marked BAD (they would be wrong between the values that come later)."""
        return False

    async def _connection_lost(self, why: str) -> None:
        if _CONNECTION not in self.outages:
            what = f"{self.protocol} connection {self.name!r} to {self.status.endpoint}"
            if self.redelivers:
                action = "reconnecting; the broker keeps what arrives meanwhile"
                await self.source_lost(_CONNECTION, what, why, [], action)
            else:
                await self.source_lost(_CONNECTION, what, why, self.signal_ids, "reconnecting")

    async def source_lost(
        self,
        key: str,
        what: str,
        why: str,
        signal_ids: npt.ArrayLike | SignalIds,
        action: str,
        ts_us: int | None = None,
    ) -> None:
        """``what`` (a source of data, ``key`` among this connector's) is lost since ``ts_us``
        (default: now) because ``why``: its signals ``signal_ids`` are marked BAD, and one line
        logged saying so and the connector's ``action``. Nothing happens for a source already
        lost: an outage is recorded once however often the source fails meanwhile."""
        if key in self.outages:
            return
        ts = now_us() if ts_us is None else ts_us
        self.outages[key] = Outage(what, ts, why)
        ids = signal_ids if isinstance(signal_ids, SignalIds) else SignalIds.of(signal_ids)
        log.warning("%s: %s %s; %d signals marked bad; %s", self.name, what, why, len(ids), action)
        if self._points is not None:
            for batch in _bad(ids, ts):
                await self._points(batch)

    async def source_back(self, key: str, ts_us: int | None = None) -> None:
        """The source ``key`` delivers again (since ``ts_us``, default now): its outage is
        recorded as a gap event."""
        if key in self.outages:
            await self._outage_over(key, now_us() if ts_us is None else ts_us)

    async def _outage_over(self, key: str, end_us: int, still: bool = False) -> None:
        outage = self.outages.pop(key)
        seconds = max(0, end_us - outage.start_us) / 1e6
        self.status.gaps += 1
        ending = "still lost when the connector stopped" if still else "back"
        log.info("%s: %s %s after %.1f s", self.name, outage.what, ending, seconds)
        if self._events is not None:
            await self._events(
                EventBatch.of(
                    ts=outage.start_us,
                    equipment=f"connector:{self.name}",
                    kind=EventKind.GAP,
                    code="connection_lost",
                    value=seconds,
                    detail=f"{outage.what} {outage.why}; {ending} after {seconds:.1f} s",
                )
            )


def _bad(ids: SignalIds, ts_us: int) -> list[AnyPoints]:
    """A BAD point at ``ts_us`` for every signal of ``ids`` (each once), a batch per kind."""
    batches: list[AnyPoints] = []
    number, text, array = (np.unique(i) for i in (ids.number, ids.text, ids.array))
    if number.shape[0]:
        batches.append(PointBatch.of(ts_us, number, np.full(number.shape[0], np.nan), Quality.BAD))
    if text.shape[0]:
        batches.append(TextBatch.of(ts_us, text, [""] * text.shape[0], Quality.BAD))
    if array.shape[0]:
        empty = np.empty((array.shape[0], 0), np.float64)
        batches.append(ArrayBatch.of(ts_us, array, empty, Quality.BAD))
    return batches


def _reason(exc: BaseException) -> str:
    """An exception as one line for the log: its message, or its kind when it has none."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__
