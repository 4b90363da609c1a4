"""API tokens: shown once, stored hashed, limited by role, scope, permissions and expiry,
revocable."""

from __future__ import annotations

import pytest

from smartfab.errors import SmartfabError
from smartfab.platform.security import Security
from smartfab.platform.security.database import now_us


def test_a_token_is_stored_only_as_a_hash(sec: Security) -> None:
    token, secret = sec.tokens.create("admin", "mes-export", "viewer", "shenyang/machining")
    assert secret.startswith(f"sft_{token.id}_")
    assert secret.split("_")[-1] not in sec.path.read_bytes().decode("latin-1")
    who = sec.tokens.lookup(secret)
    assert who is not None and who.kind == "token" and who.scope == "shenyang/machining"
    assert who.allows("plant.read") and not who.allows("alarms.ack")
    assert sec.tokens.lookup(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert sec.tokens.lookup("sft_nonsense") is None


def test_permissions_narrow_a_role(sec: Security) -> None:
    _, secret = sec.tokens.create("admin", "ack-bot", "engineer", "", ["alarms.ack"])
    who = sec.tokens.lookup(secret)
    assert who is not None
    assert who.allows("alarms.ack") and not who.allows("connectors.configure")
    assert not who.allows("plant.read")
    with pytest.raises(SmartfabError, match="need more than the role viewer"):
        sec.tokens.create("admin", "x", "viewer", "", ["alarms.ack"])
    with pytest.raises(SmartfabError, match="unknown permissions"):
        sec.tokens.create("admin", "x", "viewer", "", ["everything"])


def test_revoked_and_expired_tokens_are_refused(sec: Security) -> None:
    token, secret = sec.tokens.create("admin", "script", "viewer")
    sec.tokens.revoke("admin", token.id)
    assert sec.tokens.lookup(secret) is None
    expired, secret2 = sec.tokens.create("admin", "old", "viewer", expires_days=1)
    with sec.db.transaction() as con:
        con.execute("UPDATE tokens SET expires_us = ? WHERE id = ?", (now_us() - 1, expired.id))
    assert sec.tokens.lookup(secret2) is None
    actions = [e.action for e in sec.audit.entries()]
    assert actions == ["token.create", "token.revoke", "token.create"]
