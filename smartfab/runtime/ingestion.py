"""The running data path of one smartfab process: connectors -> bus -> writer -> store, and the
alarm engine evaluating the same batches.

Connector settings come from the plant file, overlaid with the changes made at run time (API
``PATCH /api/connectors/{name}``), which are kept in the store so that they survive a restart.

The bus has one consumer, the writer. The alarm engine gets its own copy of every batch through
:class:`_TeeBus`, which publishes each batch on the bus and then on the engine's intake: so both
see the same batches in the same order, the writer never waits for the engine's reading, and a
failed engine is skipped rather than left to stop ingestion.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable
from typing import Any

from pydantic import ValidationError

from smartfab.apps.monitoring.alarms.engine import AlarmEngine
from smartfab.apps.monitoring.alarms.notify import NotifySettings
from smartfab.devices.connector import Connector, ConnectorStatus
from smartfab.devices.modbus.connector import ModbusConnector
from smartfab.devices.mqtt.connector import MqttConnector
from smartfab.devices.opcua.connector import OpcUaConnector
from smartfab.errors import SmartfabError
from smartfab.model.plant import Plant
from smartfab.platform.bus import Bus, BusClosedError
from smartfab.platform.catalog import register_plant
from smartfab.platform.derive import EventDeriver
from smartfab.platform.ingest import Writer
from smartfab.platform.points import AnyPoints, PointBatch
from smartfab.platform.quality import QualityRules
from smartfab.platform.store.base import Store

log = logging.getLogger(__name__)

CONNECTORS: dict[str, type[OpcUaConnector] | type[ModbusConnector] | type[MqttConnector]] = {
    "opcua": OpcUaConnector,
    "modbus": ModbusConnector,
    "mqtt": MqttConnector,
}
_SETTING = "connector:{}"


class ConfigError(SmartfabError):
    """A connector change that the connection's schema does not accept."""


class _TeeBus(Bus):
    """The bus, also handing every acknowledged point batch to the alarm engine while it runs."""

    def __init__(self, alarms: AlarmEngine) -> None:
        super().__init__()
        self._alarms = alarms

    # Only numbers: the rules read signals of one number (state and fault registers included);
    # texts and arrays (string and array signals) have no alarms, and the events on the bus
    # (connector gaps, simulator ground truth) feed no rule.
    async def publish_points(self, batch: AnyPoints) -> None:
        await super().publish_points(batch)
        if isinstance(batch, PointBatch) and self._alarms.running:
            # The engine may stop between the check and the publish; its batch is then moot.
            with contextlib.suppress(BusClosedError):
                await self._alarms.intake.publish_points(batch)


class Ingestion:
    """Owns the bus, the writer, the alarm engine and one task per enabled connector."""

    def __init__(
        self,
        plant: Plant,
        store: Store,
        *,
        notify: NotifySettings | None = None,
        **writer_options: Any,
    ) -> None:
        """``notify``: where alarm notifications go (none by default)."""
        self.plant = plant
        self.store = store
        self.signal_ids = register_plant(store, plant)
        self.alarms = AlarmEngine(plant, store, self.signal_ids, notify=notify)
        self.bus: Bus = _TeeBus(self.alarms)
        self.writer = Writer(
            self.bus,
            store,
            EventDeriver.from_plant(plant, self.signal_ids),
            quality=QualityRules.from_plant(plant, self.signal_ids),
            **writer_options,
        )
        self.connectors: dict[str, Connector] = {}
        self._disabled: dict[str, ConnectorStatus] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._reading = False  # the connectors run (not a history import)
        # One change at a time: two overlapping restarts of a connector would leave one running
        # untracked.
        self._configuring = asyncio.Lock()

    async def start(self, connectors: bool = True) -> None:
        """Start the writer and, unless ``connectors`` is False (history imports), every
        connector the plant declares and smartfab has a connector for. Without connectors, the
        alarm engine judges history: no wall-clock timer (stale data, shelving expiry)."""
        await self.alarms.start(live=connectors)
        await self.writer.start()
        self._reading = connectors
        if connectors:
            for conn in self.plant.connections:
                if conn.protocol in CONNECTORS:
                    self._launch(conn.name)

    async def stop(self) -> None:
        """Stop every connector, then store everything the bus acknowledged and evaluate its
        alarms."""
        for name in list(self._tasks):
            await self._halt(name)
        try:
            await self.writer.stop()
        finally:
            await self.alarms.stop()

    async def apply_plant(self, plant: Plant) -> None:
        """Run an edited plant from now on, without a restart: its new signals registered, its
        events, quality rules and alarms applied from the next batch on, and each connector whose
        connection or signals changed restarted (a new connection's started, a removed one's
        stopped); the other connectors go on undisturbed."""
        async with self._configuring:
            old = _bindings(self.plant)
            ids = await asyncio.to_thread(register_plant, self.store, plant)
            await self.writer.use_rules(
                EventDeriver.from_plant(plant, ids), QualityRules.from_plant(plant, ids)
            )
            await self.alarms.reload(plant, ids)
            self.plant, self.signal_ids = plant, ids
            new = _bindings(plant)
            for name in [n for n in old if old[n] != new.get(n)]:
                await self._halt(name)
                self._disabled.pop(name, None)
            if self._reading:
                for name in [n for n in new if new[n] != old.get(n)]:
                    if plant.connection(name).protocol in CONNECTORS:
                        self._launch(name)

    # --- connectors --------------------------------------------------------------------------
    def overrides(self, name: str) -> dict[str, Any]:
        stored = self.store.get_setting(_SETTING.format(name))
        return dict(json.loads(stored)) if stored else {}

    def _plant_with(self, name: str, changes: dict[str, Any]) -> Plant:
        """The plant with connection ``name`` changed; raises ConfigError if the result is not a
        valid connection."""
        conn = self.plant.connection(name)
        try:
            new = type(conn).model_validate({**conn.model_dump(), **changes})
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise ConfigError(
                f"connector {name!r}: {field} = {first.get('input')!r}: {first['msg']}"
            ) from exc
        conns = [new if c.name == name else c for c in self.plant.connections]
        return self.plant.model_copy(update={"connections": conns})

    def _launch(self, name: str) -> None:
        changes = self.overrides(name)
        enabled = changes.pop("enabled", True)
        conn = self.plant.connection(name)
        if not enabled:
            self._disabled[name] = ConnectorStatus(
                name=name, protocol=conn.protocol, endpoint="", state="disabled"
            )
            return
        plant = self._plant_with(name, changes)
        connector = CONNECTORS[conn.protocol].from_plant(plant, name, self.signal_ids)
        connector.stored = self._stored_so_far
        self.connectors[name] = connector
        self._disabled.pop(name, None)
        self._tasks[name] = asyncio.create_task(
            connector.run(self.bus.publish_points, self.bus.publish_events),
            name=f"connector-{name}",
        )

    def _stored_so_far(self) -> Awaitable[None]:
        """Completes once everything published on the bus until now is stored."""
        return self.writer.stored(self.bus.published_batches)

    async def _halt(self, name: str) -> None:
        connector, task = self.connectors.pop(name, None), self._tasks.pop(name, None)
        if connector is None or task is None:
            return
        connector.stop()
        try:
            await asyncio.wait_for(task, timeout=10)
        except TimeoutError:
            log.warning("connector %s did not stop within 10 s; cancelled", name)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def connector_status(self) -> list[ConnectorStatus]:
        live = [c.status for c in self.connectors.values()]
        return sorted([*live, *self._disabled.values()], key=lambda s: s.name)

    async def configure_connector(self, name: str, changes: dict[str, Any]) -> ConnectorStatus:
        """Apply ``changes`` (enabled, endpoint, host, port, poll_ms, publishing_interval_ms) to
        connector ``name``, keep them in the store and restart the connector with them."""
        conn = self.plant.connection(name)  # KeyError for an unknown connector
        if conn.protocol not in CONNECTORS:
            raise ConfigError(f"connector {name!r}: no {conn.protocol} connector in this version")
        async with self._configuring:
            merged = {**self.overrides(name), **changes}
            self._plant_with(name, {k: v for k, v in merged.items() if k != "enabled"})
            await asyncio.to_thread(
                self.store.set_setting, _SETTING.format(name), json.dumps(merged, sort_keys=True)
            )
            await self._halt(name)
            self._launch(name)
            if name in self.connectors:
                return self.connectors[name].status
            return self._disabled[name]


def _bindings(plant: Plant) -> dict[str, tuple[object, ...]]:
    """Per connection, what its connector is built from: the connection and its signals."""
    out: dict[str, tuple[object, ...]] = {c.name: (c,) for c in plant.connections}
    for ref in plant.iter_signals():
        name = ref.signal.source.connection
        if name in out:
            out[name] += ((ref.path, ref.signal),)
    return out
