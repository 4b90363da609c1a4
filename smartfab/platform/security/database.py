"""The security database: users, sessions, API tokens, the audit chain and the security event log
in one small SQLite file next to the store (``security.sqlite``), owner-readable only.

Why a file of its own rather than tables in the store: the data are a few thousand rows of
transactional records (unique names, updates in place, lock-out counters), which SQLite does well
and a columnar time-series store does not; one implementation serves both store kinds (no twin
in DuckDB and PostgreSQL plus a migration); the file can be protected, backed up and restored
apart from the plant's data; and, above all, SQLite lets several processes use it at once (WAL),
so that ``smartfab users add`` and ``smartfab audit verify`` work while the server runs, whereas
an embedded DuckDB file admits one writing process.

One connection, shared by the threads of the web server under a lock: every statement is short
(an index lookup or an insert), so the lock is never held for long."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from smartfab.errors import SmartfabError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    scope TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_us INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until_us INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name),
    created_us INTEGER NOT NULL,
    expires_us INTEGER NOT NULL,
    last_seen_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    scope TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    expires_us INTEGER,
    revoked_us INTEGER,
    last_used_us INTEGER
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    ts_us INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT NOT NULL,
    after TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
-- The head of the chain (last seq and hash), written with each entry: cutting entries off the
-- end leaves a head that no longer matches.
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
-- Append-only by construction: the application never updates or deletes an entry, and SQLite
-- refuses it too. (Whoever can rewrite the file can drop these; the hash chain catches that.)
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS security_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_us INTEGER NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    client TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS security_events_ts ON security_events (ts_us);
-- Failed logins per account name (existing or not) and client address: the login throttle.
CREATE TABLE IF NOT EXISTS login_failures (
    account TEXT NOT NULL,
    client TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last_us INTEGER NOT NULL,
    PRIMARY KEY (account, client)
);
CREATE INDEX IF NOT EXISTS login_failures_last ON login_failures (last_us);
"""


def now_us() -> int:
    return time.time_ns() // 1000


class SecurityDB:
    """The SQLite file; :meth:`transaction` for writes, :meth:`rows` for reads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not self.path.exists()
            self._con = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10
            )
            if fresh:  # password hashes and session hashes: nobody else needs to read them
                os.chmod(self.path, 0o600)
            self._con.row_factory = sqlite3.Row
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.execute("PRAGMA foreign_keys=ON")
            self._con.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise SmartfabError(f"{self.path}: cannot open the security database: {exc}") from exc
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Everything inside is written, or (on any error) nothing. IMMEDIATE takes the write
        lock at once, so that a read-then-write (the audit chain's head) cannot interleave with
        another process's."""
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    def rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._con.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._con.close()
