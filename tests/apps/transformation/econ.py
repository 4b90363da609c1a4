"""Where the national data lie: ../shared/data/econ beside the repository. Tests that need it skip
when it is absent, except under CI, where its absence is a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ECON = Path(__file__).parents[3].parent / "shared" / "data" / "econ"


def econ_dir() -> Path:
    if not (ECON / "wdi_subset.csv").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the national data are missing under CI: {ECON}")
        pytest.skip(f"no national data at {ECON} (../shared/data/econ)")
    return ECON
