"""Authentication and use control for every route, implemented once.

Each route declares the permission it needs with ``Depends(require("alarms.ack"))`` (in its
``dependencies`` or as a parameter when it needs to know who asks). The dependency

1. identifies the caller: ``Authorization: Bearer <token>`` (an API token) or the session cookie
   of the web app; neither or an invalid one is 401;
2. checks the caller's role holds the permission (403 otherwise);
3. checks every asset path the request names (the path parameter ``path``; query parameters
   ``path``, ``under``, ``equipment``, ``signal``, ``alarm``) lies in the caller's part of the
   hierarchy, and, for routes declared ``scoped=True`` (whose answer spans the plant unless
   narrowed), that
   a caller limited to part of the plant does narrow it (403 otherwise);
4. takes one request from the caller's rate allowance (429 with Retry-After when spent).

:func:`install` completes it: a router-level guard refuses any route that declares no permission
(so a new endpoint is closed until it says who may use it), the declared permission is written
into the OpenAPI schema as ``x-permission`` (where the permission matrix test reads it), request
bodies are limited in size (413), and the web app's pages redirect to the login page without a
session. Refusals are written to the security event log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import fastapi.routing
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smartfab.platform.security import Security
from smartfab.platform.security.events import Kind
from smartfab.platform.security.ratelimit import RateLimiter
from smartfab.platform.security.roles import PERMISSIONS, Principal

SESSION_COOKIE = "smartfab_session"
PUBLIC = "public"  # anyone, e.g. the login itself
AUTHENTICATED = "authenticated"  # anyone logged in, e.g. logout, who am I
TARGET_PARAMS = ("path", "under", "equipment", "signal")
# Pages of the web app and the API docs: without a session, to the login page.
PAGES = frozenset({"/", "/index.html", "/docs", "/redoc", "/docs/oauth2-redirect"})

_bearer = HTTPBearer(auto_error=False, description="An API token: sft_<id>_<secret>")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The web app's session (POST /api/login)"
)


@dataclass(frozen=True, slots=True)
class ApiLimits:
    """Back-pressure: the most a client may send and how fast (FR7 resource availability)."""

    max_body_bytes: int = 1 << 20
    requests_per_s: float = 50.0  # per user or token, on average
    request_burst: float = 300.0  # a page load asks for a few dozen things at once
    logins_per_s: float = 1 / 3  # per client address, on average
    login_burst: float = 20.0
    secure_cookies: bool = False  # Secure on every session cookie, not only over HTTPS


class _Guards:
    """What the dependencies need at request time, kept on ``app.state.guards``."""

    def __init__(self, security: Security, limits: ApiLimits) -> None:
        self.security = security
        self.limits = limits
        self.requests = RateLimiter(limits.requests_per_s, limits.request_burst)
        self.logins = RateLimiter(limits.logins_per_s, limits.login_burst)
        self.declared: dict[Callable[..., Any], str] = {}
        self._logged: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def log(self, kind: Kind, actor: str, client: str, detail: str, every_s: float = 0) -> None:
        """Write a security event; with ``every_s``, at most one per actor and kind in that
        time, so that a flood of refused requests cannot flood the disk too."""
        if every_s:
            now = time.monotonic()
            with self._lock:
                if now - self._logged.get((actor, kind), -every_s) < every_s:
                    return
                if len(self._logged) > 10_000:
                    self._logged.clear()
                self._logged[(actor, kind)] = now
        self.security.events.record(kind, actor, client, detail)


def guards(request: Request) -> _Guards:
    g: _Guards = request.app.state.guards
    return g


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def identify(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = None,
    session: str | None = None,
) -> Principal | None:
    """The caller, if its token or session is valid (remembered for the request)."""
    if hasattr(request.state, "principal"):
        found: Principal | None = request.state.principal
        return found
    sec = guards(request).security
    who = None
    if bearer is not None:
        who = sec.tokens.lookup(bearer.credentials)
    elif session:
        who = sec.sessions.lookup(session)
    request.state.principal = who
    return who


def _what(request: Request) -> str:
    return f"{request.method} {request.url.path}"


def require(permission: str, *, scoped: bool = False) -> Any:
    """The dependency a route declares: the caller must hold ``permission`` (a name of
    :data:`~smartfab.platform.security.roles.PERMISSIONS`, or AUTHENTICATED, or PUBLIC) for
    every asset the request names; ``scoped``: the answer covers the whole plant unless a
    path parameter narrows it, so a caller limited to part of it must give one. Returns the
    :class:`Principal` (None only for PUBLIC)."""
    if permission not in PERMISSIONS and permission not in (PUBLIC, AUTHENTICATED):
        raise ValueError(f"unknown permission {permission!r}")

    def check(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        session: Annotated[str | None, Depends(_cookie)],
    ) -> Principal | None:
        if permission == PUBLIC:
            return None
        g = guards(request)
        who = identify(request, bearer, session)
        client = client_of(request)
        if who is None:
            g.log(Kind.UNAUTHENTICATED, "", client, _what(request), every_s=60)
            raise HTTPException(
                401, "log in, or send an API token (Authorization: Bearer ...)",
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        reason = _refusal(request, who, permission, scoped)
        if reason:
            g.log(Kind.DENIED, who.actor, client, f"{_what(request)}: {reason}")
            raise HTTPException(403, reason)
        wait = g.requests.take(who.actor)
        if wait:
            g.log(Kind.RATE_LIMITED, who.actor, client, _what(request), every_s=60)
            raise HTTPException(
                429, "too many requests: slow down",
                headers={"Retry-After": str(max(1, round(wait)))},
            )  # fmt: skip
        return who

    check.__permission__ = permission  # type: ignore[attr-defined]  # read by install()
    return Depends(check)


def _refusal(request: Request, who: Principal, permission: str, scoped: bool) -> str:
    if permission != AUTHENTICATED and not who.allows(permission):
        if (
            who.scope
            and who.role.rank >= PERMISSIONS[permission].rank
            and not (who.permissions is not None and permission not in who.permissions)
        ):
            return f"{permission} needs access to the whole plant; yours is {who.scope!r}"
        return f"{permission} is not granted to {who.actor} ({who.role.value})"
    paths = [str(request.path_params["path"])] if "path" in request.path_params else []
    for name in TARGET_PARAMS:
        paths += request.query_params.getlist(name)
    # An alarm's id is its signal's path and the rule's name: "<signal path>:<rule>".
    paths += [a.rsplit(":", 1)[0] for a in request.query_params.getlist("alarm")]
    outside = [p for p in paths if not who.covers(p)]
    if outside:
        return f"{outside[0]!r} lies outside your part of the plant ({who.scope!r})"
    if scoped and who.scope and not paths:
        return (
            f"your access is limited to {who.scope!r}: name an asset in it "
            f"({', '.join(TARGET_PARAMS[1:3])} or path)"
        )
    return ""


def check_target(request: Request, who: Principal, path: str) -> None:
    """For targets a route learns from the request body (an alarm's equipment): 403 when the
    caller's scope does not cover it."""
    if not who.covers(path):
        reason = f"{path!r} lies outside your part of the plant ({who.scope!r})"
        guards(request).log(
            Kind.DENIED, who.actor, client_of(request), f"{_what(request)}: {reason}"
        )
        raise HTTPException(403, reason)


def record_change(
    request: Request, who: Principal, action: str, target: str, before: Any, after: Any,
    *, audited: bool = False,
) -> None:  # fmt: skip
    """A change made through the API: into the audit log (unless the platform call ``audited``
    it already, in the same transaction as the change) and the security event log."""
    g = guards(request)
    if not audited:
        g.security.audit.record(who.actor, action, target, before, after)
    g.log(Kind.CHANGE, who.actor, client_of(request), f"{action} {target}")


# --- installation -------------------------------------------------------------------------------


def _declared_permission(dependant: Dependant) -> str | None:
    for dep in dependant.dependencies:
        found = getattr(dep.call, "__permission__", None)
        if isinstance(found, str):
            return found
        inner = _declared_permission(dep)
        if inner is not None:
            return inner
    return None


async def undeclared_guard(request: Request) -> None:
    """Router-level dependency of /api: a route that declares no permission is closed."""
    # FastAPI >= 0.16x keeps the original route in the scope; older ones only the endpoint.
    route = request.scope.get("route")
    endpoint = getattr(route, "endpoint", None) or request.scope.get("endpoint")
    if endpoint not in guards(request).declared:
        raise HTTPException(
            403, f"{_what(request)} declares no permission: add Depends(require(...)) to it"
        )


def _api_routes(app: FastAPI) -> list[tuple[APIRoute, str]]:
    """Every API route with its full path. FastAPI >= 0.16x keeps included routers as they are
    (their routes reached through route contexts); older versions copy the routes into the app."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if contexts is None:
        return [(r, r.path_format) for r in app.routes if isinstance(r, APIRoute)]
    return [
        (c.original_route, str(c.path_format))
        for c in contexts(app.routes)
        if isinstance(c.original_route, APIRoute)
    ]


def install(app: FastAPI, security: Security, limits: ApiLimits) -> None:
    """Call after every router is included."""
    g = _Guards(security, limits)
    app.state.guards = g
    operations: dict[tuple[str, str], str] = {}
    for route, path in _api_routes(app):
        if path.startswith("/api"):
            permission = _declared_permission(route.dependant)
            if permission is not None:
                g.declared[route.endpoint] = permission
                for method in route.methods or ():
                    operations[(path, method.lower())] = permission
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        # The schema says, per operation, the permission it needs: clients and the permission
        # matrix test read it there.
        schema = generate()
        for path, ops in schema.get("paths", {}).items():
            for method, op in ops.items():
                if (path, method) in operations:
                    op["x-permission"] = operations[(path, method)]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(_PageGate, guards=g)
    app.add_middleware(_BodyLimit, guards=g)


class _PageGate:
    """Pages and API docs need a session; without one, the login page (the fragment of the URL,
    the page wanted, survives the redirect). ``/openapi.json`` answers 401 instead."""

    def __init__(self, app: ASGIApp, guards: _Guards) -> None:
        self.app, self.guards = app, guards

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path in PAGES or path == "/openapi.json"):
            request = Request(scope)
            auth = request.headers.get("authorization", "")
            sec = self.guards.security
            who = (
                sec.tokens.lookup(auth[7:].strip())
                if auth.lower().startswith("bearer ")
                else sec.sessions.lookup(request.cookies[SESSION_COOKIE])
                if SESSION_COOKIE in request.cookies
                else None
            )
            if who is None:
                response = (
                    JSONResponse({"detail": "log in first"}, 401)
                    if path == "/openapi.json"
                    else RedirectResponse("/login.html", 303)
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _BodyLimit:
    """413 for a request body over the limit, before any route reads it: by its Content-Length,
    or, for a chunked body, by reading at most the limit (a body within it is passed on)."""

    def __init__(self, app: ASGIApp, guards: _Guards) -> None:
        self.app, self.guards = app, guards
        self.limit = guards.limits.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.limit:
                await self._refuse(scope, receive, send, length.decode("latin-1"))
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b""):
            await self.app(scope, receive, send)
            return
        body, more, size = [], True, 0
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body.append(message.get("body", b""))
            size += len(body[-1])
            more = message.get("more_body", False)
            if size > self.limit:
                await self._refuse(scope, receive, send, f"more than {size}")
                return
        replay: list[Message] = [
            {"type": "http.request", "body": b"".join(body), "more_body": False}
        ]

        async def replayed() -> Message:
            return replay.pop() if replay else await receive()

        await self.app(scope, replayed, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: str) -> None:
        client = scope.get("client")
        self.guards.log(
            Kind.TOO_LARGE, "", client[0] if client else "",
            f"{scope.get('method')} {scope.get('path')}: body of {size} bytes", every_s=60,
        )  # fmt: skip
        response = JSONResponse(
            {"detail": f"request body too large: at most {self.limit} bytes"}, 413
        )
        await response(scope, receive, send)
