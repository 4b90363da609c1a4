"""A user limited to part of the plant never receives data of another part, whatever the request
carries: every operation of the app (read from its OpenAPI schema, so a route added later is
probed without editing this test), called by every role, with a whole-plant grant, a grant of the
part that holds the assets named and anonymously, with the values of its own parameters taken
from another part, repeated with another part's value, as path traversals and in other case, and
with parameters it does not declare. Refusals are checked by status; what is answered is checked
by its body: a grant of one area never sees the path of another.

What is sent is a covering design, not the full product of callers and probes (see plan()):
every caller (each role with each grant, and anonymous) sends every operation's first probe, so
every operation's answer to every caller is checked; and each of an operation's probes is sent,
for each grant, by one of the roles that hold its permission (by one that does not, for the
probes that show a refusal), the roles taking turns. A role's answer to a probe differs from
another holder's only by the role check, which the first probe tries for every role; what the
other probes try, the scope check of their asset parameters, does not read the role.

The role table itself (who may do what, with valid requests and bodies) is test_auth.py's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from smartfab.model.plant import Plant
from smartfab.platform.security import Security
from smartfab.platform.security.roles import PERMISSIONS, PLANT_WIDE, Principal, Role
from smartfab.web.auth import ApiLimits
from tests.conftest import FILLED_END_US, FILLED_START_US
from tests.web.conftest import served_api

MINE = "shenyang/machining"  # the part of the plant the scoped callers hold
CNC = f"{MINE}/cnc-line-1/cell-1/cnc-01"
PRESS = "shenyang/pressing/press-line-1/cell-1/press-01"
OTHERS = ("shenyang/pressing", "shenyang/assembly", "shenyang/packaging")  # never in their bodies
WINDOW = {
    "start": datetime.fromtimestamp(FILLED_START_US / 1e6, UTC).isoformat(),
    "end": datetime.fromtimestamp(FILLED_END_US / 1e6, UTC).isoformat(),
}
# Parameters that name an asset, by what they name.
SIGNALS, ALARMS, ASSETS = {"signal"}, {"alarm"}, {"path", "under", "equipment"}
TARGETS = SIGNALS | ALARMS | ASSETS


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as the schema writes it, e.g. /api/equipment/{path}
    permission: str
    query: dict[str, dict[str, Any]]  # name -> its schema entry
    path_params: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.method.upper()} {self.path}"

    def repeats(self, name: str) -> bool:
        schema = self.query[name]["schema"]
        kinds = [schema, *schema.get("anyOf", [])]
        return any(k.get("type") == "array" for k in kinds)


@dataclass(frozen=True)
class Probe:
    """One request to an operation. ``foreign``: it names an asset outside MINE; ``malformed``:
    it carries a parameter the operation does not take, or one value twice."""

    what: str
    url: str
    params: list[tuple[str, str]]
    foreign: bool = False
    malformed: bool = False


@dataclass
class Values:
    """An asset of each kind, in MINE and in another part."""

    mine: dict[str, str]
    other: dict[str, str]

    def of(self, name: str, foreign: bool) -> str:
        kind = "signal" if name in SIGNALS else "alarm" if name in ALARMS else "asset"
        return (self.other if foreign else self.mine)[kind]


def operations(schema: dict[str, Any]) -> list[Operation]:
    found = []
    for path, methods in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, op in methods.items():
            params = op.get("parameters", [])
            found.append(
                Operation(
                    method, path, op["x-permission"],
                    {p["name"]: p for p in params if p["in"] == "query"},
                    tuple(p["name"] for p in params if p["in"] == "path"),
                )
            )  # fmt: skip
    return found


def _plain_value(entry: dict[str, Any]) -> str:
    """A valid value of a parameter that names no asset (a required one must be given)."""
    schema = entry["schema"]
    kinds = [schema, *schema.get("anyOf", [])]
    for k in kinds:
        if "enum" in k:
            return str(k["enum"][0])
        if k.get("type") in ("integer", "number"):
            return str(k.get("minimum", k.get("exclusiveMinimum", 0) + 1))
        if k.get("type") == "boolean":
            return "false"
    return "x"


def probes(op: Operation, v: Values, scoped: bool = True) -> list[Probe]:
    """The requests ``op`` is tried with. Reads are tried with every probe; changes only with
    those refused before the route runs (foreign or malformed), so that the matrix changes
    nothing: their valid requests are test_auth.py's. Disguised paths are for ``scoped``
    callers (to a whole-plant one they are merely unknown assets)."""

    def url(foreign: bool = False, asset: str | None = None) -> str:
        u = op.path
        for p in op.path_params:
            value = asset or v.of(p, foreign) if p in TARGETS else "none"
            u = u.replace("{" + p + "}", value)
        return u

    base: list[tuple[str, str]] = []
    for name, entry in op.query.items():
        if name in TARGETS and entry.get("required"):
            base.append((name, v.of(name, False)))
        elif name in WINDOW:
            base.append((name, WINDOW[name]))
        elif name == "format":
            base.append((name, "csv"))
        elif entry.get("required"):
            base.append((name, _plain_value(entry)))

    def without(name: str) -> list[tuple[str, str]]:
        return [(k, x) for k, x in base if k != name]

    found = [Probe("plain", url(), base)]
    for name in op.query:
        if name not in TARGETS:
            continue
        mine, other = v.of(name, False), v.of(name, True)
        found.append(Probe(f"{name}=other", url(), [*without(name), (name, other)], foreign=True))
        for pair in ((mine, other), (other, mine)):
            found.append(
                Probe(
                    f"{name} twice", url(), [*without(name), (name, pair[0]), (name, pair[1])],
                    foreign=True, malformed=not op.repeats(name),
                )
            )  # fmt: skip
        for variant in _disguises(other) if scoped else []:
            found.append(Probe(f"{name}={variant}", url(), [*without(name), (name, variant)],
                               foreign=True))  # fmt: skip
    for name in op.path_params:
        if name in TARGETS:
            found.append(Probe(f"{{{name}}}=other", url(True), base, foreign=True))
            # Dots escaped: the client would otherwise resolve "a/../b" before sending it.
            found += [
                Probe(f"{{{name}}}={d}", url(asset=d.replace(".", "%2E")), base, foreign=True)
                for d in (_disguises(v.of(name, True)) if scoped else [])
            ]
    # Parameters the operation does not take, with values in MINE: refused, whatever they say.
    for name in ["junk", *sorted(TARGETS - set(op.query))]:
        found.append(Probe(f"undeclared {name}", url(), [*base, (name, v.of(name, False))],
                           malformed=True))  # fmt: skip
    if op.method != "get":
        found = [p for p in found if p.foreign or p.malformed]
    return found


def _disguises(other: str) -> list[str]:
    """Another part's asset written to look like one of MINE, or not like itself."""
    tail = other.split("/", 1)[1]  # without the site
    return [
        f"{MINE}/../{tail}",
        f"{MINE}/../../{other}",
        f"{MINE}//../{tail}",
        other.upper(),
        other + "/",
    ]


SENDERS = 4  # requests in flight at once: each answer is checked on its own
Caller = tuple[str | None, str]  # a role (None: anonymous) and its grant ("": the whole plant)
GRANTS = ("", MINE)


def plan(ops: list[Operation], v: Values) -> list[tuple[Caller, Operation, Probe]]:
    """What is sent, and by whom (the covering design of the module's docstring): for each
    operation and grant, every caller sends the operation's first probe; its other probes are
    dealt among the callers that hold its permission, and the two that show a refusal whatever
    is asked (its first foreign and first malformed probe) among those that do not, each
    operation's deal starting one caller further, so that every role takes its share."""
    sent: list[tuple[Caller, Operation, Probe]] = []
    for turn, op in enumerate(ops):
        for scope in GRANTS:
            tried = probes(op, v, bool(scope))
            refusals = [p for p in tried if p.foreign][:1] + [p for p in tried if p.malformed][:1]
            roles: list[str | None] = [None] if not scope else []  # anonymous has no grant
            roles += [r.value for r in Role]
            holders = [(r, scope) for r in roles if _holds(op, r)]
            others = [(r, scope) for r in roles if not _holds(op, r)]
            for group, rest in ((holders, tried[1:]), (others, refusals)):
                sent += [(caller, op, tried[0]) for caller in group]
                sent += [(group[(turn + i) % len(group)], op, p) for i, p in enumerate(rest)
                         if group]  # fmt: skip
    return sent


def expected(op: Operation, probe: Probe, role: str | None, scope: str) -> set[int] | None:
    """The statuses the probe may have; None: any answer but 401, 403 and 5xx, whose body the
    test reads."""
    if op.permission == "public":
        return {422} if probe.malformed else None
    if role is None:
        return {401}
    if probe.malformed:
        return {422}
    if op.permission != "authenticated":
        if Role(role).rank < PERMISSIONS[op.permission].rank:
            return {403}
        if scope and op.permission in PLANT_WIDE:
            return {403}
    if scope and probe.foreign:
        return {403}
    return None


def _holds(op: Operation, role: str | None) -> bool:
    if op.permission in ("public", "authenticated"):
        return role is not None or op.permission == "public"
    return role is not None and Role(role).rank >= PERMISSIONS[op.permission].rank


@dataclass
class Answer:
    status: int
    body: str = ""


@dataclass
class Tally:
    failures: list[str] = field(default_factory=list)
    seen_foreign: set[str] = field(default_factory=set)  # operations a whole-plant grant read
    answered: int = 0


async def _ask(client: httpx.AsyncClient, method: str, url: str, params: Any,
               headers: dict[str, str]) -> Answer:  # fmt: skip
    client.cookies.clear()
    async with client.stream(method, url, params=params, headers=headers) as r:
        if r.status_code >= 300:
            return Answer(r.status_code, (await r.aread()).decode(errors="replace"))
        if r.headers.get("content-type", "").startswith("text/event-stream"):
            text = ""
            async with asyncio.timeout(20):  # the first event holds the snapshot
                async for chunk in r.aiter_text():
                    text += chunk
                    if "\n\n" in text and "event: update" in text:
                        break
            return Answer(r.status_code, text)
        return Answer(r.status_code, (await r.aread()).decode(errors="replace"))


@pytest.fixture
async def app_server(
    tmp_path: Path, filled_store: Path, demo_plant: Plant
) -> AsyncIterator[tuple[str, Security, Values, dict[str, Any]]]:
    async with served_api(tmp_path, filled_store, demo_plant) as served:
        alarms = served.ingestion.alarms.alarms(include_normal=True)
        values = Values(
            mine={"asset": CNC, "signal": f"{CNC}/power",
                  "alarm": next(a.id for a in alarms if a.equipment == CNC)},
            other={"asset": PRESS, "signal": f"{PRESS}/power",
                   "alarm": next(a.id for a in alarms if a.equipment == PRESS)},
        )  # fmt: skip
        yield served.url, served.security, values, served.app.openapi()


def _token(sec: Security, role: str, scope: str) -> dict[str, str]:
    _, secret = sec.tokens.create("test", f"{role}@{scope or '*'}", role, scope, expires_days=1)
    return {"Authorization": f"Bearer {secret}"}


async def test_no_request_reads_another_part(
    app_server: tuple[str, Security, Values, dict[str, Any]],
) -> None:
    url, sec, values, schema = app_server
    ops = operations(schema)
    assert len(ops) > 40  # the schema is the app's, not an empty one
    sent = plan(ops, values)
    callers = {caller for caller, _, _ in sent}
    assert len(callers) == 1 + len(Role) * len(GRANTS)
    for op in ops:  # the design's guarantee, as the module's docstring states it
        assert {c for c, o, _ in sent if o is op} == callers, op.name
        for scope in GRANTS:
            assert {p.what for c, o, p in sent if o is op and c[1] == scope} == {
                p.what for p in probes(op, values, bool(scope))
            }, op.name
    headers = {c: _token(sec, c[0], c[1]) if c[0] else {} for c in callers}
    tally = Tally()
    queue = iter(sent)

    async def sender() -> None:
        # A client each: _ask clears its client's cookies before each request.
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            for (role, scope), op, probe in queue:
                await _check(client, op, probe, role, scope, headers[(role, scope)], tally)

    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    assert not tally.failures, f"{len(tally.failures)} failures:\n" + "\n".join(tally.failures)
    # The probes do reach other parts' data: a whole-plant grant receives it from these.
    for name in ("GET /api/latest", "GET /api/signals", "GET /api/events", "GET /api/lineage",
                 "GET /api/live", "GET /api/export", "GET /api/alarms", "GET /api/assets",
                 "GET /api/alarms/history", "GET /api/maintenance/fleet"):  # fmt: skip
        assert name in tally.seen_foreign, f"{name}: no probe read another part's data"
    assert tally.answered > 100


async def _check(
    client: httpx.AsyncClient, op: Operation, probe: Probe, role: str | None, scope: str,
    headers: dict[str, str], tally: Tally,
) -> None:  # fmt: skip
    answer = await _ask(client, op.method.upper(), probe.url, probe.params, headers)
    who = f"{op.name} [{probe.what}] as {role or 'anonymous'}@{scope or '*'}"
    want = expected(op, probe, role, scope)
    if want is not None:
        if answer.status not in want:
            tally.failures.append(f"{who}: {answer.status}, expected {sorted(want)}: "
                                  f"{answer.body[:200]}")  # fmt: skip
        return
    if answer.status in (401, 403) and not (scope and answer.status == 403):
        # Only a scoped caller may be told to narrow a request that spans the plant.
        tally.failures.append(f"{who}: {answer.status}: {answer.body[:200]}")
        return
    if answer.status >= 500:
        tally.failures.append(f"{who}: {answer.status}: {answer.body[:200]}")
        return
    tally.answered += answer.status < 300
    leaked = [part for part in OTHERS if part in answer.body]
    if scope and leaked:
        tally.failures.append(f"{who}: {answer.status} with {leaked[0]}: {answer.body[:200]}")
    if not scope and leaked and answer.status < 300:
        tally.seen_foreign.add(op.name)


def test_a_scope_covers_no_disguised_path() -> None:
    who = Principal("li", "user", Role.VIEWER, MINE)
    assert who.covers(CNC) and who.covers(CNC + "/") and who.covers("/" + MINE)
    for disguised in [*_disguises(PRESS), f"{MINE}/./x", f"{MINE}/x/..", f"{MINE}-2/x"]:
        assert not who.covers(disguised), disguised
    assert Principal("root", "user", Role.ADMIN).covers(f"{MINE}/../x")  # the whole plant


async def test_body_targets_are_each_checked(
    app_server: tuple[str, Security, Values, dict[str, Any]],
) -> None:
    """An acknowledgement naming an alarm of MINE and one of another part changes neither."""
    url, sec, values, _ = app_server
    headers = _token(sec, "operator", MINE)
    mine = {"under": CNC, "include_normal": "true"}
    async with httpx.AsyncClient(base_url=url, headers=headers) as client:
        before = (await client.get("/api/alarms", params=mine)).json()
        for ids in ([values.mine["alarm"], values.other["alarm"]],
                    [values.other["alarm"], values.mine["alarm"]]):  # fmt: skip
            r = await client.post("/api/alarms/acknowledge", json={"ids": ids})
            assert r.status_code == 403, r.text
        r = await client.get("/api/alarms/history", params={"under": CNC})
        assert r.status_code == 200 and not [x for x in r.json() if x["user"]]
        assert (await client.get("/api/alarms", params=mine)).json() == before


def test_a_scoped_route_without_an_asset_parameter_fails_at_start(tmp_path: Path) -> None:
    """``scoped`` asks the caller to narrow the answer: a route with nothing to narrow it by
    would refuse every scoped caller, or (checked by another parameter) let them all through."""
    from fastapi import APIRouter, FastAPI

    from smartfab.web import auth

    app = FastAPI()
    api = APIRouter(prefix="/api")
    api.add_api_route(
        "/everything", lambda: {}, dependencies=[auth.require("plant.read", scoped=True)]
    )
    app.include_router(api)
    with Security(tmp_path / "sec.sqlite") as sec, pytest.raises(ValueError, match="everything"):
        auth.install(app, sec, ApiLimits())
