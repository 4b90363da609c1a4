from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from smartfab.apps.quality.optimise import Recommendation
from smartfab.apps.quality.parts import NotEnoughData
from smartfab.apps.quality.recommendations import (
    RecommendationBook,
    RecommendationError,
    measure,
)
from smartfab.platform.setpoints import SetpointError
from tests.apps.quality.history import history

REC = Recommendation(("a", "b"), (1.0, 2.0), (1.5, 2.5), 1.0, 0.9, 0.1, 0.05, 0.15, 0.02, 0.025,
                     100.0, 50)  # fmt: skip


class Device:
    """Values held by signal path; refuses what ``refuse`` names, as a connector would."""

    def __init__(self, refuse: str = "") -> None:
        self.values = {"e/a": 1.0, "e/b": 2.0}
        self.refuse = refuse
        self.seq = 0

    async def write(self, signal: str, value: float, user: str) -> int:
        if signal == self.refuse:
            raise SetpointError(f"{signal}: refused")
        self.values[signal] = value
        self.seq += 1
        return self.seq


def test_approve_writes_every_value_and_roll_back_restores_them(tmp_path: Path) -> None:
    book, dev = RecommendationBook(tmp_path), Device()
    entry = book.propose("e", ["e/a", "e/b"], REC, 0)
    applied = asyncio.run(book.approve(entry.id, "eng", dev.write))
    assert applied.status == "applied" and dev.values == {"e/a": 1.5, "e/b": 2.5}
    assert applied.audit == [1, 2] and applied.decided_by == "eng"
    with pytest.raises(RecommendationError, match="applied, not proposed"):
        asyncio.run(book.approve(entry.id, "eng", dev.write))
    back = asyncio.run(book.roll_back(entry.id, "eng", dev.write))
    assert back.status == "rolled_back" and dev.values == {"e/a": 1.0, "e/b": 2.0}
    # the book is on disk: a new one reads it
    assert RecommendationBook(tmp_path).get(entry.id).status == "rolled_back"


def test_a_refused_write_undoes_the_ones_done(tmp_path: Path) -> None:
    book, dev = RecommendationBook(tmp_path), Device(refuse="e/b")
    entry = book.propose("e", ["e/a", "e/b"], REC, 0)
    failed = asyncio.run(book.approve(entry.id, "eng", dev.write))
    assert failed.status == "failed" and "refused" in failed.note
    assert dev.values == {"e/a": 1.0, "e/b": 2.0}


def test_rejecting_needs_a_proposal(tmp_path: Path) -> None:
    book = RecommendationBook(tmp_path)
    entry = book.propose("e", ["e/a", "e/b"], REC, 0)
    assert book.reject(entry.id, "eng", "not now").status == "rejected"
    with pytest.raises(RecommendationError):
        book.reject(entry.id, "eng")
    with pytest.raises(RecommendationError, match="no recommendation 99"):
        book.get(99)


def test_the_realised_result_is_measured_against_the_period_before() -> None:
    table = history()
    mid = int(table.ts[len(table) // 2])
    r = measure(table, int(table.ts[0]), mid)
    assert r.parts_before + r.parts_after == len(table)
    assert r.energy_before > 0 and 0 <= r.defect_rate_after < 1
    assert r.saving == pytest.approx(r.energy_before - r.energy_after)
    with pytest.raises(NotEnoughData, match="parts after"):
        measure(table, int(table.ts[0]), int(table.ts[-1]) + 1)
    assert np.isfinite(r.saving_fraction)
