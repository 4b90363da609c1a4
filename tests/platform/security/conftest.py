from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smartfab.platform.security import Security


@pytest.fixture
def sec(tmp_path: Path) -> Iterator[Security]:
    with Security(tmp_path / "security.sqlite") as s:
        yield s
