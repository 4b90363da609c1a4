"""Login, logout and "who am I" of the web app. The session id travels in a cookie that scripts
cannot read (HttpOnly), that the browser sends to this site only (SameSite=Strict, which also
keeps other sites from making requests with it) and, over HTTPS, only encrypted (Secure)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from smartfab.platform.security.events import Kind
from smartfab.platform.security.roles import PERMISSIONS, Principal
from smartfab.platform.security.sessions import LIFETIME_S
from smartfab.platform.security.users import LoginRefused
from smartfab.web.auth import (
    AUTHENTICATED,
    PUBLIC,
    SESSION_COOKIE,
    client_of,
    guards,
    require,
)


class Login(BaseModel):
    user: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class Me(BaseModel):
    name: str
    kind: str = Field(description="user or token")
    role: str
    scope: str = Field(description="Asset path the grant is limited to; empty for all")
    permissions: list[str]


def me_of(who: Principal) -> Me:
    return Me(
        name=who.name,
        kind=who.kind,
        role=who.role.value,
        scope=who.scope,
        permissions=sorted(p for p in PERMISSIONS if who.allows(p)),
    )


def router() -> APIRouter:
    api = APIRouter(tags=["session"])

    @api.post(
        "/login",
        response_model=Me,
        summary="Log in: sets the session cookie",
        dependencies=[require(PUBLIC)],
        responses={
            401: {"description": "Wrong user or password, or the account disabled"},
            429: {
                "description": "Too many attempts from this address, or failed logins for "
                "this name from this address: wait Retry-After seconds"
            },
        },
    )
    def login(body: Login, request: Request, response: Response) -> Me:
        g = guards(request)
        client = client_of(request)
        wait = g.logins.take(client)
        if wait:
            g.log(Kind.RATE_LIMITED, body.user, client, "login attempts", every_s=60)
            raise HTTPException(
                429, "too many login attempts: wait", headers={"Retry-After": str(round(wait) + 1)}
            )
        try:
            who = g.security.users.authenticate(body.user, body.password, client)
        except LoginRefused as exc:
            if exc.retry_after_s:
                # The same answer whether or not the name exists (failures of unknown names
                # are counted too); logged once a minute per name and address.
                g.log(Kind.LOCKED_OUT, body.user, client, str(exc), every_s=60)
                raise HTTPException(
                    429, str(exc), headers={"Retry-After": str(int(exc.retry_after_s) + 1)}
                ) from None
            g.log(Kind.LOGIN_FAILED, body.user, client, str(exc))
            raise HTTPException(401, str(exc)) from None
        secret = g.security.sessions.create(who.name)
        response.set_cookie(
            SESSION_COOKIE,
            secret,
            max_age=int(LIFETIME_S),
            path="/",
            httponly=True,
            samesite="strict",
            secure=g.limits.secure_cookies or request.url.scheme == "https",
        )
        g.log(Kind.LOGIN, who.actor, client, "session started")
        return me_of(who)

    @api.post("/logout", summary="End this session", status_code=204)
    def logout(
        request: Request, response: Response, who: Annotated[Principal, require(AUTHENTICATED)]
    ) -> None:
        g = guards(request)
        secret = request.cookies.get(SESSION_COOKIE)
        if secret:
            g.security.sessions.end(secret)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        g.log(Kind.LOGOUT, who.actor, client_of(request), "session ended")

    @api.get("/me", response_model=Me, summary="Who is asking, with which grant")
    def me(who: Annotated[Principal, require(AUTHENTICATED)]) -> Me:
        return me_of(who)

    return api
