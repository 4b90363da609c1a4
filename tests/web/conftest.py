"""Authentication for the web tests: every route needs a login or an API token, so the route
tests call the API as a real client would, with a token of a real security database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smartfab.platform.security import Security


@pytest.fixture(scope="session")
def security(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Security]:
    with Security(tmp_path_factory.mktemp("security") / "security.sqlite") as sec:
        yield sec


def bearer(
    sec: Security, role: str = "admin", scope: str = "", name: str = "test"
) -> dict[str, str]:
    """Headers of a new API token with that grant."""
    _, secret = sec.tokens.create("test", name, role, scope, expires_days=1)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="session")
def admin_headers(security: Security) -> dict[str, str]:
    return bearer(security)
