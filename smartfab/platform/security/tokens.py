"""API tokens for machines and scripts: a role, a scope, optionally only some of the role's
permissions, an expiry, revocable. The token is shown once when created; only the SHA-256 of its
secret is stored (it is 256 random bits, so a slow password hash would add nothing but cost on
every request). Format: ``sft_<id>_<secret>``; the id finds the row, the secret proves it."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from smartfab.errors import SmartfabError
from smartfab.platform.security import audit
from smartfab.platform.security.database import SecurityDB, now_us
from smartfab.platform.security.grants import LOCAL, check_grant
from smartfab.platform.security.roles import (
    Principal,
    Role,
    check_permissions,
    check_scope,
    parse_role,
)

PREFIX = "sft_"
_FORMAT = re.compile(r"sft_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
DAY_US = 86_400_000_000
# The longest a token may last (None: for ever, when the grantor may grant that). Beyond it the
# expiry would not be a date a clock or the API can show.
MAX_DAYS = 3660


def check_days(days: float | None) -> float | None:
    """A token's lifetime in days as given, or SmartfabError: positive and at most MAX_DAYS."""
    if days is not None and (
        isinstance(days, bool) or not isinstance(days, int | float) or not 0 < days <= MAX_DAYS
    ):
        raise SmartfabError(
            f"a token lasts more than 0 and at most {MAX_DAYS} days (or never expires)"
        )
    return days


@dataclass(frozen=True, slots=True)
class Token:
    id: str
    name: str
    role: Role
    scope: str
    permissions: list[str]
    created_by: str
    created_us: int
    expires_us: int | None
    revoked_us: int | None
    last_used_us: int | None

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role.value, "scope": self.scope,
                "permissions": self.permissions, "expires_us": self.expires_us}  # fmt: skip


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Tokens:
    def __init__(self, db: SecurityDB) -> None:
        self._db = db

    def create(
        self,
        actor: str,
        name: str,
        role: str,
        scope: str = "",
        permissions: list[str] | None = None,
        expires_days: float | None = 90,
        grantor: Principal = LOCAL,
    ) -> tuple[Token, str]:
        """A new token and its text, which is shown once and never again. ``grantor``: who
        asks (LOCAL: the machine's command line); the token holds no more than they do."""
        if not name.strip():
            raise SmartfabError("a token needs a name (what or who uses it)")
        r, sc = parse_role(role), check_scope(scope)
        perms = sorted(check_permissions(permissions or [], r))
        check_days(expires_days)
        tid, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        now = now_us()
        expires = None if expires_days is None else now + int(expires_days * DAY_US)
        check_grant(grantor, r, sc, frozenset(perms) or None, expires, what="the token")
        with self._db.transaction() as con:
            con.execute(
                "INSERT INTO tokens (id, name, secret_hash, role, scope, permissions, created_by,"
                " created_us, expires_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (tid, name, _hash(secret), r.value, sc, json.dumps(perms), actor, now, expires),
            )
            token = self._get(con, tid)
            audit.append(con, actor, "token.create", f"token:{tid}", None, token.public())
        return token, f"{PREFIX}{tid}_{secret}"

    def list(self) -> list[Token]:
        return [_token(r) for r in self._db.rows("SELECT * FROM tokens ORDER BY created_us")]

    def revoke(self, actor: str, tid: str, grantor: Principal = LOCAL) -> Token:
        """Revoke a token; ``grantor`` must hold the role, permissions and scope it grants (a
        lesser token cannot cut off a greater one). Its lifetime does not matter: revoking
        ends a grant, it makes none."""
        with self._db.transaction() as con:
            before = self._get(con, tid)
            check_grant(
                grantor, before.role, before.scope, frozenset(before.permissions) or None,
                grantor.expires_us, what=f"token {tid}",
            )  # fmt: skip
            if before.revoked_us is None:
                con.execute("UPDATE tokens SET revoked_us = ? WHERE id = ?", (now_us(), tid))
            after = self._get(con, tid)
            audit.append(
                con, actor, "token.revoke", f"token:{tid}",
                before.public() | {"revoked": before.revoked_us is not None},
                after.public() | {"revoked": True},
            )  # fmt: skip
        return after

    def lookup(self, text: str) -> Principal | None:
        """The principal of a valid, unexpired, unrevoked token, else None."""
        m = _FORMAT.fullmatch(text)
        if m is None:
            return None
        rows = self._db.rows("SELECT * FROM tokens WHERE id = ?", (m.group(1),))
        if not rows or not hmac.compare_digest(rows[0]["secret_hash"], _hash(m.group(2))):
            return None
        t = _token(rows[0])
        now = now_us()
        if t.revoked_us is not None or (t.expires_us is not None and t.expires_us <= now):
            return None
        if t.last_used_us is None or now - t.last_used_us > 60_000_000:
            with self._db.transaction() as con:
                con.execute("UPDATE tokens SET last_used_us = ? WHERE id = ?", (now, t.id))
        return Principal(
            name=f"{t.name} ({t.id})",
            kind="token",
            role=t.role,
            scope=t.scope,
            permissions=frozenset(t.permissions) or None,
            expires_us=t.expires_us,
        )

    @staticmethod
    def _get(con: Any, tid: str) -> Token:
        row = con.execute("SELECT * FROM tokens WHERE id = ?", (tid,)).fetchone()
        if row is None:
            raise SmartfabError(f"no token {tid!r}")
        return _token(row)


def _token(r: Any) -> Token:
    return Token(
        id=r["id"],
        name=r["name"],
        role=Role(r["role"]),
        scope=r["scope"],
        permissions=list(json.loads(r["permissions"])),
        created_by=r["created_by"],
        created_us=int(r["created_us"]),
        expires_us=r["expires_us"],
        revoked_us=r["revoked_us"],
        last_used_us=r["last_used_us"],
    )
