"""The security event log: logins (successful and failed), lock-outs, logouts, refused requests
(401, 403, 413, 429) and configuration changes, with who, from where and when, queryable by
admins (``GET /api/security/events``). Unlike the audit log it records attempts, not changes,
and needs no chain: it may be pruned (``prune``) while the audit log may not."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from smartfab.platform.security.database import SecurityDB, now_us


class Kind(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOCKED_OUT = "locked_out"
    LOGOUT = "logout"
    UNAUTHENTICATED = "unauthenticated"
    DENIED = "denied"
    RATE_LIMITED = "rate_limited"
    TOO_LARGE = "too_large"
    CHANGE = "change"


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    id: int
    ts_us: int
    kind: str
    actor: str
    client: str
    detail: str


class SecurityEvents:
    def __init__(self, db: SecurityDB) -> None:
        self._db = db

    def record(self, kind: Kind, actor: str, client: str, detail: str) -> None:
        with self._db.transaction() as con:
            con.execute(
                "INSERT INTO security_events (ts_us, kind, actor, client, detail) "
                "VALUES (?, ?, ?, ?, ?)",
                (now_us(), str(kind), actor, client, detail[:1000]),
            )

    def query(
        self,
        start_us: int | None = None,
        end_us: int | None = None,
        kinds: list[str] | None = None,
        actor: str | None = None,
        limit: int = 1000,
    ) -> list[SecurityEvent]:
        """The newest ``limit`` events matching, oldest first."""
        where: list[str] = ["1 = 1"]
        params: list[object] = []
        if start_us is not None:
            where.append("ts_us >= ?")
            params.append(start_us)
        if end_us is not None:
            where.append("ts_us < ?")
            params.append(end_us)
        if kinds:
            where.append(f"kind IN ({', '.join('?' * len(kinds))})")
            params += kinds
        if actor is not None:
            where.append("actor = ?")
            params.append(actor)
        rows = self._db.rows(
            "SELECT * FROM (SELECT * FROM security_events WHERE "
            + " AND ".join(where)
            + " ORDER BY id DESC LIMIT ?) ORDER BY id",
            [*params, int(limit)],
        )
        return [SecurityEvent(*(r[k] for k in r.keys())) for r in rows]  # noqa: SIM118

    def prune(self, before_us: int) -> int:
        with self._db.transaction() as con:
            return con.execute("DELETE FROM security_events WHERE ts_us < ?", (before_us,)).rowcount
