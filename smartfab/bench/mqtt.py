"""MQTT ingestion benchmark: points/s from publishers through a real Mosquitto into MqttConnector
workers that emit columnar batches, against the raw limit of the same run (messages/s that a bare
aiomqtt subscriber receives from the same publisher).

Every party is a process of its own, as in a deployment: a publisher sending as fast as the broker
takes it (QoS 1), and one or two workers; two workers share the subscription (``$share/...``).
The broker is a private Mosquitto on a free port (unbounded queues, so nothing is dropped), so
the benchmark neither disturbs nor is disturbed by other users of a shared broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from multiprocessing.sharedctypes import Synchronized
from typing import Any

import aiomqtt
import orjson

from smartfab.devices.connector import Backoff
from smartfab.devices.mqtt.connector import BoundTopic, MqttConnector, MqttOptions
from smartfab.devices.mqtt.sparkplug import SparkplugEdge
from smartfab.errors import SmartfabError
from smartfab.model.plant import MqttConnection
from smartfab.platform.points import AnyPoints, EventBatch

HOST = "127.0.0.1"
EQUIPMENT = 20  # topics (UNS) or devices (Sparkplug)
SIGNALS = 10  # per equipment


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def private_mosquitto() -> Iterator[int]:
    """A Mosquitto of the benchmark's own on a free port; yields the port."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(exe):
        raise SmartfabError("mosquitto is not installed (apt-get install mosquitto)")
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as conf:
        conf.write(f"listener {port} {HOST}\nallow_anonymous true\nmax_queued_messages 0\n")
        conf.flush()
        process = subprocess.Popen([exe, "-c", conf.name], stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while socket.socket().connect_ex((HOST, port)) != 0:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SmartfabError(f"mosquitto did not start on port {port}")
                time.sleep(0.05)
            yield port
        finally:
            process.terminate()
            process.wait(10)


def _bound(kind: str) -> list[BoundTopic]:
    out = []
    for e in range(EQUIPMENT):
        for s in range(SIGNALS):
            sid = e * SIGNALS + s
            if kind == "uns":
                out.append(BoundTopic(f"e{e}/s{s}", f"bench/s/a/l/c/e{e}", f"values.s{s}", sid))
            else:
                out.append(BoundTopic(f"e{e}/s{s}", f"spBv1.0/bench/a.l/c.e{e}", f"s{s}", sid))
    return out


def _messages(kind: str, n: int, records: int) -> list[tuple[str, bytes]]:
    """``n`` messages of ``records`` sample times x SIGNALS points, round robin over equipment."""
    names = [f"s{s}" for s in range(SIGNALS)]
    t0 = 1_763_000_000_000
    if kind == "uns":
        out = []
        for i in range(n):
            recs = [{"ts": t0 + i * records + r, "values": {k: float(i + r) for k in names}}
                    for r in range(records)]  # fmt: skip
            out.append((f"bench/s/a/l/c/e{i % EQUIPMENT}", orjson.dumps(recs)))
        return out
    edge = SparkplugEdge("bench", "a.l", {f"c.e{e}": names for e in range(EQUIPMENT)})
    out = edge.births(t0, {f"c.e{e}": [0.0] * SIGNALS for e in range(EQUIPMENT)})
    for i in range(n):
        ts = [t0 + i * records + r for r in range(records) for _ in names]
        index = [s for _ in range(records) for s in range(SIGNALS)]
        out.append(edge.data(f"c.e{i % EQUIPMENT}", ts, index, [float(i)] * len(ts)))
    return out


def _varint(n: int) -> bytes:
    """An MQTT remaining length (variable byte integer)."""
    out = bytearray()
    while True:
        n, byte = divmod(n, 128)
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish_qos1(
    port: int, messages: list[tuple[str, bytes]], go: Any = None, window: int = 1000
) -> None:
    """Publish ``messages`` at QoS 1 (MQTT 3.1.1) once ``go`` (an Event, if given) is set, as fast
    as the broker acknowledges them, up to ``window`` unacknowledged; return when every PUBACK
    is in. The packets are framed before ``go`` and written in runs over a bare socket: the
    load generator should cost next to nothing of the cores it shares with what it measures
    (paho or aiomqtt spend a few hundred microseconds of Python per message)."""
    packets = []
    for i, (topic, payload) in enumerate(messages):
        name = topic.encode()
        body = len(name).to_bytes(2, "big") + name + (i % 0xFFFF + 1).to_bytes(2, "big") + payload
        packets.append(b"\x32" + _varint(len(body)) + body)
    client_id = f"bench-publisher-{os.getpid()}".encode()
    # protocol name and level 4 (3.1.1), clean session, no keep-alive (no pings to answer)
    connect = b"\x00\x04MQTT\x04\x02\x00\x00" + len(client_id).to_bytes(2, "big") + client_id
    with socket.create_connection((HOST, port)) as sock:
        sock.sendall(b"\x10" + _varint(len(connect)) + connect)
        connack = sock.recv(4)
        if connack[:1] != b"\x20" or connack[3:4] != b"\x00":
            raise SmartfabError(f"the broker refused the publisher: CONNACK {connack.hex()}")
        room = threading.Semaphore(window)
        acks = bytearray()

        def read_acks() -> None:  # the broker sends nothing but PUBACKs (4 bytes each) here
            while len(acks) < 4 * len(packets):
                data = sock.recv(1 << 16)
                if not data:
                    return
                before = len(acks) // 4
                acks.extend(data)
                room.release(len(acks) // 4 - before)

        reader = threading.Thread(target=read_acks, daemon=True)
        reader.start()
        if go is not None:
            go.wait()
        step = min(100, window)  # a run never waits for acknowledgements of itself
        for i in range(0, len(packets), step):
            run = packets[i : i + step]
            for _ in run:
                room.acquire()
            sock.sendall(b"".join(run))
        reader.join()
        if len(acks) != 4 * len(packets) or set(acks[::4]) != {0x40}:
            raise SmartfabError(f"{len(acks) // 4} PUBACKs for {len(packets)} messages")
        sock.sendall(b"\xe0\x00")  # DISCONNECT


def _publisher(port: int, messages: list[tuple[str, bytes]], go: Any) -> None:
    publish_qos1(port, messages, go)


def _worker(kind: str, port: int, group: str | None, done: Synchronized[int], total: int,
            ready: Any) -> None:  # fmt: skip
    connection = MqttConnection(name="bench", protocol="mqtt", host=HOST, port=port)
    options = MqttOptions(shared_group=group, qos=1)
    connector = MqttConnector(connection, _bound(kind), options=options, backoff=Backoff())

    async def points(batch: AnyPoints) -> None:
        with done.get_lock():
            done.value += len(batch)

    async def events(batch: EventBatch) -> None:
        pass

    async def main() -> None:
        task = asyncio.create_task(connector.run(points, events))
        while connector.status.state != "connected":
            await asyncio.sleep(0.01)
        ready.set()
        while done.value < total and not task.done():
            await asyncio.sleep(0.01)
        connector.stop()
        await task

    asyncio.run(main())


def _raw(port: int, count: Synchronized[int], total: int, ready: Any) -> None:
    async def main() -> None:
        async with aiomqtt.Client(HOST, port) as client:
            await client.subscribe("#", qos=1)
            ready.set()
            async for _ in client.messages:
                with count.get_lock():
                    count.value += 1
                if count.value >= total:
                    return

    asyncio.run(main())


def _run(kind: str, port: int, workers: int, messages: list[tuple[str, bytes]],
         expected: int, timeout_s: float) -> float:  # fmt: skip
    """Seconds from the publisher's start until ``expected`` points (or messages, raw) arrived."""
    ctx = mp.get_context("spawn")
    done = ctx.Value("q", 0)
    go = ctx.Event()
    group = f"bench-{os.getpid()}" if workers > 1 else None
    readies = [ctx.Event() for _ in range(workers)]
    procs = [
        ctx.Process(target=_raw, args=(port, done, expected, readies[0])) if kind == "raw"
        else ctx.Process(target=_worker, args=(kind, port, group, done, expected, r))
        for r in readies
    ]  # fmt: skip
    publisher = ctx.Process(target=_publisher, args=(port, messages, go))
    for p in [*procs, publisher]:
        p.start()
    try:
        for r in readies:
            if not r.wait(30):
                raise SmartfabError("a worker did not subscribe within 30 s")
        time.sleep(0.3)  # the publisher connects
        start = time.perf_counter()
        go.set()
        deadline = start + timeout_s
        while done.value < expected and time.perf_counter() < deadline:
            time.sleep(0.002)
        elapsed = time.perf_counter() - start
        if done.value < expected:
            raise SmartfabError(f"{kind}: {done.value} of {expected} arrived in {timeout_s} s")
        return elapsed
    finally:
        for p in [publisher, *procs]:
            p.join(10)
            if p.is_alive():
                p.terminate()
                p.join()


def bench_mqtt(messages: int = 20_000, records: int = 5, timeout_s: float = 120) -> dict[str, Any]:
    """Figures of one run; ``records`` sample times per message, each with SIGNALS points."""
    points_per_msg = records * SIGNALS
    figures: dict[str, Any] = {"messages": messages, "points_per_message": points_per_msg}
    with private_mosquitto() as port:
        uns = _messages("uns", messages, records)
        spb = _messages("sparkplug", messages, records)
        raw_s = _run("raw", port, 1, uns, messages, timeout_s)
        figures["raw_messages_per_s"] = round(messages / raw_s)
        figures["raw_points_per_s"] = round(messages * points_per_msg / raw_s)
        for kind, msgs, extra in (("uns", uns, 0), ("sparkplug", spb, EQUIPMENT * SIGNALS)):
            # Sparkplug's DBIRTHs carry every metric once more; they count as points too. Two
            # Sparkplug workers would not share one subscription: births must reach every worker
            # and sequence numbers need every message of a node, so Sparkplug scales by splitting
            # edge nodes between workers instead.
            expected = messages * points_per_msg + extra
            workers = (1, 2) if kind == "uns" else (1,)
            for w in workers:
                s = _run(kind, port, w, msgs, expected, timeout_s)
                figures[f"{kind}_points_per_s_{w}_worker{'s' if w > 1 else ''}"] = round(
                    expected / s
                )
    figures["uns_to_raw_ratio"] = round(
        figures["uns_points_per_s_1_worker"] / figures["raw_points_per_s"], 3
    )
    figures["cpu_count"] = os.cpu_count() or 0
    figures["note"] = "raw: messages/s of a bare aiomqtt subscriber, x points per message"
    return figures
