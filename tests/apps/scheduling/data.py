"""Where the public benchmark instances are, for tests that need them: they skip with the
reason when the shared data folder is absent, except on CI, where its absence is a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"


def shared(*parts: str) -> Path:
    """The path of `parts` under the shared data folder, skipping (failing on CI) if absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"public benchmark data not found at {path} (see ../shared/data/README.md)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path
