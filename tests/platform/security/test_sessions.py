from __future__ import annotations

from smartfab.platform.security import Security
from smartfab.platform.security.database import now_us


def test_sessions_end_at_logout_and_after_idle_or_lifetime(sec: Security) -> None:
    sec.users.add("test", "li", "operator", "", "li-password-1")
    a, b, c = (sec.sessions.create("li") for _ in range(3))
    assert sec.db.rows("SELECT count(*) FROM sessions WHERE id_hash = ?", (a,))[0][0] == 0
    sec.sessions.end(a)
    assert sec.sessions.lookup(a) is None
    with sec.db.transaction() as con:
        old = now_us() - int(sec.sessions.idle_s * 1e6) - 1
        con.execute("UPDATE sessions SET last_seen_us = ?", (old,))
    assert sec.sessions.lookup(b) is None  # idle too long
    d = sec.sessions.create("li")
    with sec.db.transaction() as con:
        con.execute("UPDATE sessions SET expires_us = ?", (now_us() - 1,))
    assert sec.sessions.lookup(d) is None and sec.sessions.lookup(c) is None
