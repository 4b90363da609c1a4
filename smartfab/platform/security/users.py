"""Users: names, Argon2id password hashes (argon2-cffi, RFC 9106 parameters), a role and a scope,
growing delays after repeated failed logins (per account name and client address, the same for
names that do not exist; see :class:`~smartfab.platform.security.ratelimit.LockoutPolicy`).
There are no default passwords: the first start creates ``admin`` with a generated password that
is printed once (:meth:`Users.ensure_admin`)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from smartfab.errors import SmartfabError
from smartfab.platform.security import audit
from smartfab.platform.security.database import SecurityDB, now_us
from smartfab.platform.security.grants import LOCAL, check_grant
from smartfab.platform.security.ratelimit import LockoutPolicy
from smartfab.platform.security.roles import Principal, Role, check_scope, parse_role

MIN_PASSWORD = 10
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_hasher = PasswordHasher()
# Verified when the user does not exist, so that a wrong name takes as long as a wrong password
# and response times do not tell which names exist.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


class LoginRefused(SmartfabError):
    """A login failed; ``retry_after_s`` is set when the attempt was not even checked because
    this client must wait after its failures for this account."""

    def __init__(self, message: str, retry_after_s: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    scope: str
    disabled: bool
    created_us: int

    def public(self) -> dict[str, Any]:
        """As the audit log and the API show it: never the hash."""
        return {"name": self.name, "role": self.role.value, "scope": self.scope,
                "disabled": self.disabled}  # fmt: skip


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise SmartfabError(f"a password needs at least {MIN_PASSWORD} characters")


class Users:
    def __init__(self, db: SecurityDB, lockout: LockoutPolicy | None = None) -> None:
        self._db = db
        self.lockout = lockout or LockoutPolicy()

    def get(self, name: str) -> User | None:
        rows = self._db.rows("SELECT * FROM users WHERE name = ?", (name,))
        return _user(rows[0]) if rows else None

    def list(self) -> list[User]:
        return [_user(r) for r in self._db.rows("SELECT * FROM users ORDER BY name")]

    def add(
        self,
        actor: str,
        name: str,
        role: str,
        scope: str = "",
        password: str | None = None,
        grantor: Principal = LOCAL,
    ) -> str:
        """Create a user; returns the password (generated when none is given). ``grantor``: who
        asks (LOCAL: the machine's command line); the user holds no more than they do."""
        if not _NAME.fullmatch(name):
            raise SmartfabError(f"user name {name!r}: letters, digits and . _ @ - only")
        r, sc = parse_role(role), check_scope(scope)
        check_grant(grantor, r, sc, what=f"user {name!r}")
        password = password if password is not None else generate_password()
        check_password(password)
        h = _hasher.hash(password)
        with self._db.transaction() as con:
            if con.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise SmartfabError(f"user {name!r} exists already")
            con.execute(
                "INSERT INTO users (name, password_hash, role, scope, created_us) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, h, r.value, sc, now_us()),
            )
            after = {"name": name, "role": r.value, "scope": sc, "disabled": False}
            audit.append(con, actor, "user.add", f"user:{name}", None, after)
        return password

    def ensure_admin(self) -> str | None:
        """On first start (no user at all): create ``admin`` with a generated password and
        return it, to be shown once. None when users exist."""
        if self._db.rows("SELECT 1 FROM users LIMIT 1"):
            return None
        return self.add("smartfab", "admin", Role.ADMIN.value)

    def update(
        self,
        actor: str,
        name: str,
        *,
        role: str | None = None,
        scope: str | None = None,
        disabled: bool | None = None,
        password: str | None = None,
        grantor: Principal = LOCAL,
    ) -> User:
        """Change a user; a new password, a disabled account or a changed grant ends the
        user's sessions (they are checked against the user on every request anyway), and a new
        password forgets the account's failed logins. ``grantor`` must hold the user's grant
        before and after the change: nobody takes over, demotes or raises someone above
        themselves."""
        changes: dict[str, Any] = {}
        if role is not None:
            changes["role"] = parse_role(role).value
        if scope is not None:
            changes["scope"] = check_scope(scope)
        if disabled is not None:
            changes["disabled"] = int(disabled)
        if password is not None:
            check_password(password)
            changes["password_hash"] = _hasher.hash(password)
        with self._db.transaction() as con:
            row = con.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise SmartfabError(f"no user {name!r}")
            before = _user(row)
            check_grant(grantor, before.role, before.scope, what=f"user {name!r}")
            check_grant(
                grantor, Role(changes.get("role", before.role)),
                changes.get("scope", before.scope), what=f"user {name!r} as changed",
            )  # fmt: skip
            if changes:
                sets = ", ".join(f"{k} = ?" for k in changes)
                con.execute(f"UPDATE users SET {sets} WHERE name = ?", [*changes.values(), name])
                con.execute("DELETE FROM sessions WHERE user = ?", (name,))
            if password is not None:
                con.execute("DELETE FROM login_failures WHERE account = ?", (name,))
            after = _user(con.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone())
            if before.role is Role.ADMIN and not before.disabled and not before.scope:
                _keep_an_admin(con, name)
            shown_after = after.public() | ({"password": "changed"} if password else {})
            audit.append(con, actor, "user.update", f"user:{name}", before.public(), shown_after)
        return after

    def authenticate(self, name: str, password: str, client: str = "") -> Principal:
        """The user's principal if the password is right and the account usable; otherwise
        :class:`LoginRefused`. A name that does not exist is refused, counted and delayed
        exactly like a wrong password, so that neither the answer nor its timing tells which
        names exist. ``client``: the address the attempt comes from."""
        name = name[:200]
        now = now_us()
        wait = self._wait_s(name, client, now)
        if wait > 0:
            raise LoginRefused("too many failed logins from here: wait", wait)
        row = self._db.rows("SELECT * FROM users WHERE name = ?", (name,))
        stored = str(row[0]["password_hash"]) if row else _DUMMY
        if not _verify(stored, password) or not row:
            self._failed(name, client, now)
            raise LoginRefused("wrong user name or password")
        user = _user(row[0])
        if user.disabled:
            raise LoginRefused("account disabled")
        with self._db.transaction() as con:
            con.execute(
                "DELETE FROM login_failures WHERE account = ? AND client = ?", (name, client)
            )
            if _hasher.check_needs_rehash(stored):  # parameters raised since it was hashed
                con.execute(
                    "UPDATE users SET password_hash = ? WHERE name = ?",
                    (_hasher.hash(password), name),
                )
        return principal_of(user)

    def _wait_s(self, name: str, client: str, now: int) -> float:
        """Seconds this client must still wait before its next attempt for ``name``."""
        since = now - int(self.lockout.forget_s * 1e6)
        rows = self._db.rows(
            "SELECT coalesce(sum(failures), 0) AS account,"
            " coalesce(sum(CASE WHEN client = ? THEN failures END), 0) AS own,"
            " coalesce(max(CASE WHEN client = ? THEN last_us END), 0) AS last"
            " FROM login_failures WHERE account = ? AND last_us > ?",
            (client, client, name, since),
        )
        own, account, last = int(rows[0]["own"]), int(rows[0]["account"]), int(rows[0]["last"])
        until = last + int(self.lockout.delay_s(own, account) * 1e6)
        return max(0.0, (until - now) / 1e6)

    def _failed(self, name: str, client: str, now: int) -> None:
        since = now - int(self.lockout.forget_s * 1e6)
        with self._db.transaction() as con:
            con.execute("DELETE FROM login_failures WHERE last_us <= ?", (since,))
            con.execute(
                "INSERT INTO login_failures VALUES (?, ?, 1, ?) ON CONFLICT (account, client)"
                " DO UPDATE SET failures = failures + 1, last_us = excluded.last_us",
                (name, client, now),
            )
            # Bounded, whatever the number of names and addresses tried: forget the oldest.
            con.execute(
                "DELETE FROM login_failures WHERE rowid IN (SELECT rowid FROM login_failures"
                " ORDER BY last_us DESC LIMIT -1 OFFSET ?)",
                (self.lockout.max_rows,),
            )


def principal_of(user: User) -> Principal:
    return Principal(name=user.name, kind="user", role=user.role, scope=user.scope)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _keep_an_admin(con: Any, changed: str) -> None:
    # Nobody could manage users any more; the CLI (local access to the file) can still repair it,
    # but an API request must not lock everyone out.
    left = con.execute(
        "SELECT count(*) FROM users WHERE role = 'admin' AND scope = '' AND disabled = 0"
    ).fetchone()[0]
    if not left:
        raise SmartfabError(f"changing {changed!r} would leave no enabled whole-plant admin")


def _user(r: Any) -> User:
    return User(
        name=r["name"],
        role=Role(r["role"]),
        scope=r["scope"],
        disabled=bool(r["disabled"]),
        created_us=int(r["created_us"]),
    )
