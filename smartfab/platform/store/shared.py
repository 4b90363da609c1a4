"""One DuckDB file, many processes: the process that holds the store answers the reads of others.

DuckDB lets one process open a database file for writing, and a process that only reads is
locked out as long as it does (and would lock the writer out in turn). So the process that opens
the store through ``duckdb.open_duckdb`` (``smartfab serve``, ``demo``, ``simulate``, a notebook's
``smartfab.connect``) *hosts* it: it listens on a Unix socket in a private folder (mode 0700)
and announces itself next to the store, in ``<store>.host.json`` (mode 0600, readable only by
its owner): its process id, the socket and a random token. Another process that finds the file
locked reads the announcement and gets a :class:`SharedStore`: the same :class:`Store` reads
(``smartfab report``, ``smartfab export``, notebook queries), answered by the holder from its own
connection, as Arrow; writes are refused with a reason. When no holder answers, the error says who
holds the file and what to do.

The protocol is one call per connection: a length-prefixed JSON request (token, method,
arguments), answered by a JSON header and, for tables, an Arrow IPC stream. Only the read methods
of :data:`READS` are served.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import json
import logging
import os
import secrets
import shutil
import socket
import struct
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa

from smartfab.model.plant import ValueKind
from smartfab.platform.points import ArrayBatch, EventBatch, PointBatch, TextBatch
from smartfab.platform.store.base import RetentionReport, SignalInfo, Store, StoreError

log = logging.getLogger(__name__)

READS = frozenset(
    {"signals", "raw", "downsample", "increases", "last_values", "latest", "earliest", "events",
     "state_durations", "count_points", "get_setting"}
)  # fmt: skip
_LENGTH = struct.Struct("!Q")
_WORKERS = 4  # threads answering calls: each keeps one DuckDB cursor, so their number is bounded
_TIMEOUT_S = 30.0  # for a request to arrive; answers may take as long as their query


def announcement(db: Path) -> Path:
    """Where the process holding the store ``db`` announces itself."""
    return db.with_name(db.name + ".host.json")


def _send(sock: socket.socket, data: bytes) -> None:
    sock.sendall(_LENGTH.pack(len(data)) + data)


def _receive(sock: socket.socket) -> bytes:
    (n,) = _LENGTH.unpack(_exactly(sock, _LENGTH.size))
    return _exactly(sock, n)


def _exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise ConnectionError("the connection closed mid-message")
        buf += chunk
    return bytes(buf)


def _plain(o: object) -> object:
    """NumPy numbers and arrays as JSON (signal ids often come as NumPy integers)."""
    tolist = getattr(o, "tolist", None)
    if tolist is None:
        raise TypeError(f"cannot send {type(o).__name__} to the store's host")
    return tolist()


class StoreHost:
    """Answers the read calls of other processes on ``store`` until :meth:`stop`."""

    def __init__(self, store: Store, path: Path) -> None:
        self._store = store
        self._token = secrets.token_urlsafe(32)
        self._folder = Path(tempfile.mkdtemp(prefix="smartfab-store-"))  # mode 0700
        self.socket_path = self._folder / "store.sock"
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.socket_path))
        self._listener.listen(16)
        self._pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="smartfab-store-host")
        self._accepting = threading.Thread(
            target=self._accept, name="smartfab-store-host", daemon=True
        )
        self._accepting.start()
        self.announcement = announcement(path)
        info = {"pid": os.getpid(), "socket": str(self.socket_path), "token": self._token}
        partial = self.announcement.with_name(self.announcement.name + f".{os.getpid()}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
        partial.replace(self.announcement)  # whole or not at all, for a reader at any moment

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed by stop()
                return
            try:
                self._pool.submit(self._answer, conn)
            except RuntimeError:  # the pool is shut down: stopping
                conn.close()
                return

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(_TIMEOUT_S)
                request = json.loads(_receive(conn))
                conn.settimeout(None)
                if not hmac.compare_digest(str(request.get("token", "")), self._token):
                    raise StoreError("wrong token")
                method = request.get("method")
                if method not in READS:
                    raise StoreError(f"{method!r} is not a read this store's host answers")
                result = getattr(self._store, method)(*request["args"], **request["kwargs"])
            except OSError:  # the caller went away
                return
            except Exception as exc:  # the caller's error (or a bug): it hears why, we go on
                if not isinstance(exc, StoreError | ValueError | TypeError | KeyError):
                    log.exception("answering a read of another process")
                why = str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
                with contextlib.suppress(OSError):
                    _send(conn, json.dumps({"error": why}).encode())
                return
            with contextlib.suppress(OSError):
                if isinstance(result, pa.Table):
                    _send(conn, b'{"type": "arrow"}')
                    sink = pa.BufferOutputStream()
                    with pa.ipc.new_stream(sink, result.schema) as writer:
                        writer.write_table(result)
                    _send(conn, sink.getvalue().to_pybytes())
                elif method == "signals":
                    rows = [dataclasses.asdict(s) for s in result]
                    _send(conn, json.dumps({"type": "signals", "value": rows}).encode())
                else:
                    _send(conn, json.dumps({"type": "json", "value": result}).encode())

    def stop(self) -> None:
        """Stop answering: the announcement goes first, so no newcomer is sent here."""
        with contextlib.suppress(OSError):
            if json.loads(self.announcement.read_text()).get("token") == self._token:
                self.announcement.unlink()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._accepting.join(timeout=5)
        self._pool.shutdown(wait=True)  # calls in progress end before the store closes
        shutil.rmtree(self._folder, ignore_errors=True)


class SharedStore(Store):
    """The reads of a store that another process holds, answered by that process."""

    def __init__(self, path: Path, pid: int, socket_path: str, token: str) -> None:
        self.path = path
        self.pid = pid
        self._socket = socket_path
        self._token = token

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        request = json.dumps(
            {"token": self._token, "method": method, "args": args, "kwargs": kwargs},
            default=_plain,
        ).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(self._socket)
                _send(sock, request)
                header = json.loads(_receive(sock))
                if "error" in header:
                    raise StoreError(f"{self.path} (held by process {self.pid}): {header['error']}")
                if header["type"] == "arrow":
                    return pa.ipc.open_stream(_receive(sock)).read_all()
        except OSError as exc:
            raise StoreError(
                f"{self.path} is held by process {self.pid}, which no longer answers ({exc}); "
                "if it has stopped, open the store again (smartfab.connect, or rerun the command)"
            ) from None
        if header["type"] == "signals":
            return [SignalInfo(**row) for row in header["value"]]
        return header["value"]

    def _refuse(self, what: str) -> StoreError:
        return StoreError(
            f"{self.path} is held by process {self.pid} (a running smartfab), which answers "
            f"reads from other processes but not {what}: stop that process to do this"
        )

    def signals(self) -> list[SignalInfo]:
        return list(self._call("signals"))

    def _raw(self, signal_ids: Sequence[int], start: int, end: int, limit: int | None) -> pa.Table:
        return self._call("raw", list(signal_ids), start, end, limit)

    def _raw_values(
        self, kind: ValueKind, signal_ids: Sequence[int], start: int, end: int, limit: int | None
    ) -> pa.Table:
        return self._call("raw", list(signal_ids), start, end, limit, kind=kind)

    def _downsample(self, signal_id: int, start: int, end: int, bucket_us: int) -> pa.Table:
        return self._call("downsample", signal_id, start, end, bucket_us)

    def _increases(self, signal_ids: list[int], start: int, end: int, bucket_us: int) -> pa.Table:
        return self._call("increases", signal_ids, start, end, bucket_us)

    def _last_values(
        self, signal_ids: list[int], start: int, end: int, bucket_us: int, kind: ValueKind
    ) -> pa.Table:
        return self._call("last_values", signal_ids, start, end, bucket_us, kind=kind)

    def _latest(self, signal_ids: Sequence[int] | None) -> pa.Table:
        return self._call("latest", None if signal_ids is None else list(signal_ids))

    def _latest_values(self, kind: ValueKind, signal_ids: Sequence[int] | None) -> pa.Table:
        return self._call("latest", None if signal_ids is None else list(signal_ids), kind=kind)

    def _earliest(self, signal_ids: Sequence[int]) -> pa.Table:
        return self._call("earliest", list(signal_ids))

    def _earliest_values(self, kind: ValueKind, signal_ids: Sequence[int]) -> pa.Table:
        return self._call("earliest", list(signal_ids), kind=kind)

    def _events(
        self,
        start: int,
        end: int,
        equipment: str | None,
        kinds: list[str] | None,
        limit: int | None,
    ) -> pa.Table:
        return self._call("events", start, end, equipment, kinds, limit)

    def _state_durations(self, equipment: str, start: int, end: int) -> pa.Table:
        return self._call("state_durations", equipment, start, end)

    def count_points(
        self, signal_ids: Sequence[int] | None = None, start: int | None = None,
        end: int | None = None,
    ) -> int:  # fmt: skip
        ids = None if signal_ids is None else list(signal_ids)
        return int(self._call("count_points", ids, start, end))

    def get_setting(self, key: str) -> str | None:
        value = self._call("get_setting", key)
        return None if value is None else str(value)

    def register_signals(self, signals: Sequence[SignalInfo]) -> dict[str, int]:
        raise self._refuse("registering signals")

    def append(
        self,
        points: PointBatch,
        events: EventBatch,
        texts: TextBatch | None = None,
        arrays: ArrayBatch | None = None,
    ) -> tuple[int, int]:
        raise self._refuse("storing data")

    def set_setting(self, key: str, value: str) -> None:
        raise self._refuse(f"changing the setting {key!r}")

    def apply_retention(self, now: int | None = None) -> RetentionReport:
        raise self._refuse("applying retention")

    def maintain(self) -> int:
        return 0  # the holder's own housekeeping

    def close(self) -> None:
        pass  # one connection per call: nothing stays open
