"""Authentication and use control for every route, implemented once.

Each route declares the permission it needs with ``Depends(require("alarms.ack"))`` (in its
``dependencies`` or as a parameter when it needs to know who asks). The dependency

1. identifies the caller: ``Authorization: Bearer <token>`` (an API token) or the session cookie
   of the web app; neither or an invalid one is 401;
2. refuses (422) a query parameter the route does not declare, or a single-valued one given
   more than once: what the checks below see is then exactly what the route reads;
3. checks the caller's role holds the permission (403 otherwise);
4. checks every asset the route's own target parameters name (the path parameter ``path``; the
   query parameters ``path``, ``under``, ``equipment``, ``signal``, ``alarm`` it declares, every
   value of each) lies in the caller's part of the hierarchy, and, for routes declared
   ``scoped=True`` (whose answer spans the plant unless narrowed), that a caller limited to part
   of the plant does narrow it (403 otherwise);
5. takes one request from the caller's rate allowance (429 with Retry-After when spent).

:func:`install` completes it: it reads each route's parameters from the route itself, so a new
route is covered without a list to update (a ``scoped`` route without a target parameter fails
at start); a router-level guard refuses any route that declares no permission (so a new endpoint
is closed until it says who may use it); the declared permission is written into the OpenAPI
schema as ``x-permission`` (where the permission matrix test reads it); request bodies are
limited in size (413); and the web app's pages redirect to the login page without a session.
Refusals are written to the security event log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import fastapi.routing
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi._compat import field_annotation_is_sequence
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
# Parameters that name an asset, and the asset path each value names. An alarm's id is its
# signal's path and the rule's name: "<signal path>:<rule>".
TARGETS: dict[str, Callable[[str], str]] = {
    "path": str,
    "under": str,
    "equipment": str,
    "signal": str,
    "alarm": lambda alarm: alarm.rsplit(":", 1)[0],
}
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


@dataclass(frozen=True, slots=True)
class RouteRules:
    """What a route declares, read from the route itself by :func:`install`."""

    permission: str
    scoped: bool
    query: dict[str, bool]  # query parameter -> whether it takes repeated values
    targets: tuple[str, ...]  # its query parameters that name assets (names of TARGETS)
    path_target: bool  # its path parameter ``path`` names an asset


class _Guards:
    """What the dependencies need at request time, kept on ``app.state.guards``."""

    def __init__(self, security: Security, limits: ApiLimits) -> None:
        self.security = security
        self.limits = limits
        self.requests = RateLimiter(limits.requests_per_s, limits.request_burst)
        self.logins = RateLimiter(limits.logins_per_s, limits.login_burst)
        self.declared: dict[Callable[..., Any], RouteRules] = {}
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


def _rules(request: Request) -> RouteRules | None:
    # FastAPI >= 0.16x keeps the original route in the scope; older ones only the endpoint.
    route = request.scope.get("route")
    endpoint = getattr(route, "endpoint", None) or request.scope.get("endpoint")
    return guards(request).declared.get(endpoint)  # type: ignore[arg-type]


def require(permission: str, *, scoped: bool = False) -> Any:
    """The dependency a route declares: the caller must hold ``permission`` (a name of
    :data:`~smartfab.platform.security.roles.PERMISSIONS`, or AUTHENTICATED, or PUBLIC) for
    every asset the request names; ``scoped``: the answer covers the whole plant unless one of
    the route's asset parameters narrows it, so a caller limited to part of it must give one
    (a route declaring it without such a parameter fails at :func:`install`). Returns the
    :class:`Principal` (None only for PUBLIC)."""
    if permission not in PERMISSIONS and permission not in (PUBLIC, AUTHENTICATED):
        raise ValueError(f"unknown permission {permission!r}")

    def check(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        session: Annotated[str | None, Depends(_cookie)],
    ) -> Principal | None:
        g = guards(request)
        client = client_of(request)
        who = None if permission == PUBLIC else identify(request, bearer, session)
        if who is None and permission != PUBLIC:
            g.log(Kind.UNAUTHENTICATED, "", client, _what(request), every_s=60)
            raise HTTPException(
                401, "log in, or send an API token (Authorization: Bearer ...)",
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        rules = _rules(request)
        if rules is None:  # not an /api route that install() read: nothing to check it by
            raise HTTPException(403, f"{_what(request)} is not an API route")
        malformed = _malformed(request, rules)
        if malformed:
            raise HTTPException(422, malformed)
        if who is None:
            return None
        reason = _refusal(request, who, permission, scoped, rules)
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
    check.__scoped__ = scoped  # type: ignore[attr-defined]
    return Depends(check)


def _malformed(request: Request, rules: RouteRules) -> str:
    """Why the query is not one the route reads, if it is not: a parameter the route does not
    take (which the scope check would see and the route ignore), or a single value given twice
    (of which the route would read one)."""
    for name in dict.fromkeys(request.query_params.keys()):
        if name not in rules.query:
            takes = ", ".join(sorted(rules.query)) or "none"
            return f"{_what(request)} takes no parameter {name!r} (it takes: {takes})"
        if not rules.query[name] and len(request.query_params.getlist(name)) > 1:
            return f"{_what(request)} takes one value of {name!r}"
    return ""


def _targets(request: Request, rules: RouteRules) -> list[str]:
    """The asset paths the request names, in the parameters the route reads them from."""
    paths = [str(request.path_params["path"])] if rules.path_target else []
    for name in rules.targets:
        paths += [TARGETS[name](v) for v in request.query_params.getlist(name)]
    return paths


def _refusal(
    request: Request, who: Principal, permission: str, scoped: bool, rules: RouteRules
) -> str:
    if permission != AUTHENTICATED and not who.allows(permission):
        if (
            who.scope
            and who.role.rank >= PERMISSIONS[permission].rank
            and not (who.permissions is not None and permission not in who.permissions)
        ):
            return f"{permission} needs access to the whole plant; yours is {who.scope!r}"
        return f"{permission} is not granted to {who.actor} ({who.role.value})"
    paths = _targets(request, rules)
    outside = [p for p in paths if not who.covers(p)]
    if outside:
        return f"{outside[0]!r} lies outside your part of the plant ({who.scope!r})"
    if scoped and who.scope and not paths:
        return f"your access is limited to {who.scope!r}: name an asset in it ({_names(rules)})"
    return ""


def _names(rules: RouteRules) -> str:
    return ", ".join((["path"] if rules.path_target else []) + list(rules.targets))


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


def _declared_checks(dependant: Dependant) -> list[Callable[..., Any]]:
    """The :func:`require` dependencies of a route (and of its dependencies), outermost first."""
    found: list[Callable[..., Any]] = []
    for dep in dependant.dependencies:
        if isinstance(getattr(dep.call, "__permission__", None), str):
            found.append(dep.call)  # type: ignore[arg-type]
        found += _declared_checks(dep)
    return found


def _parameters(dependant: Dependant) -> tuple[dict[str, bool], set[str]]:
    """Query parameters (name -> takes repeated values) and path parameters of a route, with
    those of its dependencies: what FastAPI reads from the request for it."""
    query = {
        q.alias: field_annotation_is_sequence(q.field_info.annotation)
        for q in dependant.query_params
    }
    path = {p.alias for p in dependant.path_params}
    for dep in dependant.dependencies:
        more_query, more_path = _parameters(dep)
        query |= more_query
        path |= more_path
    return query, path


def route_rules(route: APIRoute, path: str) -> RouteRules | None:
    """What ``route`` (at ``path``) declares; None when it declares no permission."""
    checks = _declared_checks(route.dependant)
    if not checks:
        return None
    query, path_params = _parameters(route.dependant)
    rules = RouteRules(
        permission=checks[0].__permission__,  # type: ignore[attr-defined]
        scoped=any(c.__scoped__ for c in checks),  # type: ignore[attr-defined]
        query=query,
        targets=tuple(name for name in query if name in TARGETS),
        path_target="path" in path_params,
    )
    if rules.scoped and not _names(rules):
        raise ValueError(f"{path} is scoped but takes no asset to narrow it by ({sorted(TARGETS)})")
    return rules


async def undeclared_guard(request: Request) -> None:
    """Router-level dependency of /api: a route that declares no permission is closed."""
    if _rules(request) is None:
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
            rules = route_rules(route, path)
            if rules is not None:
                g.declared[route.endpoint] = rules
                for method in route.methods or ():
                    operations[(path, method.lower())] = rules.permission
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
