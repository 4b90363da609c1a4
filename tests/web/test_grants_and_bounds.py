"""Hostile use of the API by callers it knows and does not: grants beyond the caller's own,
answers that would tell which accounts exist or let anyone lock the admin out, validation errors
echoing secrets, and time windows of nonsense or of centuries. Each is refused with a 4xx before
anything is saved or computed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.security.ratelimit import LockoutPolicy
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.web.api import create_app
from smartfab.web.auth import ApiLimits
from tests.conftest import FILLED_END_US
from tests.web.conftest import bearer

SITE = "shenyang"
END = datetime.fromtimestamp(FILLED_END_US / 1e6, UTC).isoformat()


@pytest.fixture
def app(tmp_path: Path, filled_store: Path, demo_plant: Plant) -> Iterator[tuple[object, Security]]:
    policy = LockoutPolicy(free_failures=3, first_delay_s=600)
    limits = ApiLimits(requests_per_s=1e6, request_burst=1e6, login_burst=1e6)
    with DuckDBStore(filled_store) as store, Security(tmp_path / "s.sqlite", policy) as sec:
        yield create_app(PlantData(store, demo_plant), security=sec, limits=limits), sec


def _client(app: object, address: str, headers: dict[str, str] | None = None) -> TestClient:
    return TestClient(app, client=(address, 40000), headers=headers)  # type: ignore[arg-type]


def test_a_restricted_token_grants_nothing_beyond_itself(app: tuple[object, Security]) -> None:
    asgi, sec = app
    _, secret = sec.tokens.create("test", "rotator", "admin", "", ["tokens.manage"], 30)
    tokens = _client(asgi, "10.0.0.1", {"Authorization": f"Bearer {secret}"})
    before = [t.id for t in sec.tokens.list()]
    for body in (
        {"name": "x", "role": "admin"},  # every permission of the role
        {"name": "x", "role": "viewer", "expires_days": 1},  # plant.read, not held
        {"name": "x", "role": "admin", "permissions": ["tokens.manage"], "expires_days": None},
        {"name": "x", "role": "admin", "permissions": ["tokens.manage"], "expires_days": 31},
    ):
        r = tokens.post("/api/tokens", json=body)
        assert r.status_code == 403, (body, r.text)
    assert [t.id for t in sec.tokens.list()] == before  # nothing saved
    same = {"name": "ok", "role": "admin", "permissions": ["tokens.manage"], "expires_days": 7}
    r = tokens.post("/api/tokens", json=same)
    assert r.status_code == 201 and r.json()["token"]["permissions"] == ["tokens.manage"]

    _, secret = sec.tokens.create("test", "hr", "admin", "", ["users.manage"], None)
    users = _client(asgi, "10.0.0.1", {"Authorization": f"Bearer {secret}"})
    sec.users.add("test", "boss", "admin", "", "boss-password")
    r = users.post("/api/users", json={"name": "mole", "role": "admin"})
    assert r.status_code == 403 and sec.users.get("mole") is None
    r = users.patch("/api/users/boss", json={"password": "taken-over-now"})
    assert r.status_code == 403
    assert sec.users.authenticate("boss", "boss-password").name == "boss"


def test_logins_tell_no_account_apart_and_nobody_locks_the_admin_out(
    app: tuple[object, Security],
) -> None:
    asgi, sec = app
    sec.users.add("test", "admin", "admin", "", "the-admins-password")
    attacker = _client(asgi, "203.0.113.9")

    def answers(user: str) -> list[tuple[int, str, str | None]]:
        out = []
        for _ in range(6):
            r = attacker.post("/api/login", json={"user": user, "password": "guess-guess"})
            out.append((r.status_code, r.json()["detail"], r.headers.get("retry-after")))
        return out

    known, unknown = answers("admin"), answers("no-such-user")
    assert known == unknown  # status, message and Retry-After alike
    assert [status for status, _, _ in known] == [401] * 4 + [429] * 2
    # The admin, at a client of their own, logs in at once.
    r = _client(asgi, "10.0.0.5").post(
        "/api/login", json={"user": "admin", "password": "the-admins-password"}
    )
    assert r.status_code == 200 and r.json()["name"] == "admin"


def test_validation_errors_never_echo_what_was_sent(app: tuple[object, Security]) -> None:
    asgi, sec = app
    client = _client(asgi, "10.0.0.1", bearer(sec))
    r = client.post("/api/login", json={"username": "admin", "password": "SuperSecret123"})
    assert r.status_code == 422 and "SuperSecret123" not in r.text
    assert r.json()["detail"][0]["loc"] == ["body", "user"]  # still says what is wrong
    r = client.post("/api/users", json={"name": "x", "role": "viewer", "password": 12345678901})
    assert r.status_code == 422 and "12345678901" not in r.text


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        ("0001-01-01T00:00:00Z", None, "1970"),
        ("1969-12-31T23:59:59Z", "1970-01-02T00:00:00Z", "1970"),
        ("2026-11-20T00:00:00Z", "9999-12-31T00:00:00Z", "2200"),
        (END, "2020-01-01T00:00:00Z", "before end"),
        ("1971-01-01T00:00:00Z", END, "at most 400 days"),
        ("1970-01-01T00:00:00", None, "at most 400 days"),
    ],
)
def test_time_windows_are_bounded_before_any_work(
    app: tuple[object, Security], start: str, end: str | None, reason: str
) -> None:
    asgi, sec = app
    client = _client(asgi, "10.0.0.1", bearer(sec))
    window = {"start": start} | ({"end": end} if end else {})
    for route, params in (
        ("/api/oee", {"path": SITE, "period": "day"}),
        ("/api/timeline", {"equipment": f"{SITE}/machining/cnc-line-1/cell-1/cnc-01"}),
        ("/api/events", {"equipment": SITE}),
        ("/api/security/events", {}),
        ("/api/alarms/load", {"under": SITE}),
    ):
        r = client.get(route, params=params | window)
        assert r.status_code == 422 and reason in r.text, (route, r.text)


def test_body_times_and_numbers_are_bounded(app: tuple[object, Security]) -> None:
    asgi, sec = app
    client = _client(asgi, "10.0.0.1", bearer(sec))
    r = client.post("/api/twin/calibrate", json={"end": "0001-01-01T00:00:00Z"})
    assert r.status_code == 422
    # A body's window is bounded as a query's: an assessment or calibration over two centuries
    # is refused before it starts, and so is one that ends before it begins.
    centuries = {"start": "1971-01-01T00:00:00Z", "end": "2199-01-01T00:00:00Z"}
    backwards = {"start": END, "end": "2020-01-01T00:00:00Z"}
    for route in ("/api/maintenance/assess", "/api/twin/calibrate"):
        for window, reason in ((centuries, "at most 400 days"), (backwards, "before end")):
            r = client.post(route, json=window)
            assert r.status_code == 422 and reason in r.text, (route, r.text)
    r = client.post("/api/tokens", json={"name": "y", "role": "viewer", "expires_days": 1e8})
    assert r.status_code == 422
    assert client.get("/api/tokens").status_code == 200
    # A lifetime stored before the bound (10^8 days: a valid integer, no valid date) is shown.
    with sec.db.transaction() as con:
        con.execute("UPDATE tokens SET expires_us = 8640000000000000000")
    r = client.get("/api/tokens")
    assert r.status_code == 200 and r.json()[0]["expires"].startswith("9999-12-31")
    r = client.put("/api/retention", json={"classes": {"*": 1e-9}})
    assert r.status_code == 422 and client.get("/api/retention").json()["classes"] == {}
