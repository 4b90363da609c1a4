"""The virtual factory behind real protocol servers, in real time: what the demo runs in a process
of its own, standing in for the plant's equipment.

Every tick (200 ms by default) the factory is advanced to the wall clock; every sample (number,
text or array) goes to the OPC UA server with its timestamp, and the latest value of each signal to
the Modbus registers.
Bench mode instead rewrites every node at a fixed rate, whatever its ``sample_s``, to measure
throughput. One server is started per distinct host:port of the plant's OPC UA and Modbus
connections; a port option moves the server of a protocol, when the plant has one.

Run it as ``python -m smartfab.virtual.runner --plant FILE [--seed N] [--start-us T]
[--opcua-port N] [--modbus-port N] [--tick-ms N] [--bench-rate HZ] [--mqtt-broker HOST:PORT
--mqtt-mode uns|sparkplug] [--opcua-cert FILE --opcua-key FILE --opcua-trusted DIR]
[--setpoint PATH=VALUE@TS ...]``; with the certificate options the OPC UA servers offer only
Basic256Sha256 (Sign, SignAndEncrypt) and accept only clients whose certificates are in the folder
DIR. Each ``--setpoint`` is a value written to a device at TS (the audited setpoint path keeps
them), which a process parameter holds from then on, as a PLC keeps a setpoint over a restart.
Once listening it prints one JSON line with the endpoints, ``{"opcua": [...], "modbus": [...]}``
(and ``"mqtt"`` when publishing there), and it stops cleanly on SIGINT or SIGTERM.
``RunnerProcess`` does all that from Python.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TypeVar
from urllib.parse import urlparse

import numpy as np
import numpy.typing as npt

from smartfab.errors import SmartfabError
from smartfab.model.loader import load_plant
from smartfab.model.plant import ModbusConnection, OpcUaConnection, Plant
from smartfab.platform.points import ArrayBatch, PointBatch, TextBatch, now_us
from smartfab.virtual.factory import Advance, VirtualFactory
from smartfab.virtual.modbus.server import VirtualModbusServer
from smartfab.virtual.mqtt.publisher import Mode, VirtualMqttPublisher
from smartfab.virtual.opcua.server import ServerSecurity, VirtualOpcUaServer
from smartfab.virtual.process_sim import Written, in_force

log = logging.getLogger(__name__)

DEFAULT_TICK_S = 0.2
_REPLAY_CHUNK_US = 3_600_000_000  # history simulated an hour at a time when starting
_MODULE = "smartfab.virtual.runner"
Endpoints = dict[str, list[str]]  # protocol -> endpoints being served


class VirtualDevices:
    """The OPC UA and Modbus servers of a plant, fed by its virtual factory."""

    def __init__(
        self,
        plant: Plant,
        *,
        seed: int,
        opcua_port: int | None = None,
        modbus_port: int | None = None,
        host: str | None = None,
        opcua_security: ServerSecurity | None = None,
        writes: Sequence[Written] = (),
    ) -> None:
        self.plant = plant
        self.seed = seed
        self.writes = writes  # setpoints written before: the machines keep them
        self.opcua: list[VirtualOpcUaServer] = []
        for (h, port, path), names in _opcua_servers(plant, opcua_port).items():
            self.opcua.append(
                VirtualOpcUaServer(
                    plant, names, host=host or h, port=port, path=path, security=opcua_security
                )
            )
        self.modbus: list[VirtualModbusServer] = []
        for (h, port, _), names in _modbus_servers(plant, modbus_port).items():
            self.modbus.append(VirtualModbusServer(plant, names, host=host or h, port=port))
        # Signal ids are the runner's own: they only link the factory's output to server slots.
        self._ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
        self._opcua_slots = [self._slot_lookup(s.paths) for s in self.opcua]
        self._modbus_slots = [self._slot_lookup(s.paths) for s in self.modbus]
        self._factory: VirtualFactory | None = None
        self._held: dict[str, float] = {}  # process parameters written by clients, as passed on
        self.mqtt: VirtualMqttPublisher | None = None  # also publishes every sample over MQTT

    @property
    def factory(self) -> VirtualFactory:
        """The virtual factory behind the servers (once started)."""
        assert self._factory is not None, "start() first"
        return self._factory

    @property
    def endpoints(self) -> Endpoints:
        return {
            "opcua": [s.endpoint for s in self.opcua],
            "modbus": [f"{s.host}:{s.port}" for s in self.modbus],
            **({"mqtt": [f"{self.mqtt.host}:{self.mqtt.port}"]} if self.mqtt else {}),
        }

    async def start(self, start_us: int | None = None) -> None:
        """Simulate from ``start_us`` to now, then start every server holding the latest values.

        By default the simulation starts one sample period of the slowest signal ago (at most a
        minute), so that every signal has a value from the first request on. An earlier start
        (e.g. where a backfilled history began) makes the live values continue that history.
        """
        now = now_us()
        slowest = max((r.signal.sample_s for r in self.plant.iter_signals()), default=1.0)
        start = now - round(min(slowest, 60.0) * 1e6) if start_us is None else start_us
        self._factory = VirtualFactory(
            self.plant, self._ids, seed=self.seed, start_us=start, writes=self.writes
        )
        # Only the latest value of each signal is kept from the history: nobody is subscribed
        # yet, and days of samples would not fit in memory at once.
        points, texts, arrays = PointBatch.empty(), TextBatch.empty(), ArrayBatch.empty()
        for until in [*range(start + _REPLAY_CHUNK_US, now, _REPLAY_CHUNK_US), now]:
            done = self._factory.advance_all(until)
            points = _latest(PointBatch.concat([points, _in_time_order(done.points)]))
            texts = _latest(TextBatch.concat([texts, _in_time_order(done.texts)]))
            arrays = _latest(ArrayBatch.concat([arrays, _in_time_order(done.arrays)]))
        if self.mqtt is not None:
            await self.mqtt.start()
        await self._publish(Advance(points, texts, arrays, done.failures))
        for server in self._servers():
            await server.start()

    async def stop(self) -> None:
        for server in self._servers():
            await server.stop()
        if self.mqtt is not None:
            await self.mqtt.stop()

    def _servers(self) -> list[VirtualOpcUaServer | VirtualModbusServer]:
        return [*self.opcua, *self.modbus]

    async def step(self, until_us: int) -> int:
        """Advance the factory to ``until_us`` and publish what it produced; returns the number
        of samples."""
        assert self._factory is not None, "start() first"
        await self._pass_writes(self._factory)
        done = self._factory.advance_all(until_us)
        ordered = Advance(
            _in_time_order(done.points),
            _in_time_order(done.texts),
            _in_time_order(done.arrays),
            done.failures,
        )
        await self._publish(ordered)
        return len(done.points) + len(done.texts) + len(done.arrays)

    async def _pass_writes(self, factory: VirtualFactory) -> None:
        """Pass what clients wrote to process parameters on to the factory: the machine makes
        its next parts with it (other setpoints only hold their value on the server)."""
        parameters = set(factory.parameters)
        written: dict[str, float] = {}
        for modbus in self.modbus:
            values = modbus.values()
            for i in np.flatnonzero(modbus.held).tolist():
                written[modbus.paths[i]] = float(values[i])
        for opcua in self.opcua:
            for slot in opcua.held:
                if opcua.paths[slot] in parameters:
                    node = opcua.server.get_node(opcua.node_ids[slot])
                    written[opcua.paths[slot]] = float(await node.read_value())
        for path, value in written.items():
            if path in parameters and self._held.get(path) != value:
                self._held[path] = value
                try:
                    factory.hold(path, value)
                except SmartfabError as e:  # outside the process's range: the PLC's value only
                    log.warning("%s", e)

    async def _publish(self, samples: Advance) -> None:
        """Every sample (time-ordered) to the OPC UA servers, the latest of each signal to the
        Modbus registers."""
        points, texts, arrays = samples.points, samples.texts, samples.arrays
        for opcua, lookup in zip(self.opcua, self._opcua_slots, strict=True):
            mine = _on(points, lookup)
            await opcua.publish(lookup[mine.signal_id], mine.value, mine.ts, mine.quality)
            text = _on(texts, lookup)
            await opcua.publish_texts(lookup[text.signal_id], text.text, text.ts, text.quality)
            array = _on(arrays, lookup)
            await opcua.publish_arrays(
                lookup[array.signal_id], array.values, array.offsets, array.ts, array.quality
            )
        for modbus, lookup in zip(self.modbus, self._modbus_slots, strict=True):
            latest = _latest(_on(points, lookup))
            modbus.set_values(lookup[latest.signal_id], latest.value)
            text = _latest(_on(texts, lookup))
            if len(text):
                modbus.set_texts(lookup[text.signal_id], text.text.tolist())
            array = _latest(_on(arrays, lookup))
            if len(array):
                rows = [array.row(i) for i in range(len(array))]
                modbus.set_arrays(lookup[array.signal_id], rows)
        if self.mqtt is not None:
            for batch in (points, texts, arrays):
                if len(batch):
                    await self.mqtt.publish(batch)

    async def bench_step(self, k: int) -> int:
        """Give every node a value different from its last one; returns the number of values."""
        ts = now_us()
        value = float(k % 2)  # alternating, so that every write is a data change
        written = 0
        for opcua in self.opcua:
            numbers = opcua.slots("number")
            await opcua.publish(numbers, value, ts)
            written += len(numbers)
        for modbus in self.modbus:
            modbus.set_values(np.arange(len(modbus.paths)), value)
            written += len(modbus.paths)
        return written

    def _slot_lookup(self, paths: Sequence[str]) -> npt.NDArray[np.intp]:
        """Runner signal id -> the server's slot for it, -1 where the server lacks it."""
        lookup = np.full(len(self._ids), -1, np.intp)
        for slot, path in enumerate(paths):
            lookup[self._ids[path]] = slot
        return lookup


Batch = TypeVar("Batch", PointBatch, TextBatch, ArrayBatch)


def _on(points: Batch, lookup: npt.NDArray[np.intp]) -> Batch:
    return points.take(lookup[points.signal_id] >= 0)


def _in_time_order(points: Batch) -> Batch:
    return points.take(np.argsort(points.ts, kind="stable"))


def _latest(points: Batch) -> Batch:
    """The last point of each signal of a time-ordered batch."""
    _, from_end = np.unique(points.signal_id[::-1], return_index=True)
    return points.take(len(points) - 1 - from_end)


Servers = dict[tuple[str, int, str], list[str]]  # (host, port, URL path) -> connection names


def _opcua_servers(plant: Plant, port: int | None) -> Servers:
    servers: Servers = {}
    for c in plant.connections:
        if isinstance(c, OpcUaConnection):
            url = urlparse(c.endpoint)
            key = (url.hostname or "127.0.0.1", url.port or 4840, url.path or "/")
            servers.setdefault(key, []).append(c.name)
    return _moved(servers, port, "OPC UA")


def _modbus_servers(plant: Plant, port: int | None) -> Servers:
    servers: Servers = {}
    for c in plant.connections:
        if isinstance(c, ModbusConnection):
            servers.setdefault((c.host, c.port, ""), []).append(c.name)
    return _moved(servers, port, "Modbus")


def _moved(servers: Servers, port: int | None, protocol: str) -> Servers:
    """``servers`` with the port of its one server replaced by ``port``."""
    if port is None or not servers:
        return servers
    if len(servers) > 1:
        where = ", ".join(f"{host}:{p}" for host, p, _ in servers)
        raise SmartfabError(
            f"the plant has {len(servers)} {protocol} servers ({where}); "
            f"a {protocol} port option can only move a single one"
        )
    (((host, _, path), names),) = servers.items()
    return {(host, port, path): names}


async def run(
    plant: Plant,
    *,
    seed: int,
    stop: asyncio.Event,
    opcua_port: int | None = None,
    modbus_port: int | None = None,
    tick_s: float = DEFAULT_TICK_S,
    bench_rate_hz: float | None = None,
    start_us: int | None = None,
    on_ready: Callable[[Endpoints], None] | None = None,
    mqtt_broker: str | None = None,
    mqtt_mode: Mode = "uns",
    opcua_security: ServerSecurity | None = None,
    writes: Sequence[Written] = (),
) -> None:
    """Serve the plant's virtual devices until ``stop`` is set; with ``mqtt_broker``
    (HOST:PORT) also publish every sample there, as UNS JSON or Sparkplug B. ``writes``: the
    setpoints written to the devices before (a process parameter holds its value over a
    restart)."""
    devices = VirtualDevices(
        plant,
        seed=seed,
        opcua_port=opcua_port,
        modbus_port=modbus_port,
        opcua_security=opcua_security,
        writes=writes,
    )
    if mqtt_broker:
        host, _, port = mqtt_broker.rpartition(":")
        devices.mqtt = VirtualMqttPublisher(
            plant, devices._ids, host=host or "127.0.0.1", port=int(port), mode=mqtt_mode
        )
    await devices.start(start_us)
    try:
        if on_ready is not None:
            on_ready(devices.endpoints)
        loop = asyncio.get_running_loop()
        period = 1 / bench_rate_hz if bench_rate_hz else tick_s
        due = loop.time()
        tick = 0
        while not stop.is_set():
            tick += 1
            if bench_rate_hz:
                await devices.bench_step(tick)
            else:
                await devices.step(now_us())
            # A tick that overran its period is not made up for: the next one starts now.
            due = max(due + period, loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), due - loop.time())
    finally:
        await devices.stop()


async def _stop_when_orphaned(stop: asyncio.Event, every_s: float = 1.0) -> None:
    """Set ``stop`` once the process that started this one is gone: devices killed together with
    their owner (SIGKILL gives it no chance to stop them) must not hold their ports as orphans."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(every_s)
    stop.set()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m smartfab.virtual.runner",
        description="Run a plant's virtual equipment behind real OPC UA and Modbus servers.",
    )
    parser.add_argument("--plant", type=Path, required=True, help="plant file (YAML)")
    parser.add_argument("--opcua-port", type=int, help="move the OPC UA server to this port")
    parser.add_argument("--modbus-port", type=int, help="move the Modbus server to this port")
    parser.add_argument("--seed", type=int, default=42, help="simulation seed")
    parser.add_argument(
        "--start-us", type=int, help="start of the simulation (epoch µs), default: just now"
    )
    parser.add_argument("--tick-ms", type=int, default=round(DEFAULT_TICK_S * 1000))
    parser.add_argument(
        "--bench-rate", type=float, help="bench mode: rewrite every node this many times a second"
    )
    parser.add_argument("--mqtt-broker", help="also publish every sample to this HOST:PORT")
    parser.add_argument("--mqtt-mode", choices=["uns", "sparkplug"], default="uns")
    parser.add_argument("--opcua-cert", type=Path, help="OPC UA server certificate (secure mode)")
    parser.add_argument("--opcua-key", type=Path, help="its private key")
    parser.add_argument("--opcua-trusted", type=Path, help="folder of trusted client certificates")
    parser.add_argument(
        "--setpoint", action="append", default=[], type=_written, metavar="PATH=VALUE@TS",
        help="a setpoint written before, at TS (epoch µs): the device keeps it (repeatable)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    given = [args.opcua_cert, args.opcua_key, args.opcua_trusted]
    if any(given) and not all(given):
        parser.error("--opcua-cert, --opcua-key and --opcua-trusted go together")
    security = ServerSecurity(*given) if all(given) else None
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )

    def ready(endpoints: Endpoints) -> None:
        print(json.dumps(endpoints), flush=True)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        orphaned = asyncio.create_task(_stop_when_orphaned(stop))
        await run(
            load_plant(args.plant),
            seed=args.seed,
            stop=stop,
            opcua_port=args.opcua_port,
            modbus_port=args.modbus_port,
            tick_s=args.tick_ms / 1000,
            bench_rate_hz=args.bench_rate,
            start_us=args.start_us,
            on_ready=ready,
            mqtt_broker=args.mqtt_broker,
            mqtt_mode=args.mqtt_mode,
            opcua_security=security,
            writes=args.setpoint,
        )
        orphaned.cancel()

    try:
        asyncio.run(serve())
    except SmartfabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _written(text: str) -> Written:
    """``PATH=VALUE@TS`` as a setpoint written."""
    path, _, rest = text.partition("=")
    value, _, ts = rest.partition("@")
    try:
        return Written(int(ts), path, float(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected PATH=VALUE@TS") from None


class RunnerProcess:
    """The runner in a child process (``python -m smartfab.virtual.runner``)."""

    def __init__(
        self,
        plant_file: Path,
        *,
        seed: int = 42,
        start_us: int | None = None,
        opcua_port: int | None = None,
        modbus_port: int | None = None,
        tick_ms: int | None = None,
        bench_rate_hz: float | None = None,
        opcua_security: ServerSecurity | None = None,
        writes: Sequence[Written] = (),
    ) -> None:
        self.args = [sys.executable, "-m", _MODULE, "--plant", str(plant_file), "--seed", str(seed)]
        for w in in_force(writes, start_us):
            self.args += ["--setpoint", f"{w.path}={w.value!r}@{w.ts_us}"]
        sec = opcua_security
        for option, value in (
            ("--start-us", start_us),
            ("--opcua-port", opcua_port),
            ("--modbus-port", modbus_port),
            ("--tick-ms", tick_ms),
            ("--bench-rate", bench_rate_hz),
            ("--opcua-cert", sec.certificate if sec else None),
            ("--opcua-key", sec.private_key if sec else None),
            ("--opcua-trusted", sec.trusted_certs if sec else None),
        ):
            if value is not None:
                self.args += [option, str(value)]
        self.endpoints: Endpoints = {}
        self._process: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, timeout_s: float = 60.0) -> Endpoints:
        """Start the child and wait until its servers listen; returns their endpoints."""
        # Its messages go to a file, not a pipe nobody reads, which would fill and block it.
        self._stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 (open while the child runs)
        process = self._process = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=self._stderr, text=True
        )
        assert process.stdout is not None
        deadline = time.monotonic() + timeout_s
        while process.poll() is None and time.monotonic() < deadline:
            readable, _, _ = select.select([process.stdout], [], [], 0.1)
            if readable:
                self.endpoints = json.loads(process.stdout.readline() or "{}")
                if self.endpoints:
                    return self.endpoints
        self._terminate()
        messages = self._messages() or f"not listening after {timeout_s:.0f} s"
        self.stop()
        raise SmartfabError(f"the virtual factory did not start: {messages}")

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """Ask the child to stop (SIGTERM), kill it if it does not; returns its exit code."""
        process = self._process
        if process is None:
            return None
        self._terminate(timeout_s)
        if process.stdout is not None:
            process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        return process.returncode

    def _terminate(self, timeout_s: float = 10.0) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _messages(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return " | ".join(self._stderr.read().strip().splitlines()[-5:])

    def __enter__(self) -> RunnerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
