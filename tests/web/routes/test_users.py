"""GET /api/roles: what each role grants, for anyone logged in (the users and tokens pages show it
beside the role a person picks)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient

from smartfab.platform.security import Security
from smartfab.platform.security.roles import PERMISSIONS, PLANT_WIDE, Role
from smartfab.web import auth
from smartfab.web.auth import ApiLimits
from smartfab.web.routes import users
from tests.web.conftest import bearer


def test_every_role_with_its_permissions_for_anyone_logged_in(security: Security) -> None:
    app = FastAPI()
    router = APIRouter(prefix="/api", dependencies=[Depends(auth.undeclared_guard)])
    router.include_router(users.router())
    app.include_router(router)
    auth.install(app, security, ApiLimits())
    client = TestClient(app)
    assert client.get("/api/roles").status_code == 401
    r = client.get("/api/roles", headers=bearer(security, "viewer", "shenyang/machining"))
    assert r.status_code == 200
    body = r.json()
    assert [x["role"] for x in body["roles"]] == [r.value for r in Role]
    granted = {x["role"]: set(x["permissions"]) for x in body["roles"]}
    assert granted["viewer"] == {p for p, least in PERMISSIONS.items() if least == Role.VIEWER}
    assert granted["viewer"] < granted["operator"] < granted["engineer"] < granted["admin"]
    assert granted["admin"] == set(PERMISSIONS)
    assert "users.manage" not in granted["engineer"] and "plant.edit" in granted["engineer"]
    assert body["plant_wide"] == sorted(PLANT_WIDE)
