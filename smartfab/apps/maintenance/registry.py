"""Versioned model storage: one folder per model name, one sub-folder per version holding the
model and `meta.json` (version, kind, creation time, sha256 of the training data and of the
model files, figures).

A model is stored as data that cannot run code when it is read: `model.json` describes the
objects (only the model classes of :data:`MODEL_TYPES`, plain values, lists, tuples and dicts),
its numpy arrays are in `arrays.npz` (read without pickle), and LightGBM boosters are kept in
LightGBM's own text format. Whoever can write to the model folder can thus make a model predict
nonsense, never make smartfab run their code; pickles (which are code) are not loaded at all.
A model whose files no longer match their sums is refused as half-written or tampered with.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from smartfab.apps.maintenance.classify import FailureClassifier, FailureParams
from smartfab.apps.maintenance.features import (
    FeaturePipeline,
    RegimeModel,
    RegimeNormaliser,
    WindowSpec,
)
from smartfab.apps.maintenance.health import BaselineHealth
from smartfab.apps.maintenance.rul import RulModel, RulParams
from smartfab.errors import SmartfabError

MODEL_FILE = "model.json"
ARRAYS_FILE = "arrays.npz"
META_FILE = "meta.json"
# Written by earlier versions; never unpickled.
PICKLE_FILE = "model.pkl"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_VERSION = re.compile(r"^v(\d{4,})$")
# The only classes a stored model may name: nothing else is ever constructed on loading.
MODEL_TYPES: dict[str, type] = {
    t.__name__: t
    for t in (
        RulModel,
        RulParams,
        FeaturePipeline,
        RegimeNormaliser,
        RegimeModel,
        WindowSpec,
        FailureClassifier,
        FailureParams,
        BaselineHealth,
    )
}


class RegistryError(SmartfabError):
    """A model that is missing, or whose stored files do not match their metadata or format."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: int
    path: Path
    meta: dict[str, Any]


def _encode(obj: Any, arrays: dict[str, np.ndarray[Any, Any]]) -> Any:
    """`obj` as JSON values; arrays go to `arrays` under the key the JSON names."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise RegistryError("arrays of Python objects cannot be stored")
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"$array": key}
    if isinstance(obj, list):
        return [_encode(x, arrays) for x in obj]
    if isinstance(obj, tuple):
        return {"$tuple": [_encode(x, arrays) for x in obj]}
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise RegistryError("only dicts with string keys can be stored")
        return {"$dict": {k: _encode(v, arrays) for k, v in obj.items()}}
    kind = type(obj)
    if dataclasses.is_dataclass(obj) and MODEL_TYPES.get(kind.__name__) is kind:
        fields = {f.name: _encode(getattr(obj, f.name), arrays) for f in dataclasses.fields(obj)}
        return {"$object": kind.__name__, "fields": fields}
    if f"{kind.__module__}.{kind.__name__}" == "lightgbm.basic.Booster":
        return {"$lightgbm": obj.model_to_string()}
    raise RegistryError(f"a {kind.__name__} cannot be stored as a model (not in MODEL_TYPES)")


def _decode(node: Any, arrays: Any) -> Any:
    if node is None or isinstance(node, bool | int | float | str):
        return node
    if isinstance(node, list):
        return [_decode(x, arrays) for x in node]
    if not isinstance(node, dict) or len(node) not in (1, 2):
        raise RegistryError(f"unexpected value in a stored model: {str(node)[:80]}")
    if "$array" in node:
        return arrays[str(node["$array"])]
    if "$tuple" in node:
        return tuple(_decode(x, arrays) for x in node["$tuple"])
    if "$dict" in node:
        return {str(k): _decode(v, arrays) for k, v in node["$dict"].items()}
    if "$lightgbm" in node:
        import lightgbm as lgb

        return lgb.Booster(model_str=str(node["$lightgbm"]))
    if "$object" in node:
        kind = MODEL_TYPES.get(str(node["$object"]))
        if kind is None:
            raise RegistryError(f"a stored model names the unknown type {node['$object']!r}")
        fields = {str(k): _decode(v, arrays) for k, v in dict(node.get("fields", {})).items()}
        try:
            return kind(**fields)
        except TypeError as exc:
            raise RegistryError(f"a stored {kind.__name__} does not fit: {exc}") from None
    raise RegistryError(f"unexpected value in a stored model: {str(node)[:80]}")


def _sha(*blobs: bytes) -> str:
    h = hashlib.sha256()
    for blob in blobs:
        h.update(hashlib.sha256(blob).digest())
    return h.hexdigest()


class ModelRegistry:
    """``root``: the model folder; None keeps models for this process only, in a private folder
    made with an unpredictable name on the first save (never a fixed path under /tmp, which
    anybody on the machine could have created first)."""

    def __init__(self, root: Path | None) -> None:
        self._root = None if root is None else Path(root)

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="smartfab-models-"))
        return self._root

    def _folder(self, name: str) -> Path:
        if not _NAME.match(name):
            raise RegistryError(f"{name!r}: model names are letters, digits, '.', '_' and '-'")
        return self.root / name

    def versions(self, name: str) -> list[int]:
        if self._root is None:
            return []
        folder = self._folder(name)
        if not folder.is_dir():
            return []
        found = (_VERSION.match(p.name) for p in folder.iterdir() if p.is_dir())
        return sorted(int(m.group(1)) for m in found if m)

    def names(self) -> list[str]:
        if self._root is None or not self._root.is_dir():
            return []
        return sorted(p.name for p in self._root.iterdir() if p.is_dir() and self.versions(p.name))

    def save(
        self, name: str, model: Any, kind: str, data_sha256: str, figures: dict[str, Any]
    ) -> ModelInfo:
        """Store `model` as the next version of `name`."""
        arrays: dict[str, np.ndarray[Any, Any]] = {}
        blob = json.dumps(_encode(model, arrays)).encode()
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)
        packed = buffer.getvalue()
        folder = self._folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        version = (self.versions(name) or [0])[-1] + 1
        final = folder / f"v{version:04d}"
        # Written under a temporary name and renamed, so a crash never leaves a version that
        # looks complete.
        tmp = folder / f".v{version:04d}.{os.getpid()}"
        tmp.mkdir()
        (tmp / MODEL_FILE).write_bytes(blob)
        (tmp / ARRAYS_FILE).write_bytes(packed)
        meta = {
            "name": name,
            "version": version,
            "kind": kind,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "training_data_sha256": data_sha256,
            "model_sha256": _sha(blob, packed),
            "figures": figures,
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        tmp.rename(final)
        return ModelInfo(name, version, final, meta)

    def info(self, name: str, version: int | None = None) -> ModelInfo:
        versions = self.versions(name)
        if not versions:
            where = self._root or "this process's models"
            raise RegistryError(f"no model {name!r} in {where} (train one first)")
        v = versions[-1] if version is None else version
        if v not in versions:
            raise RegistryError(f"model {name!r} has no version {v} (has {versions})")
        path = self._folder(name) / f"v{v:04d}"
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        return ModelInfo(name, v, path, meta)

    def load(self, name: str, version: int | None = None) -> tuple[Any, ModelInfo]:
        """The model and its metadata (the newest version unless one is named)."""
        info = self.info(name, version)
        if not (info.path / MODEL_FILE).is_file():
            old = " as a pickle, which is not loaded" if (info.path / PICKLE_FILE).exists() else ""
            raise RegistryError(f"{info.path}: model stored{old} (train it again)")
        blob = (info.path / MODEL_FILE).read_bytes()
        packed = (info.path / ARRAYS_FILE).read_bytes()
        if _sha(blob, packed) != info.meta.get("model_sha256"):
            raise RegistryError(f"{info.path}: the model files do not match their metadata's sum")
        try:
            with np.load(io.BytesIO(packed), allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
            model = _decode(json.loads(blob), arrays)
        except (ValueError, KeyError, OSError) as exc:
            raise RegistryError(f"{info.path}: not a readable model ({exc})") from None
        return model, info
