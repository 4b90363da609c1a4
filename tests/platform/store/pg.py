"""The real PostgreSQL the tests use (127.0.0.1:5432, trust auth, database ``test``; override with
SMARTFAB_TEST_POSTGRES_URL). Tests that need it skip with the reason when it is unreachable,
except on CI (CI=true), where its absence is a failure. Each test works in a schema of its own
(``smartfab_test_...``), dropped afterwards, so tests and other users of the database never meet."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import psycopg
import pytest
from psycopg import sql

URL = os.environ.get("SMARTFAB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


@cache
def _unreachable() -> str | None:
    try:
        psycopg.connect(URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {URL} ({exc}); start it with `{START}`"
    return None


def postgres_url() -> str:
    """The URL of the test database, skipping (failing on CI) if it is unreachable."""
    reason = _unreachable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return URL


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextmanager
def fresh_schema() -> Iterator[tuple[str, str]]:
    """(url, schema): a new, empty schema name in the test database, dropped on exit."""
    url = postgres_url()
    schema = f"smartfab_test_{uuid.uuid4().hex[:12]}"
    try:
        yield url, schema
    finally:
        drop_schema(url, schema)
