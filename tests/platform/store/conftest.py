from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.platform.store.pg import fresh_schema


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    """(url, schema) of an empty schema of the test PostgreSQL, dropped after the test."""
    with fresh_schema() as where:
        yield where
