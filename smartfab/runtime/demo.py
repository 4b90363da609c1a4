"""The whole platform on the virtual plant: history backfilled first, then the virtual plant live
behind real OPC UA and Modbus TCP servers in its own process, and the server reading it."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from smartfab.config import DEMO_PLANT, Settings
from smartfab.errors import SmartfabError
from smartfab.model.plant import ModbusConnection, OpcUaConnection, Plant
from smartfab.platform.points import now_us
from smartfab.platform.security import Security
from smartfab.platform.security.audit import AuditLog
from smartfab.platform.setpoints import WRITE
from smartfab.platform.store.base import Store
from smartfab.runtime.backfill import DAY_US, newest_us, run_backfill
from smartfab.runtime.output import Output
from smartfab.runtime.serve import serve_until_stopped
from smartfab.virtual.calendar import worked_days_start
from smartfab.virtual.process_sim import Written
from smartfab.virtual.runner import RunnerProcess


def editable_plant(s: Settings, out: Output) -> Settings:
    """The demo's plant file: with the built-in demo plant, a copy of it in the data folder (made
    on the first start), so that the web app's plant model and commissioning pages can edit it;
    the installed package's own file is never edited."""
    if s.plant.resolve() != DEMO_PLANT.resolve():
        return s
    copy = s.data_dir / "plant.yaml"
    if not copy.exists():
        s.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DEMO_PLANT, copy)
        out.say(f"plant file: {copy} (a copy of the built-in demo plant, edited by the web app)")
    return s.model_copy(update={"plant": copy})


def check_free(host: str, port: int, what: str) -> None:
    """Fail now, not after the backfill, when a port the demo needs is taken."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SmartfabError(
                f"{what} needs {host}:{port}, which is in use ({exc.strerror}); stop what uses "
                "it, or run with a plant file (--plant) or --port that moves it"
            ) from None


def setpoints_written(audit: AuditLog) -> list[Written]:
    """Every setpoint written through the audited path, oldest first: what the virtual devices
    keep over a restart, as a PLC keeps its setpoints."""
    return [
        Written(e.ts_us, e.target, float(e.after["value"]))
        for e in audit.entries(limit=2**31 - 1, action=WRITE)
    ]


def history_start(
    plant: Plant, newest: int | None, end_us: int, days: float | None, worked_days: int
) -> int:
    """Where the demo's backfill up to ``end_us`` starts: ``days`` before it, or else at the first
    shift of the last ``worked_days`` days the virtual plant worked (a weekend holds no
    production); after the ``newest`` stored point, when an earlier demo stored history."""
    if days is None:
        try:
            zone = ZoneInfo(plant.site.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SmartfabError(
                f"site {plant.site.name}: unknown timezone {plant.site.timezone!r}"
            ) from None
        wanted = worked_days_start(zone, end_us, worked_days)
    else:
        wanted = end_us - int(days * DAY_US)
    return max(wanted, (newest or 0) + 1_000_000)


async def run_demo(
    s: Settings,
    plant: Plant,
    store: Store,
    sec: Security,
    days: float | None,
    worked_days: int,
    host: str,
    port: int,
    out: Output,
) -> None:
    """Backfill history up to now (see :func:`history_start`) while the virtual plant's own
    process replays the same, then serve it live until stopped."""
    check_free(host, port, "the API")
    for conn in plant.connections:
        if isinstance(conn, OpcUaConnection):
            url = urlparse(conn.endpoint)
            check_free(url.hostname or "127.0.0.1", url.port or 4840, f"OPC UA {conn.name}")
        elif isinstance(conn, ModbusConnection):
            check_free(conn.host, conn.port, f"Modbus {conn.name}")
    now = now_us()
    start = history_start(plant, newest_us(store), now, days, worked_days)
    # The devices' own factory replays the same history (same seed, same start) in its process
    # while this one stores it, so the live values continue the stored history seamlessly.
    # Both keep what was written through the audited path before: a restart does not set the
    # machines back to their nominal settings.
    writes = setpoints_written(sec.audit)
    devices = RunnerProcess(s.plant, seed=s.seed, start_us=start, writes=writes)
    # The replay costs about 1.3 s of CPU a day, but it shares the CPU with the backfill (and on
    # a busy machine with more): 4 days took over 80 s. The limit is only for a child that hangs;
    # one that fails exits, and is reported at once.
    replay_s = 300 + 30 * (now - start) / DAY_US
    ready = asyncio.create_task(asyncio.to_thread(devices.start, replay_s))
    try:
        if start < now:
            await run_backfill(plant, store, s.seed, start, None, out, writes)
        endpoints = await ready
        out.say(
            "virtual factory: OPC UA "
            + ", ".join(endpoints.get("opcua", []))
            + "; Modbus TCP "
            + ", ".join(endpoints.get("modbus", []))
        )
        out.say(f"log in at http://{host}:{port}/login.html")
        # With the settings, as `serve` runs: models kept in <data-dir>/models, and the periodic
        # assessment, whose first round trains them in the background once the API serves.
        await serve_until_stopped(plant, store, host, port, s, security=sec, out=out)
    finally:
        with contextlib.suppress(Exception):  # its own error, if any, was raised above
            await ready
        devices.stop()
