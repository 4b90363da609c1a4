"""The running data path: real virtual devices on loopback, real connectors, the DuckDB store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smartfab.model.loader import load_plant
from smartfab.model.plant import MqttConnection, Plant
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.ingestion import ConfigError, Ingestion
from smartfab.virtual.runner import VirtualDevices
from tests.conftest import demo_plant_on_free_ports


async def _until(condition: object, timeout_s: float = 20.0) -> None:
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_connectors_ingest_and_their_config_survives_a_restart(tmp_path: Path) -> None:
    plant = load_plant(demo_plant_on_free_ports(tmp_path))
    devices = VirtualDevices(plant, seed=3)
    await devices.start()
    stepper = asyncio.create_task(_step_forever(devices))
    try:
        with DuckDBStore(tmp_path / "s.duckdb") as store:
            ingestion = Ingestion(plant, store)
            await ingestion.start()
            try:
                by_name = {c.name: c for c in ingestion.connectors.values()}
                assert set(by_name) == {"opcua-factory", "modbus-press", "modbus-packaging"}
                await _until(lambda: all(c.status.points > 0 for c in by_name.values()))

                await ingestion.configure_connector("modbus-press", {"poll_ms": 250})
                press = ingestion.connectors["modbus-press"]
                await _until(lambda: press.status.state == "connected")
                await ingestion.configure_connector("modbus-packaging", {"enabled": False})
                assert "modbus-packaging" not in ingestion.connectors
                with pytest.raises(ConfigError, match="port"):
                    await ingestion.configure_connector("modbus-press", {"port": 70000})
                with pytest.raises(KeyError):
                    await ingestion.configure_connector("no-such", {"enabled": False})
            finally:
                await ingestion.stop()
            stats = ingestion.writer.stats
            assert stats.points_in >= sum(c.status.points for c in by_name.values()) > 0
            assert store.count_points() == stats.points_stored > 0

        # A new process on the same store: the changes made at run time are still in force.
        with DuckDBStore(tmp_path / "s.duckdb") as store:
            again = Ingestion(plant, store)
            await again.start()
            try:
                states = {s.name: s for s in again.connector_status()}
                assert states["modbus-packaging"].state == "disabled"
                press = again.connectors["modbus-press"]
                assert press.map.connection.poll_ms == 250  # type: ignore[attr-defined]
                await _until(lambda: press.status.points > 0)
            finally:
                await again.stop()
    finally:
        stepper.cancel()
        await devices.stop()


async def _step_forever(devices: VirtualDevices) -> None:
    from smartfab.platform.points import now_us

    while True:
        await devices.step(now_us())
        await asyncio.sleep(0.2)


async def test_the_virtual_factory_raises_real_alarms_that_survive_a_restart(
    tmp_path: Path, demo_plant: Plant
) -> None:
    """An hour of the demo plant through Ingestion: its machines report faults, the engine in
    the process raises alarms from the bus, journals them, and a new process replays them."""
    from smartfab.apps.monitoring.alarms.lifecycle import State
    from tests.conftest import FILLED_START_US, fill

    hour = 3_600_000_000
    with DuckDBStore(tmp_path / "f.duckdb") as store:
        await fill(store, demo_plant, FILLED_START_US, FILLED_START_US + hour)
        events = store.events(0, 2**62, kinds=["alarm"])
        assert events.num_rows > 0
        raised = {c for c in events.column("code").to_pylist() if ":fault:" in c}
        assert raised, "no fault alarm in an hour of the demo plant"

        again = Ingestion(demo_plant, store)
        await again.start(connectors=False)
        try:
            listed = again.alarms.alarms()
            assert {s.id for s in listed} <= {str(c) for c in events.column("code").to_pylist()}
            assert any(s.state is State.UNACKNOWLEDGED or s.needs_ack for s in listed)
            fault = next(s for s in listed if ":fault:" in s.id)
            acked = await again.alarms.acknowledge([fault.id], "operator-1")
            assert acked[0].acked_by == "operator-1"
            load = await again.alarms.load(FILLED_START_US, FILLED_START_US + hour)
            assert load.total > 0 and load.bad_actors
        finally:
            await again.stop()


async def test_an_mqtt_connection_of_the_plant_file_ingests_into_the_store(tmp_path: Path) -> None:
    """The virtual factory publishing UNS JSON to the real broker, read by the connector that the
    plant's MQTT connection (with its options: MQTT 3.1.1, a shared-subscription group) makes."""
    import uuid

    from smartfab.platform.points import now_us
    from smartfab.virtual.factory import VirtualFactory
    from smartfab.virtual.mqtt.publisher import VirtualMqttPublisher
    from tests.virtual.mqtt.plants import mqtt_plant

    site = f"t{uuid.uuid4().hex[:10]}"
    data = mqtt_plant(site, "uns", enterprise=site).model_dump(mode="json", exclude_none=True)
    data["connections"][0] |= {"version": "3.1.1", "shared_group": "ingest", "qos": 1}
    plant = Plant.model_validate(data)
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        ingestion = Ingestion(plant, store)
        connector_ids = ingestion.signal_ids
        factory = VirtualFactory(plant, connector_ids, seed=5, start_us=now_us() - 20_000_000)
        (broker,) = plant.connections
        assert isinstance(broker, MqttConnection)
        publisher = VirtualMqttPublisher(plant, connector_ids, port=broker.port, mode="uns",
                                         enterprise=site)  # fmt: skip
        await publisher.start()
        await ingestion.start()
        try:
            (connector,) = ingestion.connectors.values()
            assert connector.options.version == "3.1.1"  # type: ignore[attr-defined]
            assert connector.options.shared_group == "ingest"  # type: ignore[attr-defined]
            await _until(lambda: connector.status.state == "connected")
            points, _ = factory.advance(now_us())
            await publisher.publish(points)
            await _until(lambda: connector.status.points >= len(points))
            await ingestion.writer.flush()
        finally:
            await ingestion.stop()
            await publisher.stop()
        assert store.count_points() == len(points) > 0
        assert {"state"} <= set(store.events(0, 2**62).column("kind").to_pylist())


async def test_texts_and_arrays_reach_the_store_not_the_alarm_engine(
    tmp_path: Path, demo_plant: Plant
) -> None:
    """String and array signals go through the bus to the store beside the numbers; the alarm
    engine, whose rules read numbers, is handed the numbers alone and keeps running."""
    from smartfab.platform.points import ArrayBatch, PointBatch, TextBatch, now_us

    refs = {r.signal.kind: r for r in demo_plant.iter_signals()}
    assert set(refs) == {"number", "text", "array"}, "the demo plant has every kind of signal"
    with DuckDBStore(tmp_path / "k.duckdb") as store:
        ingestion = Ingestion(demo_plant, store)
        ids = {kind: ingestion.signal_ids[ref.path] for kind, ref in refs.items()}
        width = refs["array"].signal.length
        assert width is not None
        await ingestion.start(connectors=False)
        try:
            t = now_us() - 60_000_000
            await ingestion.bus.publish_points(TextBatch.of([t, t + 1], ids["text"], ["A", "Б"]))
            await ingestion.bus.publish_points(ArrayBatch.of(t, ids["array"], [0.5] * width))
            await ingestion.bus.publish_points(PointBatch.of(t, ids["number"], 1.0))
            await ingestion.writer.flush()
            assert ingestion.alarms.running
        finally:
            await ingestion.stop()
        assert store.latest([ids["text"]], kind="text")["value"].to_pylist() == ["Б"]
        assert store.latest([ids["array"]], kind="array")["value"].to_pylist() == [[0.5] * width]
        assert store.count_points() == 4 == ingestion.writer.stats.points_stored
