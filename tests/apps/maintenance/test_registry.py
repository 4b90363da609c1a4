from __future__ import annotations

from pathlib import Path

import pytest

from smartfab.apps.maintenance.registry import ModelRegistry, RegistryError


def test_versions_count_up_and_carry_their_metadata(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "models")
    first = registry.save("rul-x", {"w": 1}, "rul", "abc", {"rmse": 12.5})
    second = registry.save("rul-x", {"w": 2}, "rul", "abd", {"rmse": 11.0})
    assert (first.version, second.version) == (1, 2)
    assert registry.versions("rul-x") == [1, 2] and registry.names() == ["rul-x"]
    model, info = registry.load("rul-x")
    assert model == {"w": 2} and info.meta["figures"] == {"rmse": 11.0}
    assert info.meta["training_data_sha256"] == "abd" and info.meta["kind"] == "rul"
    assert registry.load("rul-x", 1)[0] == {"w": 1}


def test_missing_and_tampered_models_are_refused(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    with pytest.raises(RegistryError, match="train one first"):
        registry.load("nothing")
    info = registry.save("m", [1, 2, 3], "failure", "abc", {})
    with pytest.raises(RegistryError, match="no version 7"):
        registry.load("m", 7)
    (info.path / "model.pkl").write_bytes(b"not the stored model")
    with pytest.raises(RegistryError, match="does not match"):
        registry.load("m")
    with pytest.raises(RegistryError, match="model names"):
        registry.save("../escape", 1, "x", "y", {})
