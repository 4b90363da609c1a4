from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from smartfab.apps.maintenance.datasets import (
    ChecksumError,
    DatasetError,
    cmapss_subsets,
    load_ai4i,
    load_cmapss,
)
from tests.apps.maintenance.data import shared
from tests.apps.maintenance.synthetic import write_ai4i, write_cmapss


def test_a_file_with_a_published_name_but_other_bytes_is_refused(tmp_path: Path) -> None:
    folder = write_cmapss(tmp_path / "c", "FD009")
    # Named like the published FD001 files, but not them: a re-saved copy must not load.
    for kind in ("train", "test", "RUL"):
        (folder / f"{kind}_FD009.txt").rename(folder / f"{kind}_FD001.txt")
    with pytest.raises(ChecksumError, match=r"train_FD001\.txt: sha256 .* not the published"):
        load_cmapss(folder, "FD001")
    with pytest.raises(ChecksumError, match=r"ai4i2020\.csv"):
        load_ai4i(write_ai4i(tmp_path / "ai4i2020.csv"))


def test_other_subsets_load_unverified(tmp_path: Path) -> None:
    folder = write_cmapss(tmp_path / "c", "FD009", regimes=3, units=6)
    assert cmapss_subsets(folder) == ["FD009"]
    data = load_cmapss(folder, "FD009")
    assert not data.train.verified and len(data.train.units) == 6
    assert data.train.sensors.shape[1] == 21 and data.train.settings.shape[1] == 3
    assert len(data.test_rul) == len(data.test.units) == 3
    # Run to failure: the last row of each training unit has nothing left.
    assert np.all(data.train.remaining()[data.train.last_rows()] == 0)


def test_malformed_files_say_what_is_wrong(tmp_path: Path) -> None:
    folder = write_cmapss(tmp_path / "c", "FD009", units=4)
    (folder / "RUL_FD009.txt").write_text("1\n")
    with pytest.raises(DatasetError, match="1 values for 2 test units"):
        load_cmapss(folder, "FD009")
    (folder / "train_FD009.txt").write_text("1 2 3\n")
    with pytest.raises(DatasetError, match="3 columns"):
        load_cmapss(folder, "FD009")
    with pytest.raises(DatasetError, match="no such file"):
        load_cmapss(folder, "FD008")


def test_ai4i_drops_identifiers_and_failure_modes(tmp_path: Path) -> None:
    table = load_ai4i(write_ai4i(tmp_path / "process.csv", rows=50))
    assert len(table) == 50 and not table.verified
    assert "Torque [Nm]" in table.numeric and "Type" in table.categorical
    for name in ("UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF", "Machine failure"):
        assert name not in table.numeric


def test_the_published_files_verify() -> None:
    data = load_cmapss(shared("cmapss"), "FD001")
    assert data.train.verified and data.test.verified
    assert len(data.train.unit) == 20631 and len(data.test_rul) == 100
    table = load_ai4i(shared("ai4i2020", "ai4i2020.csv"))
    assert table.verified and len(table) == 10000 and int(table.label.sum()) == 339
