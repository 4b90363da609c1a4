"""Setpoint writes over OPC UA against the real virtual server: written with the node's own data
type, read back, held by the server against the simulation, and refused before anything is sent
when the plant file does not allow them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from asyncua import ua

from smartfab.devices.connector import Backoff
from smartfab.devices.opcua.connector import OpcUaConnector
from smartfab.model.plant import Plant
from smartfab.platform.setpoints import SetpointError
from smartfab.virtual.opcua.server import VirtualOpcUaServer
from tests.devices.bound_plants import EQUIPMENT, opcua_connection, opcua_signal, plant
from tests.devices.sinks import running

pytestmark = pytest.mark.asyncio(loop_scope="module")

TS = 1_700_000_000_000_000
FAST = Backoff(initial_s=0.05, max_s=0.3, jitter=0.0)
SERVED = [
    opcua_signal("override", writable=True, range=[0, 150]),
    opcua_signal("recipe", "int", writable=True, range=[1, 99]),
    opcua_signal("temp"),
]
# A node of another data type than smartfab's own servers use, as a real PLC's may be.
RATIO = opcua_signal("ratio", writable=True, range=[0, 1])
OVERRIDE, RECIPE, TEMP, RATIO_PATH = (
    f"{EQUIPMENT}/{n}" for n in ("override", "recipe", "temp", "ratio")
)


def ua_plant(endpoint: str, signals: list[dict[str, object]]) -> Plant:
    return plant(signals, [opcua_connection(endpoint, publishing_interval_ms=50)])


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server() -> AsyncIterator[VirtualOpcUaServer]:
    server = VirtualOpcUaServer(ua_plant("opc.tcp://127.0.0.1:0/", SERVED))
    await server.publish([0, 1, 2], [100.0, 7, 20.0], TS)
    await server.start()
    folder = server.server.get_node(f"ns=1;s={EQUIPMENT}")
    ratio = await folder.add_variable(
        ua.NodeId.from_string(f"ns=2;s={EQUIPMENT}.ratio"), "2:ratio",
        ua.Variant(0.5, ua.VariantType.Float), ua.VariantType.Float,
    )  # fmt: skip
    await ratio.set_writable()
    yield server
    await server.stop()


def connector_for(server: VirtualOpcUaServer) -> OpcUaConnector:
    p = ua_plant(server.endpoint, [*SERVED, RATIO])
    ids = {ref.path: 10 + i for i, ref in enumerate(p.iter_signals())}
    return OpcUaConnector.from_plant(p, "ua", ids, timeout_s=2.0, backoff=FAST)


async def test_a_written_setpoint_is_on_the_server_and_held_there(
    server: VirtualOpcUaServer,
) -> None:
    connector = connector_for(server)
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.state == "connected")
        assert await connector.read(OVERRIDE) == 100.0
        await connector.write(OVERRIDE, 87.5)
        await connector.write(RECIPE, 12)
        await connector.write(RATIO_PATH, 0.25)
        assert await connector.read(OVERRIDE) == 87.5
        assert await connector.read(RECIPE) == 12
        assert await connector.read(RATIO_PATH) == 0.25
        # Each as its node's own type: Double, Int64 and Float.
        values = [
            await server.server.get_node(f"ns=2;s={EQUIPMENT}.{name}").read_data_value()
            for name in ("override", "recipe", "ratio")
        ]
        assert [v.Value.VariantType if v.Value else None for v in values] == [
            ua.VariantType.Double, ua.VariantType.Int64, ua.VariantType.Float,
        ]  # fmt: skip
        # The simulation publishing again changes temp, not the setpoints a client wrote.
        await server.publish([0, 1, 2], [100.0, 7, 21.0], TS + 1000)
        assert await connector.read(OVERRIDE) == 87.5
        assert server.held == {0, 1}
        await got.wait_for(lambda: 87.5 in got.points.value.tolist())


async def test_writes_the_plant_file_does_not_allow_are_refused(
    server: VirtualOpcUaServer,
) -> None:
    connector = connector_for(server)
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.state == "connected")
        before = await connector.read(OVERRIDE)
        with pytest.raises(SetpointError, match=r"151 1 is outside the writable range \[0, 150\]"):
            await connector.write(OVERRIDE, 151)
        with pytest.raises(
            SetpointError, match=r"12\.5 is not a whole number, and the signal is int"
        ):
            await connector.write(RECIPE, 12.5)
        with pytest.raises(SetpointError, match=f"{TEMP}: not a writable signal"):
            await connector.write(TEMP, 1.0)
        assert await connector.read(OVERRIDE) == before
