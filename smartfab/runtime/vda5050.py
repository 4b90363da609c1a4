"""The running server's VDA 5050 traffic: for each storage zone whose live virtual warehouse runs,
its AGVs are VDA 5050 AGVs on the fleet's MQTT broker (one client each, with a CONNECTIONBROKEN
last will; ``connection``, ``state`` and ``visualization`` once a round, twice a simulation
step; ``order`` and ``instantActions`` in) and the platform's fleet manager is the other end
(one client: the planner's routes out as ``order`` messages and the operators' pauses as
``instantActions``; every AGV's messages in, checked and counted, its states read by the fleet
manager: breakdowns, repairs and pauses reach the planner from the AGVs' own reports).

What comes in is taken at the next round, under the simulation's lock, not on the event loop; an
``instantActions`` message (to an AGV) or an operator's command (from the fleet side) brings that
round forward, so that a pause takes effect and a ``stateRequest`` is answered at once.

The broker is the fleet's MQTT ``connection`` of the plant, else 127.0.0.1:1883. A broker that is
down costs one log line and a retry with backoff; the warehouse page and the simulation go on
without it, showing ``connected: false``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiomqtt

from smartfab.devices.connector import Backoff
from smartfab.devices.vda5050.link import VdaLink
from smartfab.devices.vda5050.messages import Message, Topic
from smartfab.model.plant import AgvFleet, MqttConnection, Plant
from smartfab.virtual.warehouse.live import LiveWarehouse, LiveZones, VdaInbox

log = logging.getLogger(__name__)

WAIT_S = 1.0  # between two looks for the zone's live warehouse, before it runs
DEFAULT_BROKER = ("127.0.0.1", 1883)


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: ssl.SSLContext | None = None

    def options(self) -> dict[str, Any]:
        return {"username": self.username, "password": self.password, "tls_context": self.tls}


def broker_of(plant: Plant, fleet: AgvFleet) -> Broker:
    """The fleet's broker: its MQTT connection in the plant (host, port, credentials, TLS), else
    the virtual warehouse's own, 127.0.0.1:1883."""
    conn = next((c for c in plant.connections if c.name == fleet.connection), None)
    if not isinstance(conn, MqttConnection):
        return Broker(*DEFAULT_BROKER)
    tls = None
    if conn.tls:
        tls = ssl.create_default_context(cafile=conn.ca)
        if conn.cert is not None:
            tls.load_cert_chain(conn.cert, conn.key)
    password = conn.password.get_secret_value() if conn.password else None
    return Broker(conn.host, conn.port, conn.username, password, tls)


def _cancelled_yet() -> None:
    """Raise CancelledError if this task has been cancelled: Python 3.11's ``asyncio.wait_for``
    (under aiomqtt's publish) can swallow a cancellation that meets the acknowledgement."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class ZoneBridge:
    """One zone's AGVs and fleet manager on the broker; ``status()`` is what the snapshot shows."""

    def __init__(
        self,
        zones: LiveZones,
        path: str,
        round_s: float | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        """``round_s``: the time between rounds; by default half a simulation step, so that
        each step's order goes out and is taken before the step (the AGVs drive only onto
        released nodes)."""
        self.zones, self.path, self.round_s = zones, path, round_s
        self.backoff = backoff or Backoff(initial_s=1.0, max_s=30.0)
        self.broker: Broker | None = None
        self.connected = False
        self.online: dict[str, str] = {}  # serial -> its last connectionState, as the fleet saw
        self.orders_sent = 0
        self._fleet: VdaLink | None = None
        self._agvs: dict[str, VdaLink] = {}
        self._serials: list[str] = []
        self._inbox = VdaInbox()
        self._wake = asyncio.Event()
        self._down = False

    def status(self) -> dict[str, Any]:
        """The fleet side's counts: messages received by topic, rejected (schema) by topic, AGVs
        online; the AGV side's rejected orders and instant actions; orders sent."""
        b = self.broker
        agv_rejected: Counter[str] = Counter()
        for link in self._agvs.values():
            agv_rejected.update(link.rejected)
        return {
            "broker": f"{b.host}:{b.port}" if b else None,
            "connected": self.connected,
            "agvs": len(self._serials),
            "online": sum(self.online.get(s) == "ONLINE" for s in self._serials),
            "received": dict(self._fleet.received) if self._fleet else {},
            "rejected": dict(self._fleet.rejected) if self._fleet else {},
            "orders_sent": self.orders_sent,
            "agv_rejected": dict(agv_rejected),
        }

    async def run(self) -> None:
        """Until cancelled: wait for the zone's live warehouse to run, then bridge it; after an
        outage, again after a backoff."""
        delays = self.backoff.delays()
        while True:
            live = self.zones.running(self.path)
            if live is None:
                await asyncio.sleep(WAIT_S)
                continue
            self._fleet = None
            try:
                await self._session(live)
            except (aiomqtt.MqttError, OSError) as exc:
                if not self._down:  # one line an outage, not one a retry
                    log.warning("VDA 5050 of %s: broker %s unreachable (%s); retrying",
                                self.path, self._where(), exc)  # fmt: skip
                self._down = True
            except Exception:  # a bug must not end the bridge for good
                log.exception("VDA 5050 of %s failed", self.path)
            finally:
                self.connected = False
                live.vda5050 = self.status()
            if self._fleet is not None:  # it had connected: a new outage, backoff from the start
                delays = self.backoff.delays()
            await asyncio.sleep(delays())

    def _where(self) -> str:
        return f"{self.broker.host}:{self.broker.port}" if self.broker else "?"

    async def _session(self, live: LiveWarehouse) -> None:
        fleet = live.sim.fleet_model
        self.broker = b = broker_of(live.plant, fleet)
        self._fleet, self._agvs, self.online, self._inbox = None, {}, {}, VdaInbox()
        agvs = live.agvs
        self._serials = agvs.serials
        where = (b.host, b.port, fleet.interface, fleet.manufacturer)
        async with contextlib.AsyncExitStack() as stack:
            fleet_link = await stack.enter_async_context(
                VdaLink.open(*where, "fleet", self._at_fleet, **b.options())
            )
            if fleet.virtual_agvs:
                for serial in self._serials:
                    self._agvs[serial] = await stack.enter_async_context(
                        VdaLink.open(*where, "agv", self._at_agv, serial=serial,
                                     will=agvs.connection(serial, "CONNECTIONBROKEN"),
                                     **b.options())
                    )  # fmt: skip
            self._fleet = fleet_link
            self.connected, self._down = True, False
            log.info("VDA 5050 of %s on %s: %d virtual AGVs", self.path, self._where(),
                     len(self._agvs))  # fmt: skip
            loop = asyncio.get_running_loop()
            try:
                for serial, link in self._agvs.items():
                    await link.publish(serial, "connection", agvs.connection(serial, "ONLINE"))
                while True:
                    live = self.zones.running(self.path) or live
                    live.wake_vda5050 = functools.partial(loop.call_soon_threadsafe,
                                                          self._wake.set)  # fmt: skip
                    await self._round(live, fleet_link)
                    _cancelled_yet()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.round_s or live.sim.tick_s / 2):
                            await self._wake.wait()
                    self._wake.clear()
            finally:
                # A goodbye (the will is for vanishing without one); bounded, as the broker may
                # be what failed.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        for serial, link in self._agvs.items():
                            bye = live.agvs.connection(serial, "OFFLINE")
                            await link.publish(serial, "connection", bye)

    async def _round(self, live: LiveWarehouse, fleet_link: VdaLink) -> None:
        inbox, self._inbox = self._inbox, VdaInbox()
        out = await asyncio.to_thread(live.vda5050_round, inbox)
        for serial, topic, message in out.fleet:
            await fleet_link.publish(serial, topic, message)
            if topic == "order":
                self.orders_sent += 1
        for serial, state, vis in out.states:
            link = self._agvs.get(serial)
            if link is not None:
                await link.publish(serial, "state", state)
                await link.publish(serial, "visualization", vis)
        self._serials = out.agvs.serials
        live.vda5050 = self.status()

    # What comes in is taken at the next round, under the simulation's lock, not here on the
    # event loop.

    def _at_fleet(self, serial: str, topic: Topic, message: Message) -> None:
        if topic == "connection":
            self.online[serial] = str(message["connectionState"])
        elif topic == "state":
            self._inbox.states[serial] = message  # the latest: what it says now

    def _at_agv(self, serial: str, topic: Topic, message: Message) -> None:
        if topic == "order":
            self._inbox.orders.append((serial, message))
        elif topic == "instantActions":
            self._inbox.instant_actions.append((serial, message))
            self._wake.set()


async def run_vda5050(
    zones: LiveZones, round_s: float | None = None, backoff: Backoff | None = None
) -> None:
    """A bridge for each zone the virtual warehouse can simulate, until cancelled."""
    async with asyncio.TaskGroup() as tasks:
        for path in zones.simulated():
            tasks.create_task(ZoneBridge(zones, path, round_s, backoff).run())
