"""OPC UA message security: Basic256Sha256 in Sign and SignAndEncrypt, each side accepting only
the certificates in its trust list; against the virtual factory's server configured the same
way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from smartfab.devices.connector import Backoff
from smartfab.devices.opcua.connector import OpcUaConnector
from smartfab.model.plant import Plant
from smartfab.virtual.opcua.server import ServerSecurity, VirtualOpcUaServer
from tests.devices.bound_plants import EQUIPMENT, opcua_connection, opcua_signal, plant
from tests.devices.opcua.pki import Pki, make_pki
from tests.devices.sinks import running

pytestmark = pytest.mark.asyncio(loop_scope="module")

TS = 1_700_000_000_000_000
FAST = Backoff(initial_s=0.05, max_s=0.3, jitter=0.0)
SIGNALS = [opcua_signal("temp"), opcua_signal("override", writable=True, range=[0, 150])]


def ua_plant(endpoint: str, **security: Any) -> Plant:
    return plant(SIGNALS, [opcua_connection(endpoint, publishing_interval_ms=50, **security)])


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return await make_pki(tmp_path_factory.mktemp("pki"))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(pki: Pki) -> AsyncIterator[VirtualOpcUaServer]:
    security = ServerSecurity(pki.server_cert, pki.server_key, pki.server_trusts)
    server = VirtualOpcUaServer(ua_plant("opc.tcp://127.0.0.1:4840/"), security=security)
    await server.publish([0, 1], [21.5, 100.0], TS)
    await server.start()
    yield server
    await server.stop()


def connector(server: VirtualOpcUaServer, **security: Any) -> OpcUaConnector:
    p = ua_plant(server.endpoint, **security)
    ids = {ref.path: 10 + i for i, ref in enumerate(p.iter_signals())}
    return OpcUaConnector.from_plant(p, "ua", ids, timeout_s=2.0, backoff=FAST)


def secure(pki: Pki, mode: str, trusted: Path | None = None) -> dict[str, Any]:
    return {
        "security_policy": "Basic256Sha256",
        "security_mode": mode,
        "certificate": pki.client_cert,
        "private_key": pki.client_key,
        "trusted_certs": trusted or pki.client_trusts,
    }


@pytest.mark.parametrize("mode", ["Sign", "SignAndEncrypt"])
async def test_a_trusted_client_reads_and_writes_over_a_secure_channel(
    server: VirtualOpcUaServer, pki: Pki, mode: str
) -> None:
    c = connector(server, **secure(pki, mode))
    async with running(c) as got:
        await got.wait_for(lambda: 21.5 in got.points.value.tolist())
        await c.write(f"{EQUIPMENT}/override", 90.0 if mode == "Sign" else 95.0)
        assert await c.read(f"{EQUIPMENT}/override") == (90.0 if mode == "Sign" else 95.0)
    assert c.status.errors == 0
    assert c._client is None  # the session closed with the connector


async def test_a_client_without_security_is_refused(server: VirtualOpcUaServer) -> None:
    c = connector(server)
    async with running(c) as got:
        await got.wait_for(lambda: c.status.errors >= 1)
    assert len(got.good) == 0 and c.status.state == "stopped"
    assert "No matching endpoints" in c.status.last_error  # the server offers no None endpoint


async def test_an_untrusted_server_is_refused(
    server: VirtualOpcUaServer, pki: Pki, tmp_path: Path
) -> None:
    other = await make_pki(tmp_path, "other")  # trusts another server's certificate only
    c = connector(server, **secure(pki, "SignAndEncrypt", trusted=other.client_trusts))
    async with running(c) as got:
        await got.wait_for(lambda: c.status.errors >= 1)
    assert len(got.good) == 0
    assert "BadCertificateUntrusted" in c.status.last_error  # the client refused the server


async def test_an_untrusted_client_is_refused(
    server: VirtualOpcUaServer, pki: Pki, tmp_path: Path
) -> None:
    other = await make_pki(tmp_path, "stranger")  # a client the server does not know
    options = secure(pki, "SignAndEncrypt") | {
        "certificate": other.client_cert, "private_key": other.client_key,
    }  # fmt: skip
    c = connector(server, **options)
    async with running(c) as got:
        await got.wait_for(lambda: c.status.errors >= 1)
    assert len(got.good) == 0
    assert "BadCertificateUntrusted" in c.status.last_error  # the server refused the client


async def test_browsing_uses_the_same_security(server: VirtualOpcUaServer, pki: Pki) -> None:
    found = await connector(server, **secure(pki, "Sign")).browse()
    assert {v.path for v in found} == {f"{EQUIPMENT}/temp", f"{EQUIPMENT}/override"}
