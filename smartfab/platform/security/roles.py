"""Roles, the permissions each grants, and the part of the plant hierarchy a grant covers.

Roles are ordered; each holds the permissions of the ones below it:

* viewer: reads everything in its scope;
* operator: also acknowledges and shelves alarms;
* engineer: also edits the plant model and alarm rules, writes setpoints, configures connectors,
  changes schedules, runs twin experiments, records transformation assessments and projects
  (a manager is given this role, or a grant limited to the transformation permissions) and
  shares dashboards with others (every role keeps dashboards of its own: a saved view changes
  nothing anyone else sees);
* admin: also manages users, API tokens and retention, and reads the audit and security logs.

A grant has a scope: an asset path prefix (a site, area or line, e.g. ``shenyang/pressing``), or
the empty string for the whole plant. A request about an asset outside the scope is refused, and
permissions whose objects lie outside the hierarchy (users, tokens, connectors, retention, the
logs) need a whole-plant grant."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from smartfab.errors import SmartfabError


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ENGINEER = "engineer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


# permission -> the least role that holds it
PERMISSIONS: dict[str, Role] = {
    "plant.read": Role.VIEWER,
    "scheduling.read": Role.VIEWER,
    "twin.read": Role.VIEWER,
    "maintenance.read": Role.VIEWER,
    "transformation.read": Role.VIEWER,
    "warehouse.read": Role.VIEWER,
    "energy.read": Role.VIEWER,
    "quality.read": Role.VIEWER,
    "alarms.ack": Role.OPERATOR,
    "plant.edit": Role.ENGINEER,
    "alarms.rules": Role.ENGINEER,
    "setpoints.write": Role.ENGINEER,
    "connectors.configure": Role.ENGINEER,
    "scheduling.plan": Role.ENGINEER,
    "twin.run": Role.ENGINEER,
    "maintenance.plan": Role.ENGINEER,
    "transformation.edit": Role.ENGINEER,
    "warehouse.operate": Role.ENGINEER,
    "quality.approve": Role.ENGINEER,  # recommend, approve, reject and roll back parameters
    "dashboards.share": Role.ENGINEER,  # share dashboards with a role and part of the plant
    "users.manage": Role.ADMIN,
    "tokens.manage": Role.ADMIN,
    "retention.manage": Role.ADMIN,
    "security.read": Role.ADMIN,
}

# Objects that belong to no asset: a grant limited to part of the plant cannot touch them.
PLANT_WIDE = frozenset(
    {
        "connectors.configure",
        "users.manage",
        "tokens.manage",
        "retention.manage",
        "security.read",
        "transformation.read",  # figures of the whole plant
        "transformation.edit",
    }
)

_SCOPE = re.compile(r"[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*")


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise SmartfabError(
            f"role {text!r}: choose one of {', '.join(r.value for r in Role)}"
        ) from None


def check_scope(scope: str) -> str:
    """A scope as stored: '' (whole plant) or an asset path of slugs without a trailing slash."""
    scope = scope.strip().strip("/")
    if scope and not _SCOPE.fullmatch(scope):
        raise SmartfabError(
            f"scope {scope!r}: give an asset path such as 'shenyang/pressing', or '' for all"
        )
    return scope


def check_permissions(names: list[str] | tuple[str, ...], role: Role) -> frozenset[str]:
    unknown = [n for n in names if n not in PERMISSIONS]
    if unknown:
        raise SmartfabError(f"unknown permissions {unknown}: known are {sorted(PERMISSIONS)}")
    beyond = [n for n in names if PERMISSIONS[n].rank > role.rank]
    if beyond:
        raise SmartfabError(f"permissions {beyond} need more than the role {role.value}")
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who makes a request: a user (by session or password) or an API token, with its grant.
    ``permissions`` narrows a token to some of its role's permissions (None: all of them)."""

    name: str
    kind: str  # "user" or "token"
    role: Role
    scope: str = ""
    permissions: frozenset[str] | None = None
    expires_us: int | None = None  # a token's expiry: it grants nothing that outlives it

    def allows(self, permission: str) -> bool:
        need = PERMISSIONS[permission]
        if self.role.rank < need.rank:
            return False
        if self.permissions is not None and permission not in self.permissions:
            return False
        return not (self.scope and permission in PLANT_WIDE)

    def covers(self, path: str) -> bool:
        """Whether an asset (or signal) path lies in this grant's part of the hierarchy. A path
        with empty, "." or ".." steps is not, whatever its prefix: its text begins in the scope
        while what it names may lie elsewhere."""
        if not self.scope:
            return True
        steps = path.strip("/").split("/")
        if any(step in ("", ".", "..") for step in steps):
            return False
        path = "/".join(steps)
        return path == self.scope or path.startswith(self.scope + "/")

    @property
    def actor(self) -> str:
        """How the audit and security logs name this principal."""
        return self.name if self.kind == "user" else f"token:{self.name}"
