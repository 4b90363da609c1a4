"""The server: connectors, ingestion (with alarms), the API and web app, and the scheduled jobs the
settings ask for (reports, the periodic maintenance assessment), the storage zones' late-order
alarms, until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from smartfab.apps.maintenance.fleet import FleetAssessor
from smartfab.apps.maintenance.registry import ModelRegistry
from smartfab.apps.maintenance.schedule import AssessmentSchedule, run_assessment_schedule
from smartfab.apps.maintenance.workorders import WorkOrders
from smartfab.apps.monitoring.alarms.notify import NotifySettings
from smartfab.apps.monitoring.report_schedule import ReportSchedule, run_report_schedule
from smartfab.apps.quality.live import LiveScoring, run_live_scoring
from smartfab.apps.warehouse.alarms import LateOrderAlarms
from smartfab.config import DEMO_PLANT, Settings
from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.base import Store
from smartfab.runtime.ingestion import Ingestion
from smartfab.runtime.output import Output
from smartfab.runtime.plant_edit import PlantEditor
from smartfab.runtime.vda5050 import run_vda5050
from smartfab.runtime.warehouse import run_warehouse_alarms
from smartfab.virtual.warehouse.live import LiveZones
from smartfab.web.api import create_app
from smartfab.web.server import ApiServer


async def serve_until_stopped(
    plant: Plant,
    store: Store,
    host: str,
    port: int,
    s: Settings | None = None,
    *,
    security: Security,
    out: Output,
) -> None:
    """Run connectors, ingestion (with alarms) and the API (logins and tokens of ``security``)
    until SIGINT/SIGTERM, and scheduled reports and the periodic maintenance assessment when
    ``s`` asks for them; then stop the connectors and store everything they delivered before
    returning."""
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
    # The built-in demo plant is part of the installed package: it is not edited in place.
    editor = (
        PlantEditor(s.plant, security.audit, target=ingestion, data=data)
        if s is not None and s.plant.resolve() != DEMO_PLANT.resolve()
        else None
    )
    models_dir = s.data_dir / "models" if s is not None else None
    # The periodic assessment and the API share the assessor (one model cache) and the work
    # orders (an order it raises is the planner's at once).
    assessor = FleetAssessor(data, ModelRegistry(models_dir)) if models_dir is not None else None
    orders = WorkOrders(store)
    assessing = None
    scoring = None
    late_orders = None
    vda5050 = None
    # The storage zones' live warehouses: the web app shows them, the late-order alarms watch.
    warehouses = LiveZones(lambda: data.plant)
    api = ApiServer(
        create_app(
            data,
            ingestion,
            security=security,
            models_dir=models_dir,
            assessor=assessor,
            orders=orders,
            insights=s.insights_data if s is not None else None,
            addresses=s.addresses() if s is not None else (),
            editor=editor,
            warehouses=warehouses,
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
        if any(e.equipment.process and e.equipment.process.risk_alarm for e in
               plant.iter_equipment()):  # fmt: skip
            # Parts scored as they are inspected; the engine raises the predicted-defect alarms.
            scoring = asyncio.create_task(
                run_live_scoring(LiveScoring(store, plant, ingestion.alarms))
            )
        if warehouses.simulated():
            # Orders expected to ship late are raised in the alarm engine, page open or not.
            late_orders = asyncio.create_task(
                run_warehouse_alarms(warehouses, LateOrderAlarms(ingestion.alarms))
            )
            # Their AGVs and fleet manager on the fleet's MQTT broker, as VDA 5050 (a broker
            # that is down is retried; the warehouse runs on without it).
            vda5050 = asyncio.create_task(run_vda5050(warehouses))
        out.say(
            f"smartfab is running: web app {api.url}/  API {api.url}/api  docs {api.url}/docs\n"
            f"connectors: {', '.join(c.name for c in ingestion.connector_status()) or 'none'}\n"
            "press Ctrl-C to stop (everything received is stored first)",
            emphasis=True,
        )
        await stop.wait()
    finally:
        for task in (reports, assessing, scoring, late_orders, vda5050):
            if task is not None:
                task.cancel()
        if vda5050 is not None:  # its AGVs say OFFLINE before the server goes
            await asyncio.wait([vda5050], timeout=3)
        out.say("stopping: connectors, then flushing to the store ...")
        await ingestion.stop()
        await api.stop()
        st = ingestion.writer.stats
        rejected = sum(st.rejected.values())
        out.say(
            f"received {st.points_in:,} points this run: stored {st.points_stored:,}, "
            f"already stored {st.points_already_stored:,}, rejected {rejected:,}; "
            f"{st.events_stored:,} events stored"
        )
