"""Generated requests against every operation of the OpenAPI schema: schemathesis builds requests
that fit the schema and requests that do not (wrong types, missing and extra fields, out-of-range
numbers, odd strings), and sends them to the real server over HTTP, with an admin token and
without credentials. No answer may be a server error (5xx): bad input is refused with a 4xx and
a message saying why. Every write operation also gets valid requests with extreme numbers in
their numeric fields: refused ones change nothing that is stored, and what was stored never
makes a later read fail.

The server runs in a thread of its own with the real ingestion (alarms, connectors) over a copy
of the six-hour store, so that the requests (made by ``requests``, blocking) never wait on the
event loop that serves them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from smartfab.model.plant import Plant
from smartfab.platform.store.duckdb import DuckDBStore
from tests.web.conftest import served_api

# The live feeds are endless streams: a request for one never completes. The values' takes no
# input, the warehouse's a zone path; test_auth.py calls both by every role.
ENDLESS = {("GET", "/api/live"), ("GET", "/api/warehouse/live/{path}")}
EXAMPLES = 12  # per operation and generation mode, with the admin token
ANONYMOUS_EXAMPLES = 4  # refused before anything reads the input: a few show it


@dataclass
class Server:
    url: str
    admin: dict[str, str]
    schema: dict[str, Any]
    store: DuckDBStore


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, filled_store: Path, demo_plant: Plant
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("schemathesis")
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        async with served_api(folder, filled_store, demo_plant) as served:
            sec = served.security
            _, secret = sec.tokens.create("test", "schemathesis", "admin", "", expires_days=1)
            stop = asyncio.Event()
            box.update(url=served.url, secret=secret, stop=stop, loop=asyncio.get_running_loop(),
                       store=served.store)  # fmt: skip
            ready.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(serve())
        finally:
            ready.set()  # a failed start must not leave the test waiting

    thread = threading.Thread(target=run, name="schemathesis-server")
    thread.start()
    try:
        assert ready.wait(120) and "url" in box, "the server did not start"
        admin = {"Authorization": f"Bearer {box['secret']}"}
        schema = requests.get(f"{box['url']}/openapi.json", headers=admin, timeout=30).json()
        yield Server(box["url"], admin, schema, box["store"])
    finally:
        if "stop" in box:
            box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(60)


def _bounded(case: Any) -> None:
    """Keep the jobs a valid request starts short: a solve of at most 0.2 s, experiments of two
    replications of a day in one process. Whether such a request is refused or accepted is what
    is tested, not how long the solver can run."""
    body: Any = case.body
    if not isinstance(body, dict):
        return
    path = case.operation.path
    if path.startswith("/api/scheduling/") and isinstance(body.get("time_limit_s"), int | float):
        body["time_limit_s"] = min(body["time_limit_s"], 0.2)
    if path == "/api/twin/experiments":
        for key, most in (("replications", 2), ("workers", 1), ("horizon_days", 1.0)):
            if isinstance(body.get(key), int | float):
                body[key] = min(body[key], most)
    if path == "/api/twin/calibrate" and isinstance(body.get("days"), int | float):
        body["days"] = min(body["days"], 1.0)


def _run(server: Server, headers: dict[str, str], examples: int) -> list[str]:
    """Every operation in both generation modes; the server errors found, one line each."""
    schema: Any = schemathesis.openapi.from_dict(server.schema)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, "the schema lost its operations"
    for operation in operations:
        if (operation.method.upper(), operation.path) in ENDLESS:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,  # the same requests every run: a failure is reproducible
                database=None,
                phases=[Phase.explicit, Phase.generate],  # report the first failure, unshrunk
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(mode))
            def call(case: Any) -> None:
                _bounded(case)
                response = case.call(base_url=server.url, headers=headers, timeout=30)
                case.validate_response(response, checks=[not_a_server_error])

            try:
                call()
            except Unsatisfiable:
                pass  # no request of this mode exists (e.g. nothing to get wrong)
            except Exception as exc:  # noqa: BLE001 - any failure is reported with its request
                first = str(exc).strip().splitlines()
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): "
                                f"{' | '.join(first[:12])}")  # fmt: skip
    return failures


def test_no_request_by_an_admin_is_answered_with_a_server_error(server: Server) -> None:
    failures = _run(server, server.admin, EXAMPLES)
    assert not failures, "\n".join(failures)


def test_no_request_without_credentials_is_answered_with_a_server_error(server: Server) -> None:
    failures = _run(server, {}, ANONYMOUS_EXAMPLES)
    assert not failures, "\n".join(failures)


# Numbers a client may send that no setting means: beyond int64, beyond float, negative, zero,
# tiny; and numbers that fit a 64-bit integer of microseconds but not a date (10**8 days).
# (JSON has no NaN or infinity; the parsers' own tests cover those.)
EXTREMES = [1e308, -1e308, 2**63, 2**64, -(2**63) - 1, -1, 0, 1e-300, 10**30, 10**8, 3e6]
WRITES = {"post", "put", "patch", "delete"}
EXTREME_EXAMPLES = 15


def _numbers(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where the numbers (not booleans) of a JSON value are."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _numbers(v, (*at, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _numbers(v, (*at, i))]
    return [at] if isinstance(value, int | float) and not isinstance(value, bool) else []


def _put(value: Any, at: tuple[Any, ...], new: Any) -> None:
    for key in at[:-1]:
        value = value[key]
    value[at[-1]] = new


def _declared(server: Server, operation: Any) -> set[str]:
    """The top-level fields an operation's JSON body declares (generated bodies add others)."""
    body = operation.definition.raw.get("requestBody", {})
    ref = body.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    found = server.schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    return set(found.get("properties", {}))


def _stored(server: Server) -> dict[str, Any]:
    """What the writes store, as the API reads it back; every read must answer, and the
    retention policy stored must apply (the housekeeping applies it hourly)."""
    server.store.apply_retention()
    out: dict[str, Any] = {}
    for name in ("users", "tokens", "retention", "connectors", "audit"):
        r = requests.get(f"{server.url}/api/{name}", headers=server.admin, timeout=30)
        assert r.status_code == 200, f"GET /api/{name} after the writes: {r.status_code} {r.text}"
        out[name] = r.json()
    # Every change is audited; refused setpoint writes are too, by design, as attempts.
    out["audit"] = [e["seq"] for e in out["audit"] if not e["action"].endswith(".refused")]
    del out["connectors"]  # counters that move by themselves; their changes are audited
    return out


def _extremes(server: Server, operation: Any) -> Any:
    """The property for one write operation: valid requests with extreme numbers in their
    declared fields."""
    declared = _declared(server, operation)

    @settings(
        max_examples=EXTREME_EXAMPLES, deadline=None, derandomize=True, database=None,
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(case=operation.as_strategy(GenerationMode.POSITIVE), data=st.data())
    def call(case: Any, data: st.DataObject) -> None:
        places = [at for at in _numbers(case.body) if at[0] in declared]
        if not places:
            return
        for at in data.draw(st.lists(st.sampled_from(places), min_size=1, unique=True)):
            _put(case.body, at, data.draw(st.sampled_from(EXTREMES)))
        _bounded(case)
        before = _stored(server)
        response = case.call(base_url=server.url, headers=server.admin, timeout=30)
        assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
        after = _stored(server)  # and every read still answers
        if response.status_code >= 400:
            assert after == before, f"refused with {response.status_code}, yet stored"
        # A retention that deletes (nearly) every point at the next housekeeping is no
        # setting anyone means: under a day it must be refused.
        days = [d for d in after["retention"]["classes"].values() if d is not None]
        assert all(1 <= d <= 36_500 for d in days), f"retention stored: {days}"

    return call


def test_extreme_numbers_in_writes_are_refused_before_anything_is_saved(server: Server) -> None:
    schema: Any = schemathesis.openapi.from_dict(server.schema)
    failures: list[str] = []
    for operation in (result.ok() for result in schema.get_all_operations()):
        if operation.method.lower() not in WRITES:
            continue
        try:
            _extremes(server, operation)()
        except Unsatisfiable:
            pass
        except Exception as exc:  # noqa: BLE001 - any failure is reported with its request
            first = str(exc).strip().splitlines()
            failures.append(f"{operation.method.upper()} {operation.path}: "
                            f"{' | '.join(first[:12])}")  # fmt: skip
    assert not failures, "\n".join(failures)
