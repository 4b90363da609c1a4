"""No principal grants more than it holds: role, permissions, scope and lifetime of tokens and
users, created or changed, through the platform calls the API and the command line share."""

from __future__ import annotations

import pytest

from smartfab.platform.security import Security
from smartfab.platform.security.database import now_us
from smartfab.platform.security.grants import GrantRefused
from smartfab.platform.security.roles import Principal


def _token(sec: Security, role: str, scope: str = "", perms: list[str] | None = None,
           days: float | None = None) -> Principal:  # fmt: skip
    _, secret = sec.tokens.create("test", "grantor", role, scope, perms, days)
    who = sec.tokens.lookup(secret)
    assert who is not None
    return who


def test_a_token_limited_to_managing_tokens_makes_no_more_than_itself(sec: Security) -> None:
    manager = _token(sec, "admin", perms=["tokens.manage"])
    before = len(sec.tokens.list())
    for role, perms in (("admin", None), ("viewer", None), ("admin", ["users.manage"])):
        with pytest.raises(GrantRefused, match="permissions you do not hold"):
            sec.tokens.create(manager.actor, "x", role, "", perms, None, grantor=manager)
    assert len(sec.tokens.list()) == before  # nothing was created
    token, _ = sec.tokens.create(
        manager.actor, "ok", "admin", "", ["tokens.manage"], None, grantor=manager
    )
    assert token.permissions == ["tokens.manage"]


def test_role_scope_and_lifetime_are_capped_by_the_grantors(sec: Security) -> None:
    engineer = _token(sec, "engineer")
    with pytest.raises(GrantRefused, match="above your own"):
        sec.tokens.create("e", "x", "admin", grantor=engineer)
    scoped = Principal("s", "user", engineer.role, scope="shenyang/pressing")
    with pytest.raises(GrantRefused, match="beyond your part"):
        sec.tokens.create("s", "x", "viewer", "", expires_days=1, grantor=scoped)
    with pytest.raises(GrantRefused, match="beyond your part"):
        sec.tokens.create("s", "x", "viewer", "shenyang/machining", grantor=scoped)
    inner, _ = sec.tokens.create("s", "x", "viewer", "shenyang/pressing/line-1", grantor=scoped)
    assert inner.scope == "shenyang/pressing/line-1"
    expiring = _token(sec, "admin", days=2)
    with pytest.raises(GrantRefused, match="outlive"):
        sec.tokens.create("a", "x", "viewer", expires_days=None, grantor=expiring)
    with pytest.raises(GrantRefused, match="outlive"):
        sec.tokens.create("a", "x", "viewer", expires_days=3, grantor=expiring)
    shorter, _ = sec.tokens.create("a", "x", "viewer", expires_days=1, grantor=expiring)
    assert shorter.expires_us is not None and shorter.expires_us < now_us() + 2 * 86_400_000_000
    # A user's account never expires: an expiring grant cannot make one.
    with pytest.raises(GrantRefused, match="outlive"):
        sec.users.add("a", "wu", "viewer", grantor=expiring)


def test_users_are_neither_raised_above_nor_taken_over_by_a_lesser_grantor(sec: Security) -> None:
    sec.users.add("test", "boss", "admin", "", "boss-password")
    sec.users.add("test", "li", "viewer", "", "li-password")
    manager = _token(sec, "admin", perms=["users.manage"])
    with pytest.raises(GrantRefused):
        sec.users.add(manager.actor, "x", "viewer", grantor=manager)
    engineer = Principal("eng", "user", _token(sec, "engineer").role)
    with pytest.raises(GrantRefused, match="above your own"):
        sec.users.add("eng", "x", "admin", grantor=engineer)
    with pytest.raises(GrantRefused, match="above your own"):
        sec.users.update("eng", "li", role="admin", grantor=engineer)
    # Taking over, demoting or disabling someone who holds more is a grant beyond one's own.
    for change in ({"password": "taken-over!"}, {"role": "viewer"}, {"disabled": True}):
        with pytest.raises(GrantRefused, match="user 'boss'"):
            sec.users.update("eng", "boss", grantor=engineer, **change)  # type: ignore[arg-type]
    assert sec.users.authenticate("boss", "boss-password").role.value == "admin"
    assert sec.users.update("eng", "li", role="operator", grantor=engineer).role.value == "operator"


def test_a_lesser_token_cannot_revoke_a_greater_one(sec: Security) -> None:
    full, _ = sec.tokens.create("test", "full", "admin", expires_days=None)
    manager = _token(sec, "admin", perms=["tokens.manage"])
    with pytest.raises(GrantRefused):
        sec.tokens.revoke(manager.actor, full.id, grantor=manager)
    assert all(t.revoked_us is None for t in sec.tokens.list() if t.id == full.id)
