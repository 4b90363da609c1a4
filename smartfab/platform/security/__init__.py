"""Identification, authentication, use control and integrity (IEC 62443-4-2 FR1-FR3, parts of
FR5-FR7): users, sessions, API tokens, roles with hierarchy scopes, the hash-chained audit log,
rate limits and the security event log, all kept in one SQLite file (see ``database.py`` for
why). :class:`Security` bundles them for the web app and the commands."""

from __future__ import annotations

from pathlib import Path

from smartfab.platform.security.audit import AuditLog
from smartfab.platform.security.database import SecurityDB
from smartfab.platform.security.events import SecurityEvents
from smartfab.platform.security.ratelimit import LockoutPolicy
from smartfab.platform.security.sessions import Sessions
from smartfab.platform.security.tokens import Tokens
from smartfab.platform.security.users import Users


class Security:
    def __init__(self, path: str | Path, lockout: LockoutPolicy | None = None) -> None:
        self.db = SecurityDB(path)
        self.users = Users(self.db, lockout)
        self.sessions = Sessions(self.db)
        self.tokens = Tokens(self.db)
        self.audit = AuditLog(self.db)
        self.events = SecurityEvents(self.db)

    @property
    def path(self) -> Path:
        return self.db.path

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Security:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Security"]
