"""Users and API tokens, for admins: the platform's :mod:`~smartfab.platform.security.users` and
:mod:`~smartfab.platform.security.tokens` over HTTP. Hashes and token secrets never leave: a
generated password and a new token's text are in the one answer that creates them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from smartfab.errors import SmartfabError
from smartfab.platform.security.grants import GrantRefused
from smartfab.platform.security.roles import PERMISSIONS, PLANT_WIDE, Principal, Role
from smartfab.platform.security.tokens import MAX_DAYS, Token
from smartfab.platform.security.users import User
from smartfab.web.auth import AUTHENTICATED, guards, record_change, require

T = TypeVar("T")


class UserOut(BaseModel):
    name: str
    role: str
    scope: str
    disabled: bool
    created: str


class NewUser(BaseModel):
    name: str = Field(max_length=64)
    role: Role
    scope: str = ""
    password: str | None = Field(
        default=None, max_length=1024, description="Omit to have one generated"
    )


class CreatedUser(BaseModel):
    user: UserOut
    password: str | None = Field(description="The generated password, shown this once")


class UserChange(BaseModel):
    role: Role | None = None
    scope: str | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, max_length=1024)


class TokenOut(BaseModel):
    id: str
    name: str
    role: str
    scope: str
    permissions: list[str]
    created_by: str
    created: str
    expires: str | None
    revoked: str | None
    last_used: str | None


class NewToken(BaseModel):
    name: str = Field(max_length=200, description="Who or what uses it")
    role: Role
    scope: str = ""
    permissions: list[str] = Field(
        default_factory=list, description="Only these of the role's permissions; empty for all"
    )
    expires_days: float | None = Field(
        default=90, gt=0, le=MAX_DAYS, allow_inf_nan=False, description="Null: never expires"
    )


class CreatedToken(BaseModel):
    token: TokenOut
    secret: str = Field(description="Send as `Authorization: Bearer <secret>`; shown this once")


class RoleOut(BaseModel):
    role: str
    permissions: list[str] = Field(description="Every permission the role grants")


class RolesOut(BaseModel):
    roles: list[RoleOut] = Field(description="From the least to the most")
    plant_wide: list[str] = Field(
        description="Permissions that only a grant of the whole plant (an empty scope) holds"
    )


# Module level, where FastAPI resolves the annotations of the routes.
MANAGE_USERS = require("users.manage")
MANAGE_TOKENS = require("tokens.manage")


def router() -> APIRouter:
    api = APIRouter(tags=["users"])

    @api.get(
        "/roles",
        response_model=RolesOut,
        summary="The roles and the permissions each grants",
        dependencies=[require(AUTHENTICATED)],
    )
    def roles() -> RolesOut:
        granted = {r: [p for p, least in PERMISSIONS.items() if least.rank <= r.rank] for r in Role}
        return RolesOut(
            roles=[RoleOut(role=r.value, permissions=granted[r]) for r in Role],
            plant_wide=sorted(PLANT_WIDE),
        )

    @api.get("/users", response_model=list[UserOut], summary="Users", dependencies=[MANAGE_USERS])
    def users(request: Request) -> list[UserOut]:
        return [_user_out(u) for u in guards(request).security.users.list()]

    @api.post("/users", response_model=CreatedUser, status_code=201, summary="Add a user")
    def add_user(
        body: NewUser, request: Request, who: Annotated[Principal, MANAGE_USERS]
    ) -> CreatedUser:
        sec = guards(request).security
        password = _refusing(
            lambda: sec.users.add(
                who.actor, body.name, body.role, body.scope, body.password, grantor=who
            )
        )
        user = sec.users.get(body.name)
        assert user is not None
        record_change(request, who, "user.add", f"user:{body.name}", None, None, audited=True)
        return CreatedUser(
            user=_user_out(user), password=password if body.password is None else None
        )

    @api.patch("/users/{name}", response_model=UserOut, summary="Change a user")
    def change_user(
        name: str, body: UserChange, request: Request, who: Annotated[Principal, MANAGE_USERS]
    ) -> UserOut:
        sec = guards(request).security
        if sec.users.get(name) is None:
            raise HTTPException(404, f"no user {name!r}")
        user = _refusing(
            lambda: sec.users.update(who.actor, name, **body.model_dump(), grantor=who)
        )
        record_change(request, who, "user.update", f"user:{name}", None, None, audited=True)
        return _user_out(user)

    @api.get(
        "/tokens", response_model=list[TokenOut], summary="API tokens", dependencies=[MANAGE_TOKENS]
    )
    def tokens(request: Request) -> list[TokenOut]:
        return [_token_out(t) for t in guards(request).security.tokens.list()]

    @api.post("/tokens", response_model=CreatedToken, status_code=201, summary="New API token")
    def create_token(
        body: NewToken, request: Request, who: Annotated[Principal, MANAGE_TOKENS]
    ) -> CreatedToken:
        sec = guards(request).security
        token, secret = _refusing(
            lambda: sec.tokens.create(
                who.actor,
                body.name,
                body.role,
                body.scope,
                body.permissions,
                body.expires_days,
                grantor=who,
            )
        )
        record_change(request, who, "token.create", f"token:{token.id}", None, None, audited=True)
        return CreatedToken(token=_token_out(token), secret=secret)

    @api.delete("/tokens/{token_id}", response_model=TokenOut, summary="Revoke an API token")
    def revoke_token(
        token_id: str, request: Request, who: Annotated[Principal, MANAGE_TOKENS]
    ) -> TokenOut:
        sec = guards(request).security
        if all(t.id != token_id for t in sec.tokens.list()):
            raise HTTPException(404, f"no token {token_id!r}")
        token = _refusing(lambda: sec.tokens.revoke(who.actor, token_id, grantor=who))
        record_change(request, who, "token.revoke", f"token:{token_id}", None, None, audited=True)
        return _token_out(token)

    return api


def _refusing(call: Callable[[], T]) -> T:
    try:
        return call()
    except GrantRefused as exc:
        raise HTTPException(403, str(exc)) from None
    except SmartfabError as exc:
        raise HTTPException(409 if "exists already" in str(exc) else 422, str(exc)) from None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(us: int | None) -> str | None:
    if us is None:
        return None
    try:
        return (_EPOCH + timedelta(microseconds=us)).isoformat()
    except OverflowError:
        # A time stored before lifetimes were bounded (10^8 days) must not make every listing
        # of tokens a 500: it shows as the last (or first) date there is.
        return (datetime.max if us > 0 else datetime.min).replace(tzinfo=UTC).isoformat()


def _user_out(u: User) -> UserOut:
    return UserOut(
        name=u.name,
        role=u.role.value,
        scope=u.scope,
        disabled=u.disabled,
        created=iso(u.created_us) or "",
    )


def _token_out(t: Token) -> TokenOut:
    return TokenOut(
        id=t.id,
        name=t.name,
        role=t.role.value,
        scope=t.scope,
        permissions=t.permissions,
        created_by=t.created_by,
        created=iso(t.created_us) or "",
        expires=iso(t.expires_us),
        revoked=iso(t.revoked_us),
        last_used=iso(t.last_used_us),
    )
