"""The MQTT brokers the tests use: the shared Mosquitto at 127.0.0.1:1883, and private Mosquitto
processes on free ports for tests that stop a broker (so that the others' broker stays up).

Without a broker the tests skip with the reason; under ``CI=true`` they fail instead, because CI
provides Mosquitto and a silently skipped protocol test would hide a broken setup."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from smartfab.model.plant import Plant
from tests.devices.bound_plants import plant

HOST, PORT = "127.0.0.1", 1883


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def reachable(port: int, host: str = HOST) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def shared_broker_port() -> int:
    """The port of the shared Mosquitto (skip, or fail on CI, when it is down)."""
    if not reachable(PORT):
        unavailable(
            f"no MQTT broker at {HOST}:{PORT} "
            "(start one: mosquitto -d -c /etc/mosquitto/mosquitto.conf)"
        )
    return PORT


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class PrivateBroker:
    """A Mosquitto process of the test's own, that it may stop and start again on the same port."""

    def __init__(self, config: str | None = None) -> None:
        """``config``: mosquitto.conf text for the broker, with ``{port}`` where its listener's
        port goes; by default a plain listener on a free port."""
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.path.exists(exe):
            unavailable("mosquitto is not installed (apt-get install mosquitto)")
        self.exe = exe
        self.port = free_port()
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self._config_file: tempfile._TemporaryFileWrapper[str] | None = None

    def start(self) -> None:
        args = [self.exe, "-p", str(self.port)]
        if self.config is not None:
            # Run as us: as root mosquitto would otherwise switch to a user that cannot read the
            # test's files (it ignores the setting when not root).
            text = f"user {getpass.getuser()}\n" + self.config.format(port=self.port)
            self._config_file = tempfile.NamedTemporaryFile("w", suffix=".conf")  # noqa: SIM115
            self._config_file.write(text)
            self._config_file.flush()
            args = [self.exe, "-c", self._config_file.name]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not reachable(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._config_file is not None:
            self._config_file.close()
            self._config_file = None


@contextmanager
def private_broker(config: str | None = None) -> Iterator[PrivateBroker]:
    broker = PrivateBroker(config)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def unique_enterprise() -> str:
    """A UNS enterprise level of the test's own: the shared broker carries other tests' topics."""
    return f"t{uuid.uuid4().hex[:10]}"


def mqtt_plant(port: int, signals: list[dict[str, Any]], **connection: Any) -> Plant:
    """The test equipment ``s/a/l/c/e`` with ``signals`` on the MQTT connection ``broker``, which
    has the ``connection`` settings besides host and port."""
    connection = {"name": "broker", "protocol": "mqtt", "host": HOST, "port": port, **connection}
    return plant(signals, [connection])


def mqtt_signal(name: str, topic: str, field: str = "value", **options: Any) -> dict[str, Any]:
    source = {"mqtt": {"connection": "broker", "topic": topic, "field": field}}
    return {"name": name, "source": source, **options}


def signal_ids(p: Plant) -> dict[str, int]:
    return {ref.path: i + 1 for i, ref in enumerate(p.iter_signals())}
