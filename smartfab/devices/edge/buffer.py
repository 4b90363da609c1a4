"""The edge agent's durable queue: batches of points on disk, oldest first, until the broker has
acknowledged them.

It is an SQLite database in WAL mode with ``synchronous=FULL``: every append is one transaction,
on disk (fsynced) before ``append`` returns, so a batch survives a kill -9 or a power cut the
moment the connector has handed it over. A batch is stored as its columns (NumPy bytes), never a
row per point: numbers as ts, signal id, value and quality (21 bytes a point); texts with their
UTF-8 bytes one after the other as the value and where each ends in ``offsets``; arrays with their
elements (float64) one after the other and ``offsets`` the same way. Sources that can replay (the
virtual factory) keep their position in the same transaction as the batch, so that after a crash
they resume exactly after the last batch that is safe on disk.

Events (the outages of the agent's devices, ``gap`` events) wait in a table of their own, a row
each (they are rare), forwarded and acknowledged like the points.

The file says its format in SQLite's ``user_version``: 0 is the first one (numbers only) and 2 the
one without events, which opening upgrades in place; 3 is this one; a later one is refused, since
this version cannot read what it would hold.

The queue is bounded (``max_bytes`` of column data). When a new batch does not fit, the *oldest*
batches are dropped to make room and counted (``dropped_points``, kept on disk): after a very long
broker outage the newest data, which operators look at first, is the data kept, and the counter
says how much is missing. A batch larger than the whole bound is kept alone.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from smartfab.errors import SmartfabError
from smartfab.platform.points import AnyPoints, ArrayBatch, EventBatch, PointBatch, TextBatch

_FORMAT = 3  # user_version of the file (see the module's doc)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    points INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    ts BLOB NOT NULL, signal_id BLOB NOT NULL, value BLOB NOT NULL, quality BLOB NOT NULL,
    kind TEXT NOT NULL DEFAULT 'number', offsets BLOB
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts INTEGER NOT NULL, equipment TEXT NOT NULL, kind TEXT NOT NULL, code TEXT NOT NULL,
    value REAL, detail TEXT NOT NULL
);
"""
# Format 0 to 2: the kind of a batch, and where each text or array of it ends.
_UPGRADE = """
ALTER TABLE batches ADD COLUMN kind TEXT NOT NULL DEFAULT 'number';
ALTER TABLE batches ADD COLUMN offsets BLOB;
"""
_DROPPED = "dropped_points"


@dataclass
class BufferStats:
    """What the queue holds, and what it had to drop since it was created."""

    batches: int = 0
    points: int = 0
    bytes: int = 0
    dropped_points: int = 0
    events: int = 0


class DiskBuffer:
    """A bounded, durable FIFO of batches of points of every kind in ``folder/buffer.sqlite``.
    Thread-safe: the agent calls it from worker threads (``asyncio.to_thread``), since every
    append waits for the disk."""

    def __init__(self, folder: Path, max_bytes: int = 1 << 30) -> None:
        if max_bytes <= 0:
            raise SmartfabError(f"edge buffer bound of {max_bytes} bytes: must be positive")
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "buffer.sqlite"
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # fsync at every commit
            self._upgrade()
            n, points, size = self._db.execute(
                "SELECT count(*), coalesce(sum(points), 0), coalesce(sum(bytes), 0) FROM batches"
            ).fetchone()
            (events,) = self._db.execute("SELECT count(*) FROM events").fetchone()
        except sqlite3.Error as exc:
            raise SmartfabError(f"{self.path}: cannot open the edge buffer: {exc}") from exc
        self.stats = BufferStats(n, points, size, int(self.get(_DROPPED) or 0), events)

    def _upgrade(self) -> None:
        """Create the tables, or bring an older file's to this format (one transaction)."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > _FORMAT:
            raise SmartfabError(
                f"{self.path}: edge buffer of format {version}, written by a newer smartfab; "
                f"this one reads format {_FORMAT} and older (forward its batches with the newer "
                "agent, or move the file away to start an empty buffer)"
            )
        if version == _FORMAT:
            return
        old = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'batches'").fetchone()
        columns = _UPGRADE if old and version < 2 else ""
        # executescript commits what is pending first, then runs the script as it is written;
        # the schema creates only the tables missing.
        self._db.executescript(
            f"BEGIN IMMEDIATE; {columns} {_SCHEMA} PRAGMA user_version = {_FORMAT}; COMMIT;"
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get(self, key: str) -> str | None:
        """A value kept with ``append(..., keep=...)``, e.g. a source's position."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def append(self, batch: AnyPoints, keep: Mapping[str, str] | None = None) -> None:
        """Store ``batch`` (and the ``keep`` values) durably; drop the oldest batches first if
        the bound requires it."""
        kind, value, offsets = _values(batch)
        cols = (
            np.ascontiguousarray(batch.ts, np.int64).tobytes(),
            np.ascontiguousarray(batch.signal_id, np.int32).tobytes(),
            value,
            np.ascontiguousarray(batch.quality, np.uint8).tobytes(),
            offsets,
        )
        size = sum(len(c) for c in cols if c is not None)
        with self._lock, self._db:  # one transaction: the batch, the drops and the kept values
            self._db.execute("BEGIN IMMEDIATE")
            dropped, gone, freed = self._make_room(size) if len(batch) else (0, 0, 0)
            if len(batch):
                self._db.execute(
                    "INSERT INTO batches (points, bytes, ts, signal_id, value, quality, offsets,"
                    " kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (len(batch), size, *cols, kind),
                )
            kept = dict(keep or {})
            if dropped:
                kept[_DROPPED] = str(self.stats.dropped_points + dropped)
            self._db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(kept.items()),
            )
        # Counted once the transaction is committed: a failed commit changed nothing.
        self.stats.dropped_points += dropped
        self.stats.batches -= gone
        self.stats.points -= dropped
        self.stats.bytes -= freed
        if len(batch):
            self.stats.batches += 1
            self.stats.points += len(batch)
            self.stats.bytes += size

    def _make_room(self, size: int) -> tuple[int, int, int]:
        """Delete the oldest batches until ``size`` more bytes fit (inside the caller's
        transaction); the points, batches and bytes dropped."""
        dropped = gone = freed = 0
        over = self.stats.bytes + size - self.max_bytes
        while over > 0:
            row = self._db.execute(
                "SELECT seq, points, bytes FROM batches ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                break
            self._db.execute("DELETE FROM batches WHERE seq = ?", (row[0],))
            dropped, gone, freed = dropped + row[1], gone + 1, freed + row[2]
            over -= row[2]
        return dropped, gone, freed

    def peek(self, max_points: int) -> tuple[int, list[AnyPoints]] | None:
        """The oldest batches up to ``max_points`` (at least one batch), concatenated per kind
        (numbers, texts, arrays: those there are), and the sequence number of the last of them
        for ``ack``; None when the queue is empty."""
        with self._lock:
            # Sizes first, then the columns of only the batches taken: after a long outage the
            # queue may hold gigabytes.
            sizes = self._db.execute(
                "SELECT seq, points FROM batches ORDER BY seq LIMIT 10000"
            ).fetchall()
            if not sizes:
                return None
            total, last = 0, sizes[0][0]
            for seq, points in sizes:
                if total and total + points > max_points:
                    break
                total, last = total + points, seq
            rows = self._db.execute(
                "SELECT kind, ts, signal_id, value, quality, offsets FROM batches WHERE seq <= ?"
                " ORDER BY seq",
                (last,),
            ).fetchall()
        numbers: list[PointBatch] = []
        texts: list[TextBatch] = []
        arrays: list[ArrayBatch] = []
        for row in rows:
            batch = _batch(*row)
            if isinstance(batch, TextBatch):
                texts.append(batch)
            elif isinstance(batch, ArrayBatch):
                arrays.append(batch)
            else:
                numbers.append(batch)
        out: list[AnyPoints] = [PointBatch.concat(numbers)] if numbers else []
        if texts:
            out.append(TextBatch.concat(texts))
        if arrays:
            out.append(ArrayBatch.concat(arrays))
        return last, out

    def ack(self, through: int) -> None:
        """Delete the batches up to sequence number ``through``: the broker has them."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            n, points, size = self._db.execute(
                "SELECT count(*), coalesce(sum(points), 0), coalesce(sum(bytes), 0) "
                "FROM batches WHERE seq <= ?",
                (through,),
            ).fetchone()
            self._db.execute("DELETE FROM batches WHERE seq <= ?", (through,))
        self.stats.batches -= n
        self.stats.points -= points
        self.stats.bytes -= size

    def append_events(self, events: EventBatch) -> None:
        """Store ``events`` durably (one transaction)."""
        rows = list(zip(
            events.ts.tolist(), events.equipment.tolist(), events.kind.tolist(),
            events.code.tolist(), [None if v != v else v for v in events.value.tolist()],
            events.detail.tolist(), strict=True,
        ))  # fmt: skip
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO events (ts, equipment, kind, code, value, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        self.stats.events += len(rows)

    def peek_events(self, max_events: int = 1000) -> tuple[int, EventBatch] | None:
        """The oldest events (up to ``max_events``) and the sequence number of the last of them
        for ``ack_events``; None when there are none."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, ts, equipment, kind, code, value, detail FROM events ORDER BY seq"
                " LIMIT ?",
                (max_events,),
            ).fetchall()
        if not rows:
            return None
        seq, ts, equipment, kind, code, value, detail = zip(*rows, strict=True)
        values = [math.nan if v is None else v for v in value]
        return seq[-1], EventBatch.of(ts, equipment, kind, code, values, detail)

    def ack_events(self, through: int) -> None:
        """Delete the events up to sequence number ``through``: the broker has them."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            gone = self._db.execute("DELETE FROM events WHERE seq <= ?", (through,)).rowcount
        self.stats.events -= gone


def _values(batch: AnyPoints) -> tuple[str, bytes, bytes | None]:
    """A batch's kind, its values as bytes and, for texts and arrays, where each point's end."""
    if isinstance(batch, PointBatch):
        return "number", np.ascontiguousarray(batch.value, np.float64).tobytes(), None
    if isinstance(batch, TextBatch):
        # Lone surrogates (no valid Unicode, hence no UTF-8) become "?": the broker and the
        # stores would refuse them, and a batch nobody can forward would block the queue.
        texts = [t.encode("utf-8", "replace") for t in batch.text.tolist()]
        ends = np.cumsum([len(t) for t in texts], dtype=np.int64)
        return "text", b"".join(texts), ends.tobytes()
    ends = np.ascontiguousarray(batch.offsets[1:] - batch.offsets[0], np.int64)
    values = batch.values[batch.offsets[0] : batch.offsets[-1]]
    return "array", np.ascontiguousarray(values, np.float64).tobytes(), ends.tobytes()


def _batch(
    kind: str, ts: bytes, sid: bytes, value: bytes, quality: bytes, ends: bytes | None
) -> AnyPoints:
    """A stored batch (see ``_values``)."""
    columns = (np.frombuffer(ts, np.int64), np.frombuffer(sid, np.int32))
    q = np.frombuffer(quality, np.uint8)
    if kind == "number":
        return PointBatch(*columns, np.frombuffer(value, np.float64), q)
    offsets = np.zeros(columns[0].shape[0] + 1, np.int64)
    offsets[1:] = np.frombuffer(ends or b"", np.int64)
    if kind == "array":
        return ArrayBatch(*columns, np.frombuffer(value, np.float64), offsets, q)
    if kind != "text":  # only a newer format writes other kinds, and it is refused on opening
        raise SmartfabError(f"edge buffer: a batch of unknown kind {kind!r}")
    text = np.empty(columns[0].shape[0], object)
    text[:] = [value[a:b].decode() for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(),
                                                   strict=True)]  # fmt: skip
    return TextBatch(*columns, text, q)
