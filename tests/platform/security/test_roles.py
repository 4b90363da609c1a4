"""Roles: each holds the permissions of the ones below; scopes cover their part of the tree."""

from __future__ import annotations

import pytest

from smartfab.errors import SmartfabError
from smartfab.platform.security.roles import PERMISSIONS, Principal, Role, check_scope


def test_roles_are_cumulative() -> None:
    held = {r: {p for p in PERMISSIONS if Principal("x", "user", r).allows(p)} for r in Role}
    assert held[Role.VIEWER] == {
        "plant.read",
        "scheduling.read",
        "twin.read",
        "maintenance.read",
        "transformation.read",
        "warehouse.read",
        "energy.read",
        "quality.read",
    }
    assert held[Role.OPERATOR] == held[Role.VIEWER] | {"alarms.ack"}
    assert held[Role.VIEWER] < held[Role.OPERATOR] < held[Role.ENGINEER] < held[Role.ADMIN]
    engineer = {"setpoints.write", "connectors.configure", "plant.edit", "maintenance.plan",
                "dashboards.share"}  # fmt: skip
    assert engineer <= held[Role.ENGINEER]
    assert "users.manage" not in held[Role.ENGINEER]


def test_a_scope_covers_its_subtree_only() -> None:
    who = Principal("li", "user", Role.ENGINEER, "shenyang/pressing")
    assert who.covers("shenyang/pressing") and who.covers("shenyang/pressing/press-line-1/x")
    assert not who.covers("shenyang/pressing-2")  # a sibling sharing the prefix
    assert not who.covers("shenyang") and not who.covers("shenyang/machining")
    assert who.allows("setpoints.write") and not who.allows("connectors.configure")


def test_scope_syntax() -> None:
    assert check_scope(" shenyang/pressing/ ") == "shenyang/pressing"
    assert check_scope("") == ""
    with pytest.raises(SmartfabError):
        check_scope("shenyang/../machining")
