"""Users: Argon2id hashes, the generated first admin, logins, growing delays after failed logins
(per account and client, the same for unknown names, surviving a restart), disabling, and every
change in the audit log."""

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


def _attempts(sec: Security, name: str, password: str, client: str) -> list[str]:
    """What each of 8 attempts answers: "ok", "wrong" or "wait"."""
    out = []
    for _ in range(8):
        try:
            sec.users.authenticate(name, password, client)
            out.append("ok")
        except LoginRefused as exc:
            out.append("wait" if exc.retry_after_s else "wrong")
    return out


def test_failed_logins_delay_that_client_alone_and_unknown_names_alike(tmp_path: Path) -> None:
    path = tmp_path / "security.sqlite"
    policy = LockoutPolicy(free_failures=3, first_delay_s=600, max_delay_s=600)
    with Security(path, policy) as sec:
        sec.users.add("test", "li", "operator", "shenyang/pressing", "right-password")
        known = _attempts(sec, "li", "wrong-password", "10.0.0.66")
        unknown = _attempts(sec, "nobody", "wrong-password", "10.0.0.66")
        # The same answers for a real and an unknown account: nothing tells which exists.
        assert known == unknown == ["wrong"] * 4 + ["wait"] * 4
        # Being delayed, even the right password is not tried from there...
        with pytest.raises(LoginRefused, match="wait") as waiting:
            sec.users.authenticate("li", "right-password", "10.0.0.66")
        assert 0 < waiting.value.retry_after_s <= 600
    with Security(path, policy) as sec:  # ...across a restart too
        with pytest.raises(LoginRefused, match="wait"):
            sec.users.authenticate("li", "right-password", "10.0.0.66")
        # The owner at another client is not kept out by the attacker's failures.
        assert sec.users.authenticate("li", "right-password", "10.0.0.7").name == "li"
        # A client that fails for an account under attack shares its delay at once, so that
        # guessing from many addresses is slowed down as well.
        with pytest.raises(LoginRefused, match="wrong"):
            sec.users.authenticate("li", "wrong-password", "10.0.0.8")
        with pytest.raises(LoginRefused, match="wait"):
            sec.users.authenticate("li", "right-password", "10.0.0.8")
        # Once the delay has passed (the failure moved 601 s back), the next attempt is tried.
        sec.db.rows("UPDATE login_failures SET last_us = last_us - 601000000 RETURNING 1")
        assert sec.users.authenticate("li", "right-password", "10.0.0.66").name == "li"
        # An admin's new password forgets the account's failures everywhere.
        _attempts(sec, "li", "wrong-password", "10.0.0.9")
        sec.users.update("test", "li", password="a-new-password")
        assert sec.users.authenticate("li", "a-new-password", "10.0.0.9").name == "li"


def test_delays_grow_from_the_first_failure_beyond_the_free_ones_to_a_ceiling() -> None:
    policy = LockoutPolicy(free_failures=5, first_delay_s=1, max_delay_s=900)
    assert [policy.delay_s(n, n) for n in range(4, 12)] == [0, 0, 1, 2, 4, 8, 16, 32]
    assert policy.delay_s(200, 200) == 900
    assert policy.delay_s(0, 10_000) == 0  # a client that has not failed is never delayed
    assert policy.delay_s(1, 10) == 16  # one that has, shares the account's


def test_remembered_failures_are_bounded(tmp_path: Path) -> None:
    with Security(tmp_path / "s.sqlite", LockoutPolicy(max_rows=50)) as sec:
        for i in range(80):
            with pytest.raises(LoginRefused):
                sec.users.authenticate(f"guess-{i}", "x" * 10, f"10.1.0.{i}")
        (count,) = sec.db.rows("SELECT count(*) FROM login_failures")
        assert count[0] == 50


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
