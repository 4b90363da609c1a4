from __future__ import annotations

from pathlib import Path

import pytest

from tests.apps.scheduling import data


def test_missing_data_skips_locally_and_fails_on_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(data, "SHARED", tmp_path / "absent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="public benchmark data not found"):
        data.shared("jsp", "bounds.csv")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="public benchmark data not found"):
        data.shared("jsp", "bounds.csv")
    monkeypatch.setattr(data, "SHARED", tmp_path)
    assert data.shared() == tmp_path
