"""Loaders for the public predictive-maintenance data sets, verified against their published
sha256 sums (../shared/data/README.md), into the generic shapes the models take.

- NASA C-MAPSS: `train_FD00x.txt`, `test_FD00x.txt`, `RUL_FD00x.txt` as NASA names them; 26
  whitespace-separated columns: unit, cycle, three operating settings, 21 sensors.
- AI4I 2020: one CSV (UTF-8 BOM, CRLF) whose headers carry units, e.g. `Torque [Nm]`.

A run-to-failure data set becomes a `Fleet` (units observed cycle by cycle: operating settings
and sensors); a tabular one becomes a `Table` (named numeric columns and a label). Nothing after
the loader knows which data set it came from.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from smartfab.errors import SmartfabError

# The sums published beside the data (../shared/data/README.md), by file name. Files of other
# subsets (FD002, FD004) load unverified; `Fleet.verified` says so and the figures carry it.
SHA256: dict[str, str] = {
    "RUL_FD001.txt": "a19c8ec94931949d0485bdc35118206e9c81c4547b422efb9cf86f4ceddbceca",
    "RUL_FD003.txt": "df1e0566306b174a2de41c67a3e7a51877889598b78643fc3e5685259091b7cb",
    "test_FD001.txt": "3cda7109ce17bafb5443f2ac926cfcf88154b941b8c4cf95eb55d1ddd6f52851",
    "test_FD003.txt": "299babd63c8d987cef079c4a425429f33b3a34797d803bbe2ad48c29dbd0d790",
    "train_FD001.txt": "963b5e22825b34d8b21c69e1aeb4af3e647050eb672ee8834ba4b5d91d2de0f8",
    "train_FD003.txt": "2abbe9968cc5e8eb091980f51b20f62bb4127336d3482cb52071d53bf23329e2",
    "ai4i2020.csv": "dc6630cd9b1f0f853922fad78a1b6436570d3f1ec863f1dd5c4340ac56bc8a8e",
}

CMAPSS_SETTINGS = 3
CMAPSS_SENSORS = 21
# AI4I columns that are never features: identifiers, and the failure modes, which are the
# label broken down (using them would be reading the answer).
AI4I_LABEL = "Machine failure"
AI4I_EXCLUDED = ("UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF")
AI4I_CATEGORICAL = "Type"


class DatasetError(SmartfabError):
    """A data file that is missing, malformed or not the published one."""


class ChecksumError(DatasetError):
    """A data file whose sha256 differs from the published sum."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_verified(path: Path, expected: dict[str, str] | None = None) -> tuple[bytes, bool]:
    """The bytes of `path` and whether a published sum vouched for them. A file with a known sum
    that differs raises `ChecksumError`: a re-saved or truncated copy would silently change every
    figure computed from it."""
    sums = SHA256 if expected is None else expected
    if not path.is_file():
        raise DatasetError(f"{path}: no such file (see ../shared/data/README.md)")
    data = path.read_bytes()
    known = sums.get(path.name)
    if known is None:
        return data, False
    actual = hashlib.sha256(data).hexdigest()
    if actual != known:
        raise ChecksumError(
            f"{path}: sha256 {actual} is not the published {known}; "
            "get the original file from its publisher"
        )
    return data, True


@dataclass(frozen=True)
class Fleet:
    """Units observed at successive cycles (rows sorted by unit, then cycle)."""

    unit: NDArray[np.int64]
    cycle: NDArray[np.float64]
    settings: NDArray[np.float64]  # rows x operating settings (load, speed, ...)
    sensors: NDArray[np.float64]  # rows x sensors
    sensor_names: tuple[str, ...]
    sha256: str  # of the source file(s), so that a stored model names its training data
    verified: bool

    def __post_init__(self) -> None:
        rows = len(self.unit)
        if not (len(self.cycle) == self.settings.shape[0] == self.sensors.shape[0] == rows):
            raise DatasetError("fleet columns differ in length")

    @property
    def units(self) -> NDArray[np.int64]:
        return np.unique(self.unit)

    def last_rows(self) -> NDArray[np.bool_]:
        """Mask of each unit's last observed cycle."""
        last = np.ones(len(self.unit), dtype=bool)
        last[:-1] = self.unit[1:] != self.unit[:-1]
        return last

    def remaining(self) -> NDArray[np.float64]:
        """Cycles left until each unit's last row, for run-to-failure histories."""
        out = np.empty(len(self.unit))
        for start, stop in unit_slices(self.unit):
            out[start:stop] = self.cycle[stop - 1] - self.cycle[start:stop]
        return out

    def select(self, units: NDArray[np.int64]) -> Fleet:
        mask = np.isin(self.unit, units)
        return Fleet(
            self.unit[mask], self.cycle[mask], self.settings[mask], self.sensors[mask],
            self.sensor_names, self.sha256, self.verified,
        )  # fmt: skip


def concat(fleets: list[Fleet]) -> Fleet:
    """One fleet of the units of several (their unit ids must differ), e.g. the histories of
    several machines of one kind; no source file names it."""
    return Fleet(
        np.concatenate([f.unit for f in fleets]), np.concatenate([f.cycle for f in fleets]),
        np.vstack([f.settings for f in fleets]), np.vstack([f.sensors for f in fleets]),
        fleets[0].sensor_names, "", False,
    )  # fmt: skip


def unit_slices(unit: NDArray[np.int64]) -> list[tuple[int, int]]:
    """(start, stop) of each unit's contiguous rows."""
    if len(unit) == 0:
        return []
    edges = np.flatnonzero(unit[1:] != unit[:-1]) + 1
    starts = np.r_[0, edges]
    stops = np.r_[edges, len(unit)]
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


@dataclass(frozen=True)
class CmapssSubset:
    name: str
    train: Fleet
    test: Fleet
    test_rul: NDArray[np.float64]  # true RUL at the last test cycle, one per test unit in order


def _cmapss_table(path: Path) -> tuple[NDArray[np.float64], str, bool]:
    data, verified = read_verified(path)
    try:
        table = np.loadtxt(io.BytesIO(data), ndmin=2)
    except ValueError as exc:
        raise DatasetError(f"{path}: not a C-MAPSS table ({exc})") from None
    width = 2 + CMAPSS_SETTINGS + CMAPSS_SENSORS
    if table.shape[1] != width:
        raise DatasetError(f"{path}: {table.shape[1]} columns, C-MAPSS files have {width}")
    return table, hashlib.sha256(data).hexdigest(), verified


def _fleet(path: Path) -> Fleet:
    table, digest, verified = _cmapss_table(path)
    order = np.lexsort((table[:, 1], table[:, 0]))
    table = table[order]
    names = tuple(f"sensor_{i + 1}" for i in range(CMAPSS_SENSORS))
    return Fleet(
        unit=table[:, 0].astype(np.int64),
        cycle=table[:, 1].astype(np.float64),
        settings=table[:, 2 : 2 + CMAPSS_SETTINGS].copy(),
        sensors=table[:, 2 + CMAPSS_SETTINGS :].copy(),
        sensor_names=names,
        sha256=digest,
        verified=verified,
    )


def cmapss_subsets(folder: Path) -> list[str]:
    """Names of the complete subsets (train, test and RUL files) in `folder`."""
    names = []
    for path in sorted(folder.glob("train_*.txt")):
        name = path.stem.removeprefix("train_")
        if (folder / f"test_{name}.txt").is_file() and (folder / f"RUL_{name}.txt").is_file():
            names.append(name)
    return names


def load_cmapss(folder: Path, subset: str) -> CmapssSubset:
    """One C-MAPSS subset (e.g. "FD001") from a folder of files named as NASA names them."""
    folder = Path(folder)
    if not re.fullmatch(r"FD\d{3}", subset):
        raise DatasetError(f"{subset!r}: a C-MAPSS subset is named like FD001")
    train = _fleet(folder / f"train_{subset}.txt")
    test = _fleet(folder / f"test_{subset}.txt")
    rul_path = folder / f"RUL_{subset}.txt"
    rul_bytes, _ = read_verified(rul_path)
    rul = np.loadtxt(io.BytesIO(rul_bytes), ndmin=1).astype(np.float64)
    if len(rul) != len(test.units):
        raise DatasetError(f"{rul_path}: {len(rul)} values for {len(test.units)} test units")
    return CmapssSubset(subset, train, test, rul)


@dataclass(frozen=True)
class Table:
    """Tabular observations: numeric columns by name (units in brackets where the source gives
    them), categorical columns, and a binary label."""

    numeric: dict[str, NDArray[np.float64]]
    categorical: dict[str, NDArray[np.str_]]
    label: NDArray[np.int64]
    sha256: str
    verified: bool

    def __len__(self) -> int:
        return len(self.label)


def load_ai4i(path: Path) -> Table:
    """The AI4I 2020 CSV, without identifiers and failure-mode columns."""
    path = Path(path)
    data, verified = read_verified(path)
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or AI4I_LABEL not in rows[0]:
        raise DatasetError(f"{path}: no {AI4I_LABEL!r} column; not the AI4I 2020 file")
    header, body = rows[0], [r for r in rows[1:] if r]
    columns = {name: [r[i] for r in body] for i, name in enumerate(header)}
    try:
        label = np.array([int(float(v)) for v in columns[AI4I_LABEL]], dtype=np.int64)
        numeric = {
            name: np.array(values, dtype=np.float64)
            for name, values in columns.items()
            if name not in (*AI4I_EXCLUDED, AI4I_LABEL, AI4I_CATEGORICAL)
        }
    except ValueError as exc:
        raise DatasetError(f"{path}: non-numeric value ({exc})") from None
    categorical = {}
    if AI4I_CATEGORICAL in columns:
        categorical[AI4I_CATEGORICAL] = np.array(columns[AI4I_CATEGORICAL], dtype=np.str_)
    return Table(numeric, categorical, label, hashlib.sha256(data).hexdigest(), verified)
