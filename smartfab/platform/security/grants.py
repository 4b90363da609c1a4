"""No principal grants more than it holds: one check for every way a grant is made or changed
(a token created or revoked, a user added or changed; by the API or the command line, which all
go through :mod:`~smartfab.platform.security.users` and :mod:`~smartfab.platform.security.tokens`).

A grant is a role, a scope, optionally some of the role's permissions, and a lifetime. The
grantor must hold each of them: every permission the new grant carries (a token limited to
``tokens.manage`` can make only tokens limited to it), a scope inside its own, and a lifetime
within its own (a token that expires can make only tokens that expire no later, and no user,
whose account never expires). The same holds for the grant being changed or revoked: who holds
less cannot take over, demote or revoke who holds more.

``LOCAL`` is whoever runs ``smartfab users|tokens`` on the machine: they can edit the security
file itself, so nothing is withheld from them."""

from __future__ import annotations

from smartfab.errors import SmartfabError
from smartfab.platform.security.roles import PERMISSIONS, Principal, Role

# The machine's own command line and the first start: full rights over the file they can edit.
LOCAL = Principal(name="local", kind="user", role=Role.ADMIN)


class GrantRefused(SmartfabError):
    """A grant beyond the grantor's own; the message says which part."""


def held(role: Role, permissions: frozenset[str] | None) -> frozenset[str]:
    """The permissions a grant carries: the role's, or only those named."""
    if permissions is not None:
        return permissions
    return frozenset(p for p, least in PERMISSIONS.items() if least.rank <= role.rank)


def check_grant(
    grantor: Principal,
    role: Role,
    scope: str,
    permissions: frozenset[str] | None = None,
    expires_us: int | None = None,
    *,
    what: str = "the grant",
) -> None:
    """Raise :class:`GrantRefused` unless ``grantor`` holds all of the grant (role, scope,
    permissions, lifetime; ``expires_us`` None: never expires)."""
    if role.rank > grantor.role.rank:
        raise GrantRefused(
            f"{what} has the role {role.value}, above your own ({grantor.role.value})"
        )
    mine = held(grantor.role, grantor.permissions)
    beyond = sorted(held(role, permissions) - mine)
    if beyond:
        raise GrantRefused(f"{what} carries permissions you do not hold: {', '.join(beyond)}")
    if grantor.scope and not (scope and grantor.covers(scope)):
        raise GrantRefused(
            f"{what} covers {scope or 'the whole plant'!r}, beyond your part ({grantor.scope!r})"
        )
    if grantor.expires_us is not None and (expires_us is None or expires_us > grantor.expires_us):
        raise GrantRefused(f"{what} would outlive your own grant, which expires")
