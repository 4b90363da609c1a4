"""Versioned model storage: one folder per model name, one sub-folder per version holding the
pickled model and `meta.json` (version, kind, creation time, sha256 of the training data and of
the model file, figures). A model file whose sum no longer matches its metadata is refused:
pickles are code, and a tampered or half-written one must not be loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartfab.errors import SmartfabError

MODEL_FILE = "model.pkl"
META_FILE = "meta.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_VERSION = re.compile(r"^v(\d{4,})$")


class RegistryError(SmartfabError):
    """A model that is missing, or whose stored file does not match its metadata."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: int
    path: Path
    meta: dict[str, Any]


class ModelRegistry:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _folder(self, name: str) -> Path:
        if not _NAME.match(name):
            raise RegistryError(f"{name!r}: model names are letters, digits, '.', '_' and '-'")
        return self.root / name

    def versions(self, name: str) -> list[int]:
        folder = self._folder(name)
        if not folder.is_dir():
            return []
        found = (_VERSION.match(p.name) for p in folder.iterdir() if p.is_dir())
        return sorted(int(m.group(1)) for m in found if m)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.versions(p.name))

    def save(
        self, name: str, model: Any, kind: str, data_sha256: str, figures: dict[str, Any]
    ) -> ModelInfo:
        """Store `model` as the next version of `name`."""
        folder = self._folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        version = (self.versions(name) or [0])[-1] + 1
        final = folder / f"v{version:04d}"
        # Written under a temporary name and renamed, so a crash never leaves a version that
        # looks complete.
        tmp = folder / f".v{version:04d}.{os.getpid()}"
        tmp.mkdir()
        blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        (tmp / MODEL_FILE).write_bytes(blob)
        meta = {
            "name": name,
            "version": version,
            "kind": kind,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "training_data_sha256": data_sha256,
            "model_sha256": hashlib.sha256(blob).hexdigest(),
            "figures": figures,
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        tmp.rename(final)
        return ModelInfo(name, version, final, meta)

    def info(self, name: str, version: int | None = None) -> ModelInfo:
        versions = self.versions(name)
        if not versions:
            raise RegistryError(f"no model {name!r} in {self.root} (train one first)")
        v = versions[-1] if version is None else version
        if v not in versions:
            raise RegistryError(f"model {name!r} has no version {v} (has {versions})")
        path = self._folder(name) / f"v{v:04d}"
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        return ModelInfo(name, v, path, meta)

    def load(self, name: str, version: int | None = None) -> tuple[Any, ModelInfo]:
        """The model and its metadata (the newest version unless one is named)."""
        info = self.info(name, version)
        blob = (info.path / MODEL_FILE).read_bytes()
        if hashlib.sha256(blob).hexdigest() != info.meta.get("model_sha256"):
            raise RegistryError(f"{info.path / MODEL_FILE}: does not match its metadata's sum")
        return pickle.loads(blob), info
