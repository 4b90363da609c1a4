"""Users: Argon2id hashes, the generated first admin, logins, lock-out that survives a restart,
disabling, and every change in the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartfab.errors import SmartfabError
from smartfab.platform.security import Security
from smartfab.platform.security.ratelimit import LockoutPolicy
from smartfab.platform.security.roles import Role
from smartfab.platform.security.users import LoginRefused


def test_first_start_creates_admin_once_with_a_generated_password(sec: Security) -> None:
    password = sec.users.ensure_admin()
    assert password is not None and len(password) >= 20
    assert sec.users.ensure_admin() is None  # never again, never a default
    who = sec.users.authenticate("admin", password)
    assert who.role is Role.ADMIN and who.scope == ""
    (stored,) = sec.db.rows("SELECT password_hash FROM users")
    assert stored[0].startswith("$argon2id$") and password not in stored[0]


def test_wrong_passwords_lock_the_account_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "security.sqlite"
    policy = LockoutPolicy(max_failures=3, lock_s=600)
    with Security(path, policy) as sec:
        sec.users.add("test", "li", "operator", "shenyang/pressing", "right-password")
        for _ in range(2):
            with pytest.raises(LoginRefused, match="wrong user name or password"):
                sec.users.authenticate("li", "wrong-password")
        with pytest.raises(LoginRefused, match="locked") as locked:
            sec.users.authenticate("li", "wrong-password")
        assert locked.value.locked_until_us > 0
    with Security(path, policy) as sec:  # a restart does not lift it
        with pytest.raises(LoginRefused, match="locked"):
            sec.users.authenticate("li", "right-password")
        sec.users.update("test", "li", password="a-new-password")  # an admin lifts it
        assert sec.users.authenticate("li", "a-new-password").scope == "shenyang/pressing"


def test_unknown_user_and_disabled_user_are_refused(sec: Security) -> None:
    with pytest.raises(LoginRefused, match="wrong user name or password"):
        sec.users.authenticate("nobody", "whatever-password")
    sec.users.add("test", "wang", "viewer", "", "wang-password")
    secret = sec.sessions.create("wang")
    assert sec.sessions.lookup(secret) is not None
    sec.users.update("test", "wang", disabled=True)
    assert sec.sessions.lookup(secret) is None  # sessions end with it
    with pytest.raises(LoginRefused, match="disabled"):
        sec.users.authenticate("wang", "wang-password")


def test_bad_input_is_refused_and_nothing_is_written(sec: Security) -> None:
    with pytest.raises(SmartfabError, match="role 'boss'"):
        sec.users.add("test", "x", "boss")
    with pytest.raises(SmartfabError, match="at least 10"):
        sec.users.add("test", "x", "viewer", "", "short")
    with pytest.raises(SmartfabError, match="scope"):
        sec.users.add("test", "x", "viewer", "Shenyang/../x")
    sec.users.add("test", "x", "viewer")
    with pytest.raises(SmartfabError, match="exists already"):
        sec.users.add("test", "x", "viewer")
    assert [u.name for u in sec.users.list()] == ["x"]
    assert len(sec.audit.entries()) == 1


def test_the_last_admin_cannot_be_taken_away(sec: Security) -> None:
    sec.users.ensure_admin()
    with pytest.raises(SmartfabError, match="no enabled whole-plant admin"):
        sec.users.update("test", "admin", role="viewer")
    with pytest.raises(SmartfabError, match="no enabled whole-plant admin"):
        sec.users.update("test", "admin", disabled=True)
    assert sec.users.get("admin").role is Role.ADMIN  # type: ignore[union-attr]


def test_changes_are_audited_without_secrets(sec: Security) -> None:
    sec.users.add("root", "li", "viewer", "", "li-password-1")
    sec.users.update("root", "li", role="operator", password="li-password-2")
    add, change = sec.audit.entries()
    assert (add.actor, add.action, add.target) == ("root", "user.add", "user:li")
    assert change.before["role"] == "viewer" and change.after["role"] == "operator"
    assert change.after["password"] == "changed"
    text = str([add, change])
    assert "li-password" not in text and "argon2" not in text
