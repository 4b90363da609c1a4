"""The audit log: every change (who, when, what, before and after), append-only, each entry
carrying the hash of the one before it.

An entry's hash is SHA-256 over its sequence number, time, actor, action, target, before, after
and the previous entry's hash, in a canonical JSON form. Editing an entry changes its hash;
deleting one leaves a gap in the sequence and a broken link; reordering breaks the links; cutting
entries off the end leaves a head (stored with every entry) that no longer matches. Whoever can
rewrite the whole file can also recompute the whole chain, so :func:`verify` reports the head's
hash: noted elsewhere (a ticket, a printout, a second system), it anchors the chain up to there."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from smartfab.platform.security.database import SecurityDB, now_us

GENESIS = "0" * 64  # the "previous hash" of the first entry


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    ts_us: int
    actor: str
    action: str
    target: str
    before: Any
    after: Any
    prev_hash: str
    hash: str


@dataclass(slots=True)
class Verification:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    seq: int, ts_us: int, actor: str, action: str, target: str, before: str, after: str, prev: str
) -> str:
    text = _canonical([seq, ts_us, actor, action, target, before, after, prev])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class AuditLog:
    def __init__(self, db: SecurityDB) -> None:
        self._db = db

    def record(self, actor: str, action: str, target: str, before: Any, after: Any) -> AuditEntry:
        """Append one entry in a transaction of its own."""
        with self._db.transaction() as con:
            return append(con, actor, action, target, before, after)

    def entries(
        self,
        limit: int = 1000,
        actor: str | None = None,
        action: str | Sequence[str] | None = None,
        under: str | None = None,
    ) -> list[AuditEntry]:
        """The newest ``limit`` entries, oldest first; of one actor, of one action (or any of
        several), of targets that are the asset path ``under`` or lie below it."""
        where, params = _filters(actor, action, under)
        rows = self._db.rows(
            f"SELECT * FROM (SELECT * FROM audit {where} ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            [*params, int(limit)],
        )
        return [_entry(r) for r in rows]

    def verify(self) -> Verification:
        """Walk the whole chain; every broken link, edited entry, gap and a head that does not
        match the last entry is a problem, named by sequence number."""
        out = Verification()
        prev, expected = GENESIS, 1
        for r in self._db.rows("SELECT * FROM audit ORDER BY rowid"):
            seq = int(r["seq"])
            if seq != expected:
                out.problems.append(
                    f"entry {seq}: expected entry {expected} here (deleted or reordered entries)"
                )
            if r["prev_hash"] != prev:
                out.problems.append(f"entry {seq}: does not link to the entry before it")
            h = entry_hash(
                seq, r["ts_us"], r["actor"], r["action"], r["target"], r["before"], r["after"],
                r["prev_hash"],
            )  # fmt: skip
            if h != r["hash"]:
                out.problems.append(f"entry {seq}: its content does not match its hash (edited)")
            prev, expected = r["hash"], seq + 1
            out.entries += 1
            out.head_seq, out.head_hash = seq, r["hash"]
        head = self._db.rows("SELECT seq, hash FROM audit_head")
        stored = (int(head[0]["seq"]), str(head[0]["hash"])) if head else (0, GENESIS)
        if stored != (out.head_seq, out.head_hash):
            out.problems.append(
                f"the log ends at entry {out.head_seq} but its head records entry {stored[0]} "
                "(entries cut off the end, or the head edited)"
            )
        return out


def append(
    con: sqlite3.Connection, actor: str, action: str, target: str, before: Any, after: Any
) -> AuditEntry:
    """Append one entry inside the caller's transaction, so that a change and its audit entry
    are stored together or not at all."""
    head = con.execute("SELECT seq, hash FROM audit_head").fetchone()
    seq, prev = (int(head[0]) + 1, str(head[1])) if head else (1, GENESIS)
    ts = now_us()
    b, a = _canonical(before), _canonical(after)
    h = entry_hash(seq, ts, actor, action, target, b, a, prev)
    con.execute(
        "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, ts, actor, action, target, b, a, prev, h),
    )
    con.execute("INSERT OR REPLACE INTO audit_head VALUES (1, ?, ?)", (seq, h))
    return AuditEntry(seq, ts, actor, action, target, before, after, prev, h)


def _filters(
    actor: str | None, action: str | Sequence[str] | None, under: str | None
) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    if actor is not None:
        parts.append("actor = ?")
        params.append(actor)
    if action is not None:
        actions = [action] if isinstance(action, str) else list(action)
        parts.append(f"action IN ({', '.join('?' * len(actions))})")
        params += actions
    if under is not None:
        # substr, not LIKE: paths may hold '_', which LIKE would take for a wildcard.
        prefix = under.strip("/") + "/"
        parts.append("(target = ? OR substr(target, 1, ?) = ?)")
        params += [under.strip("/"), len(prefix), prefix]
    return ("WHERE " + " AND ".join(parts) if parts else ""), params


def _entry(r: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        seq=int(r["seq"]),
        ts_us=int(r["ts_us"]),
        actor=r["actor"],
        action=r["action"],
        target=r["target"],
        before=json.loads(r["before"]),
        after=json.loads(r["after"]),
        prev_hash=r["prev_hash"],
        hash=r["hash"],
    )
