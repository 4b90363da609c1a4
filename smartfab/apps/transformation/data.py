"""The transformation data files: questionnaires, national targets, subsidy rules, the article's
figures and the country groups. The package carries them (``smartfab/apps/transformation/data``);
a plant overrides any of them with a file of the same name in its own folder
(``<data_dir>/transformation/``), so a ministry's new criteria or a region's programme are an
edit, not a release. Every file is checked against its schema; a bad one is refused with the
file, the field and why."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from smartfab.errors import SmartfabError

PACKAGED = Path(str(files("smartfab.apps.transformation") / "data"))
M = TypeVar("M", bound=BaseModel)


class TransformationError(SmartfabError):
    """Bad transformation data or input; the message says where and why."""


def data_file(name: str, folder: Path | None = None) -> Path:
    """The file ``name`` from the plant's folder when it holds one, else the packaged one."""
    if folder is not None and (folder / name).is_file():
        return folder / name
    path = PACKAGED / name
    if not path.is_file():
        raise TransformationError(f"{name}: no such transformation data file")
    return path


def load_model(name: str, model: type[M], folder: Path | None = None) -> M:
    path = data_file(name, folder)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TransformationError(f"{path}: not YAML: {exc}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise TransformationError(f"{path}: {problems(exc, '(file)')}") from None


def problems(exc: ValidationError, whole: str) -> str:
    """A validation error's problems as "field: why; ..." (``whole``: the name of a problem of
    the whole input rather than of one field)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or whole}: {e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors()
    )
