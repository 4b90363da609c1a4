"""Private services and real processes for the fault tests: a Mosquitto and a PostgreSQL of the
test's own on free ports (the shared ones at 1883 and 5432 are never stopped), `smartfab edge run`
and `smartfab serve` as subprocesses, so that stopping a service and kill -9 are the real thing.

A missing binary skips the test with the reason (fails under CI=true, see ``unavailable``); every
process started here is stopped by its context manager, also when the test fails."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import yaml

from tests.devices.mqtt.broker import HOST, free_port, reachable, unavailable

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SMARTFAB = [sys.executable, "-m", "smartfab"]


def _wait_for(
    what: str,
    ready: Any,
    timeout_s: float,
    process: subprocess.Popen[bytes],
    log: Path | None = None,
) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if process.poll() is not None:
            said = log.read_text(errors="replace")[-2000:] if log is not None else ""
            raise RuntimeError(f"{what} exited with {process.returncode}\n{said}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {timeout_s} s")
        time.sleep(0.05)


def _end(process: subprocess.Popen[bytes] | None, timeout_s: float = 10) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Mosquitto:
    """A Mosquitto as a server deployment runs it: sessions and queues persisted across a
    restart, no limit on the QoS 1 messages queued for a worker (the default of 1000 drops the
    rest: a loss no test should hide)."""

    def __init__(self, folder: Path) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.path.exists(exe):
            unavailable("mosquitto is not installed (apt-get install mosquitto)")
        self.exe, self.port = exe, free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} {HOST}\nallow_anonymous true\n"
            f"persistence true\npersistence_location {folder}/\n"
            "max_queued_messages 0\nmax_inflight_messages 0\n"
            # As root Mosquitto would switch to its own user, who cannot write the test's folder.
            f"user {pwd.getpwuid(os.geteuid()).pw_name}\n",
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_for("mosquitto", lambda: reachable(self.port), 10, self.process)

    def stop(self) -> None:
        _end(self.process)  # SIGTERM: Mosquitto writes its persistence file on the way out
        self.process = None


class Postgres:
    """A PostgreSQL cluster in ``folder`` on a free port (trust auth, user postgres)."""

    def __init__(self, folder: Path) -> None:
        if not (PG_BIN / "initdb").exists():
            unavailable(
                f"PostgreSQL 15 binaries not found in {PG_BIN} (apt-get install postgresql)"
            )
        self.port = free_port()
        # initdb and postgres refuse to run as root: as root, run them as the postgres user, in a
        # folder of theirs (pytest's folders are private to root).
        self._as: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            folder = Path(tempfile.mkdtemp(prefix="smartfab-test-pg-"))
            shutil.chown(folder, "postgres", "postgres")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.data = folder, folder / "pgdata"
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses={HOST} -c fsync=on"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-w",
                  "-l", str(self.folder / "log"), "start")  # fmt: skip

    def stop(self) -> None:
        # fast: disconnect the clients and stop now, as an operator restarting the server does.
        subprocess.run(
            [*self._as, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
            capture_output=True,
        )

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def mosquitto(folder: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(folder)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@contextmanager
def postgres(folder: Path) -> Iterator[Postgres]:
    server = Postgres(folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.remove()


class Worker:
    """`smartfab serve --config FILE` as a subprocess; ``number`` is its SMARTFAB_WORKER, which
    its MQTT client id includes. Its broker session is made beforehand (``prime_session``), so
    the broker queues its share of the messages until it connects."""

    def __init__(self, config: Path, number: int, log: Path) -> None:
        self.config, self.number, self.log = config, number, log
        self.api_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._from = 0  # where this start's output begins in the log

    def start(self) -> None:
        # A folder each: a worker's local files (the API's security database) are its own.
        data = self.log.parent / f"data-{self.number}"
        env = {**os.environ, "SMARTFAB_WORKER": str(self.number), "SMARTFAB_DATA_DIR": str(data)}
        self._from = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*SMARTFAB, "serve", "--config", str(self.config), "--port", str(self.api_port)],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip

    def wait_ready(self, timeout_s: float = 90) -> None:
        """Until it says it runs (ingestion started): so that a fault hits a running worker, not
        one still starting (which, unable to reach its database, would exit)."""
        assert self.process is not None

        def ready() -> bool:
            with self.log.open("rb") as f:
                f.seek(self._from)
                return b"smartfab is running" in f.read()

        _wait_for(f"worker {self.number}", ready, timeout_s, self.process, self.log)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        _end(self.process, 30)  # SIGTERM: stores what it received, then exits


class Edge:
    """`smartfab edge run --virtual` as a subprocess."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.args, self.log = args, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*SMARTFAB, "edge", "run", *self.args], stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def wait(self, timeout_s: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout_s)

    def stop(self) -> None:
        _end(self.process)


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
