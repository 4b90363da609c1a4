"""Web sessions: a random 256-bit id in a cookie (Secure, HttpOnly, SameSite=Strict; set by
:mod:`smartfab.web.auth`), stored only as its SHA-256, with an absolute lifetime and an idle
timeout. A session carries no grant of its own: the user's current role, scope and state are
read on every request, so disabling a user or changing the role takes effect at once."""

from __future__ import annotations

import hashlib
import secrets

from smartfab.platform.security.database import SecurityDB, now_us
from smartfab.platform.security.roles import Principal
from smartfab.platform.security.users import _user, principal_of

LIFETIME_S = 12 * 3600  # one long shift
IDLE_S = 2 * 3600
_TOUCH_US = 60_000_000  # last_seen is written at most once a minute, not on every request


def _hash(secret: str) -> str:
    # The id is random and long: a fast hash suffices (no dictionary to guess from), and it
    # is checked on every request.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Sessions:
    def __init__(self, db: SecurityDB, lifetime_s: float = LIFETIME_S, idle_s: float = IDLE_S):
        self._db = db
        self.lifetime_s, self.idle_s = lifetime_s, idle_s

    def create(self, user: str) -> str:
        """A new session of ``user``; returns the id for the cookie (never stored as such)."""
        secret = secrets.token_urlsafe(32)
        now = now_us()
        with self._db.transaction() as con:
            # Expired sessions of anyone are dropped here, so the table never grows unbounded.
            con.execute(
                "DELETE FROM sessions WHERE expires_us <= ? OR last_seen_us <= ?",
                (now, now - int(self.idle_s * 1e6)),
            )
            con.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                (_hash(secret), user, now, now + int(self.lifetime_s * 1e6), now),
            )
        return secret

    def lookup(self, secret: str) -> Principal | None:
        """The principal of a live session of an enabled user, else None."""
        now = now_us()
        rows = self._db.rows(
            "SELECT s.last_seen_us, s.id_hash, u.* FROM sessions s JOIN users u ON u.name = s.user"
            " WHERE s.id_hash = ? AND s.expires_us > ? AND s.last_seen_us > ?",
            (_hash(secret), now, now - int(self.idle_s * 1e6)),
        )
        if not rows:
            return None
        user = _user(rows[0])
        if user.disabled:
            return None
        if now - int(rows[0]["last_seen_us"]) > _TOUCH_US:
            with self._db.transaction() as con:
                con.execute(
                    "UPDATE sessions SET last_seen_us = ? WHERE id_hash = ?", (now, _hash(secret))
                )
        return principal_of(user)

    def end(self, secret: str) -> None:
        with self._db.transaction() as con:
            con.execute("DELETE FROM sessions WHERE id_hash = ?", (_hash(secret),))
