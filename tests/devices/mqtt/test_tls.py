"""MQTT over TLS with username and password, against a private Mosquitto of the test's own: a CA
and a broker certificate made for the test, a password file made by mosquitto_passwd, anonymous
clients refused. The password never shows: not in logs, connector status, reprs or the API."""

from __future__ import annotations

import json
import logging
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import orjson
import pytest

from smartfab.cli.certs import certificate_authority, issue
from smartfab.devices.connector import Backoff
from smartfab.devices.mqtt.connector import MqttConnector
from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.ingestion import Ingestion
from smartfab.web.api import create_app
from tests.devices.bound_plants import plant
from tests.devices.mqtt.broker import HOST, PrivateBroker, mqtt_signal, private_broker, signal_ids
from tests.devices.sinks import running

pytestmark = pytest.mark.services

USER, PASSWORD = "line-1", "Never-Log-Me-7f3a"
WRONG = "Wrong-But-Also-Secret-91c2"
TOPIC = "tls-test/s/a/l/c/e/temp"
CONFIG = """
listener {port} 127.0.0.1
cafile %(ca)s
certfile %(cert)s
keyfile %(key)s
tls_version tlsv1.2
allow_anonymous false
password_file %(passwords)s
"""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mqtt-tls")
    ca = certificate_authority("smartfab test CA")
    ca.write(folder / "ca.pem", folder / "ca-key.pem")
    issue(ca, ["localhost", "127.0.0.1"]).write(folder / "broker.pem", folder / "broker-key.pem")
    passwords = folder / "passwords"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), USER, PASSWORD],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def broker(pki: Path) -> Iterator[PrivateBroker]:
    config = CONFIG % {
        "ca": pki / "ca.pem", "cert": pki / "broker.pem", "key": pki / "broker-key.pem",
        "passwords": pki / "passwords",
    }  # fmt: skip
    with private_broker(config) as b:
        yield b


def tls_plant(port: int, pki: Path, **connection: Any) -> Plant:
    conn = {"name": "broker", "protocol": "mqtt", "host": HOST, "port": port}
    options = {"tls": True, "ca": pki / "ca.pem", "username": USER, "password": PASSWORD}
    return plant([mqtt_signal("temp", TOPIC)], [conn | options | connection])


def connector_for(p: Plant) -> MqttConnector:
    fast = Backoff(initial_s=0.05, max_s=0.3)
    return MqttConnector.from_plant(p, "broker", signal_ids(p), backoff=fast)


async def publish(port: int, pki: Path, value: float) -> None:
    context = ssl.create_default_context(cafile=pki / "ca.pem")
    async with aiomqtt.Client(
        HOST, port, username=USER, password=PASSWORD, tls_context=context
    ) as client:
        await client.publish(TOPIC, orjson.dumps({"value": value}), qos=1)


def assert_secret_free(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text and WRONG not in text


async def test_reads_over_tls_with_username_and_password(
    broker: PrivateBroker, pki: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    connector = connector_for(tls_plant(broker.port, pki))
    async with running(connector) as got:
        await got.wait_for(lambda: connector.status.state == "connected")
        await publish(broker.port, pki, 21.5)
        await got.wait_for(lambda: 21.5 in got.points.value.tolist())
    assert connector.status.endpoint == f"mqtts://{HOST}:{broker.port}"
    assert_secret_free(caplog.text, json.dumps(asdict(connector.status)), repr(connector.options))


async def test_a_wrong_password_or_no_tls_is_refused_and_no_secret_shows(
    broker: PrivateBroker, pki: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for p in (
        tls_plant(broker.port, pki, password=WRONG),
        tls_plant(broker.port, pki, tls=False, ca=None),
        tls_plant(broker.port, pki, username=None, password=None),  # anonymous
    ):
        connector = connector_for(p)
        async with running(connector) as got:
            await got.wait_for(lambda c=connector: c.status.errors >= 1)
        assert len(got.good) == 0 and connector.status.last_error
        assert_secret_free(
            caplog.text, json.dumps(asdict(connector.status)), repr(connector.options), repr(p)
        )


@pytest.fixture
async def ingesting(
    broker: PrivateBroker, pki: Path, tmp_path: Path
) -> AsyncIterator[tuple[Ingestion, Security]]:
    p = tls_plant(broker.port, pki)
    with DuckDBStore(tmp_path / "s.duckdb") as store, Security(tmp_path / "sec.sqlite") as sec:
        ingestion = Ingestion(p, store)
        await ingestion.start()
        try:
            yield ingestion, sec
        finally:
            await ingestion.stop()


async def test_the_api_never_answers_with_the_password(
    ingesting: tuple[Ingestion, Security], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ingestion, sec = ingesting
    _, secret = sec.tokens.create("test", "admin", "admin", "", expires_days=1)
    app = create_app(PlantData(ingestion.store, ingestion.plant), ingestion, security=sec)
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    ) as client:
        answer = await client.get("/api/connectors")
        assert answer.status_code == 200
        port = ingestion.connectors["broker"].status.endpoint.rpartition(":")[2]
        assert [c["endpoint"] for c in answer.json()] == [f"mqtts://{HOST}:{port}"]
        changed = await client.patch("/api/connectors/broker", json={"enabled": True})
        assert changed.status_code == 200
    assert_secret_free(answer.text, changed.text, caplog.text)
