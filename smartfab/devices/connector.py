"""What every protocol connector is, and the one place where reconnection happens.

A connector subclass only knows its protocol: how to connect, how to stream batches of points while
connected, how to disconnect. ``Connector.run`` wraps that in the reconnect loop: when the device
goes away it backs off exponentially (with jitter, capped), keeps trying, and when the device is
back it emits a ``gap`` event covering the time no data could be read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from smartfab.model.plant import Signal
from smartfab.platform.points import EventBatch, EventKind, PointBatch, now_us
from smartfab.platform.setpoints import SetpointError

log = logging.getLogger(__name__)

PointSink = Callable[[PointBatch], Awaitable[None]]
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


class Connector(ABC):
    """A protocol connector. Subclasses implement ``_connect``, ``_stream`` and ``_disconnect``."""

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

    @property
    def name(self) -> str:
        return self.status.name

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
        lost_at: int | None = None
        reason = ""
        next_delay = self.backoff.delays()

        async def emit(batch: PointBatch) -> None:
            nonlocal lost_at, next_delay
            status.points += len(batch)
            status.last_data_us = now_us()
            if lost_at is not None:
                await events(self._gap_event(lost_at, status.last_data_us, reason))
                lost_at, next_delay = None, self.backoff.delays()
            await points(batch)

        while not self._stopping.is_set():
            status.state = "connecting" if lost_at is None else "reconnecting"
            try:
                await self._connect()
            except Exception as exc:  # noqa: BLE001
                # Any failure to connect is retried: a device that is down says so in many ways.
                status.errors += 1
                status.last_error = f"connect: {exc!r}"
                if lost_at is None:
                    lost_at, reason = now_us(), f"connect failed: {exc}"
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
                status.last_error = f"stream: {exc!r}"
                if lost_at is None:
                    lost_at, reason = now_us(), f"connection lost: {exc}"
                log.warning("%s: %s; reconnecting", self.name, status.last_error)
            await self._disconnect()
            status.connected_since_us = None
            if lost_at is not None and not self._stopping.is_set():
                await self._sleep(next_delay())
        status.state = "stopped"

    def stop(self) -> None:
        self._stopping.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    def _gap_event(self, start_us: int, end_us: int, reason: str) -> EventBatch:
        """The outage from ``start_us`` until data flowed again at ``end_us``."""
        self.status.gaps += 1
        return EventBatch.of(
            ts=start_us,
            equipment=f"connector:{self.name}",
            kind=EventKind.GAP,
            code="connection_lost",
            value=(end_us - start_us) / 1e6,
            detail=f"{reason}; reconnected after {(end_us - start_us) / 1e6:.1f} s",
        )
