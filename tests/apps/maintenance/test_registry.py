from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from smartfab.apps.maintenance.registry import ModelRegistry, RegistryError
from smartfab.apps.maintenance.rul import RulModel, RulParams
from tests.apps.maintenance.synthetic import fleet_rows


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
    (info.path / "model.json").write_bytes(b"[1, 2, 4]")
    with pytest.raises(RegistryError, match="do not match"):
        registry.load("m")
    with pytest.raises(RegistryError, match="model names"):
        registry.save("../escape", 1, "x", "y", {})
    with pytest.raises(RegistryError, match="cannot be stored"):
        registry.save("m", object(), "x", "y", {})


def test_a_trained_model_reads_back_to_the_same_predictions(tmp_path: Path) -> None:
    from smartfab.apps.maintenance.datasets import Fleet

    rows, _ = fleet_rows(units=6, regimes=1, seed=2, truncate=False)
    fleet = Fleet(rows[:, 0].astype(np.int64), rows[:, 1], rows[:, 2:5], rows[:, 5:],
                  tuple(f"s{i}" for i in range(21)), "", False)  # fmt: skip
    model = RulModel.fit(fleet, RulParams(seeds=1, trees=20, quantile_trees=10))
    registry = ModelRegistry(tmp_path)
    info = registry.save("rul-t", model, "rul", "abc", {})
    assert sorted(p.name for p in info.path.iterdir()) == ["arrays.npz", "meta.json", "model.json"]
    loaded, _ = registry.load("rul-t")
    assert isinstance(loaded, RulModel) and loaded.params == model.params
    for a, b in zip(loaded.predict_rows(fleet), model.predict_rows(fleet), strict=True):
        np.testing.assert_allclose(a, b)


class _Payload:
    """Unpickling it runs a command: what a model file planted by an attacker would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _sign(version: Path, *files: str) -> None:
    """Write the sums the metadata beside the files expects, as an attacker who can write the
    model folder can."""
    meta = json.loads((version / "meta.json").read_text())
    h = hashlib.sha256()
    for name in files:
        h.update(hashlib.sha256((version / name).read_bytes()).digest())
    meta["model_sha256"] = h.hexdigest()
    (version / "meta.json").write_text(json.dumps(meta))


def test_a_model_crafted_to_run_code_is_refused_without_running_it(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "models")
    marker = tmp_path / "code-ran"
    blob = pickle.dumps(_Payload(marker))

    # 1. A pickle with its sum beside it, as the previous format stored models.
    info = registry.save("rul-a", [1.0], "rul", "x", {})
    for name in ("model.json", "arrays.npz"):
        (info.path / name).unlink()
    (info.path / "model.pkl").write_bytes(blob)
    meta = json.loads((info.path / "meta.json").read_text())
    meta["model_sha256"] = hashlib.sha256(blob).hexdigest()
    (info.path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(RegistryError, match="pickle, which is not loaded"):
        registry.load("rul-a")

    # 2. A pickle inside the arrays file (an object array), sums forged to match.
    info = registry.save("rul-b", np.zeros(3), "rul", "x", {})
    packed = io.BytesIO()
    np.savez(packed, a0=np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    (info.path / "arrays.npz").write_bytes(packed.getvalue())
    _sign(info.path, "model.json", "arrays.npz")
    with pytest.raises(RegistryError, match="not a readable model"):
        registry.load("rul-b")

    # 3. A description naming a class that is no model (e.g. one that runs commands).
    info = registry.save("rul-c", [1.0], "rul", "x", {})
    (info.path / "model.json").write_text(
        json.dumps({"$object": "Popen", "fields": {"args": ["touch", str(marker)]}})
    )
    _sign(info.path, "model.json", "arrays.npz")
    with pytest.raises(RegistryError, match="unknown type 'Popen'"):
        registry.load("rul-c")

    assert not marker.exists()


def test_without_a_folder_models_go_to_a_private_unpredictable_one() -> None:
    a, b = ModelRegistry(None), ModelRegistry(None)
    assert a.names() == [] and a.versions("m") == []
    with pytest.raises(RegistryError, match="this process's models"):
        a.load("m")
    info = a.save("m", [1], "x", "y", {})
    b.save("m", [2], "x", "y", {})
    assert a.root != b.root and info.path.is_relative_to(a.root)
    assert a.root.stat().st_mode & 0o077 == 0  # nobody else may read or plant models there
    assert a.load("m")[0] == [1]
