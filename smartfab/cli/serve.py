"""`smartfab serve`: connectors of the plant file, ingestion and the API in one process."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from smartfab.cli.common import ConfigOpt, DataDirOpt, PlantOpt, console, plant_and_store, settings

if TYPE_CHECKING:  # the heavy modules are imported when a command runs, so --help is instant
    from smartfab.config import Settings
    from smartfab.model.plant import Plant
    from smartfab.platform.security import Security
    from smartfab.platform.store.base import Store

PortOpt = Annotated[int | None, typer.Option("--port", help="API port [default: 8080].")]
HostOpt = Annotated[str | None, typer.Option("--host", help="API address [default: 127.0.0.1].")]


def open_security(s: Settings) -> Security:
    """The security database next to the store. On the very first start it holds no user: then
    ``admin`` is created with a generated password, printed this once (there is no default
    password to forget to change)."""
    from smartfab.platform.security import Security, security_file

    sec = Security(security_file(s))
    password = sec.users.ensure_admin()
    if password is not None:
        console.print(
            "[bold]first start: created the user admin with the password "
            f"[green]{password}[/green][/bold]\nit is shown only this once: keep it safe, or "
            "set another with `smartfab users passwd admin`",
            highlight=False,
            soft_wrap=True,
        )
    return sec


async def serve_until_stopped(
    plant: Plant,
    store: Store,
    host: str,
    port: int,
    s: Settings | None = None,
    *,
    security: Security,
) -> None:
    """Run connectors, ingestion (with alarms) and the API (logins and tokens of ``security``)
    until SIGINT/SIGTERM, and scheduled reports and the periodic maintenance assessment when
    ``s`` asks for them; then stop the connectors and store everything they delivered before
    returning."""
    from smartfab.apps.maintenance.fleet import FleetAssessor
    from smartfab.apps.maintenance.registry import ModelRegistry
    from smartfab.apps.maintenance.schedule import AssessmentSchedule, run_assessment_schedule
    from smartfab.apps.maintenance.workorders import WorkOrders
    from smartfab.apps.monitoring.alarms.notify import NotifySettings
    from smartfab.apps.monitoring.report_schedule import ReportSchedule, run_report_schedule
    from smartfab.platform.queries import PlantData
    from smartfab.runtime import Ingestion
    from smartfab.web.api import create_app
    from smartfab.web.server import ApiServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    notify = s.section("alarm_notify", NotifySettings) if s is not None else None
    schedule = s.section("reports", ReportSchedule) if s is not None else None
    assessment = s.section("assessment", AssessmentSchedule) if s is not None else None
    ingestion = Ingestion(plant, store, notify=notify)
    reports = (
        asyncio.create_task(run_report_schedule(store, plant, schedule, notify))
        if schedule is not None and schedule.folder is not None
        else None
    )
    data = PlantData(store, plant)
    models_dir = s.data_dir / "models" if s is not None else None
    # The periodic assessment and the API share the assessor (one model cache) and the work
    # orders (an order it raises is the planner's at once).
    assessor = FleetAssessor(data, ModelRegistry(models_dir)) if models_dir is not None else None
    orders = WorkOrders(store)
    assessing = None
    api = ApiServer(
        create_app(
            data,
            ingestion,
            security=security,
            models_dir=models_dir,
            assessor=assessor,
            orders=orders,
        ),
        host,
        port,
        cert=s.tls_cert if s else None,
        key=s.tls_key if s else None,
    )
    try:
        await ingestion.start()
        await api.start()
        if assessment is not None and assessment.enabled and assessor is not None:
            # Once ingestion runs: its alarm engine raises the predicted-failure alarms.
            assessing = asyncio.create_task(
                run_assessment_schedule(assessor, orders, ingestion.alarms, assessment)
            )
        console.print(
            f"[green]smartfab is running[/green]: web app {api.url}/  API {api.url}/api  "
            f"docs {api.url}/docs\n"
            f"connectors: {', '.join(s.name for s in ingestion.connector_status()) or 'none'}\n"
            "press Ctrl-C to stop (everything received is stored first)"
        )
        await stop.wait()
    finally:
        for task in (reports, assessing):
            if task is not None:
                task.cancel()
        console.print("stopping: connectors, then flushing to the store ...")
        await ingestion.stop()
        await api.stop()
        st = ingestion.writer.stats
        rejected = sum(st.rejected.values())
        console.print(
            f"received {st.points_in:,} points this run: stored {st.points_stored:,}, "
            f"already stored {st.points_already_stored:,}, rejected {rejected:,}; "
            f"{st.events_stored:,} events stored"
        )


def serve(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
) -> None:
    """Connect to the devices of the plant file, store their data and serve the API until
    Ctrl-C. For a first look without a plant, use `smartfab demo`."""
    s = settings(config, data_dir, plant)
    with plant_and_store(s) as (the_plant, store), open_security(s) as sec:
        asyncio.run(
            serve_until_stopped(
                the_plant, store, host or s.api_host, port or s.api_port, s, security=sec
            )
        )
