"""Setpoint writes: the one audited path from a person (or a script's token) to a value written on
a device.

``write_setpoint`` checks the plant file allows the value (a writable signal, inside its range),
reads the value the device holds now, writes the new one through the signal's running connector,
reads it back, and records who changed what from which value to which in the audit log. A refused
or failed write changes nothing on the device and raises ``SetpointError`` with the reason; it is
recorded in the audit log too, so that attempts are as traceable as changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from smartfab.errors import SmartfabError
from smartfab.model.plant import Plant, SignalRef
from smartfab.platform.security.audit import AuditLog

log = logging.getLogger(__name__)

WRITE = "setpoint.write"
REFUSED = "setpoint.refused"


class SetpointError(SmartfabError):
    """A setpoint write refused (unknown or non-writable signal, value out of range, device not
    connected) or failed on the device. Defined here, where setpoints are the platform's concept;
    connectors raise it for what their devices refuse."""


class UnknownSignalError(SetpointError):
    """No signal of the plant has that path."""


class _Writer(Protocol):
    """What a connector offers for setpoints (``smartfab.devices.connector.Connector``)."""

    async def read(self, path: str) -> float: ...

    async def write(self, path: str, value: float) -> None: ...


@runtime_checkable
class SetpointTarget(Protocol):
    """The running ingestion (``smartfab.runtime.ingestion.Ingestion``): the plant and its
    connectors."""

    @property
    def plant(self) -> Plant: ...

    @property
    def connectors(self) -> Mapping[str, _Writer]: ...


@dataclass(frozen=True, slots=True)
class SetpointWritten:
    signal: str
    old: float
    new: float  # read back from the device after the write
    unit: str
    user: str
    audit_seq: int


async def write_setpoint(
    ingestion: SetpointTarget, signal_path: str, value: float, user: str, audit: AuditLog
) -> SetpointWritten:
    """Write ``value`` to the writable signal at ``signal_path`` on its device, as ``user``;
    raises SetpointError (UnknownSignalError for a path the plant lacks) when it may not or
    could not be written."""
    try:
        ref = _signal(ingestion.plant, signal_path)
        problem = ref.signal.setpoint_problem(value)
        if problem is not None:
            raise SetpointError(f"{signal_path}: {problem}")
        connection = ref.signal.source.connection
        connector = ingestion.connectors.get(connection or "")
        if connector is None:
            raise SetpointError(f"{signal_path}: connector {connection!r} is not running")
        old = await connector.read(signal_path)
        await connector.write(signal_path, value)
        new = await connector.read(signal_path)
    except SmartfabError as exc:
        # Every device connector error is a SmartfabError (SetpointError included).
        await asyncio.to_thread(
            audit.record, user, REFUSED, signal_path, None, {"value": value, "reason": str(exc)}
        )
        log.warning("setpoint: %s refused for %s: %s", signal_path, user, exc)
        if isinstance(exc, SetpointError):
            raise
        raise SetpointError(str(exc)) from exc
    entry = await asyncio.to_thread(
        audit.record, user, WRITE, signal_path, {"value": old}, {"value": new}
    )
    log.info("setpoint: %s changed %s from %g to %g", user, signal_path, old, new)
    return SetpointWritten(signal_path, old, new, ref.signal.unit, user, entry.seq)


def _signal(plant: Plant, path: str) -> SignalRef:
    path = path.strip("/")
    for ref in plant.iter_signals():
        if ref.path == path:
            return ref
    raise UnknownSignalError(f"{path}: no such signal in the plant")


__all__ = ["SetpointError", "SetpointWritten", "UnknownSignalError", "write_setpoint"]
