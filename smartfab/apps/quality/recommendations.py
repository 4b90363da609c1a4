"""The life of a recommendation: proposed, then approved (written through the audited setpoint
path) or rejected; once applied, its realised saving and defect rate are measured against the
period before (``measure``: the server does so of itself once ``MIN_MEASURED_PARTS`` were made on
either side, and says how many were made until then, ``progress``); it can be rolled back (the
previous values written back, audited too).

Recommendations are kept in a JSON file per plant data folder (``recommendations.json``),
rewritten whole on each change through a temporary file, so that a crash leaves the old or the
new book, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from smartfab.apps.quality.optimise import Recommendation
from smartfab.apps.quality.parts import GOOD, NotEnoughData, PartTable
from smartfab.errors import SmartfabError

Status = Literal["proposed", "applied", "rejected", "rolled_back", "failed"]
BOOK_FILE = "recommendations.json"
MIN_MEASURED_PARTS = 50  # on either side, before a realised saving means anything


class RecommendationError(SmartfabError):
    """A recommendation that does not exist, or is not in a state that allows the action."""


@dataclass(frozen=True)
class Realised:
    """Energy per good part and defect rate before and after a change, from the parts made."""

    parts_before: int
    parts_after: int
    energy_before: float  # kWh per good part
    energy_after: float
    defect_rate_before: float
    defect_rate_after: float

    @property
    def saving(self) -> float:
        return self.energy_before - self.energy_after

    @property
    def saving_fraction(self) -> float:
        return self.saving / self.energy_before if self.energy_before else 0.0


@dataclass(frozen=True)
class Progress:
    """How many parts a change's realised result rests on so far, on either side of it."""

    parts_before: int
    parts_after: int
    needed: int = MIN_MEASURED_PARTS

    @property
    def done(self) -> bool:
        return min(self.parts_before, self.parts_after) >= self.needed


def progress(table: PartTable, before_start_us: int, applied_us: int, end_us: int | None = None
             ) -> Progress:  # fmt: skip
    """The parts ``measure`` would compare, counted."""
    before, after = _sides(table, before_start_us, applied_us, end_us)
    return Progress(len(before), len(after))


def _sides(table: PartTable, before_start_us: int, applied_us: int, end_us: int | None
           ) -> tuple[PartTable, PartTable]:  # fmt: skip
    return (table.between(before_start_us, applied_us),
            table.between(applied_us, end_us if end_us is not None else (2**62)))  # fmt: skip


def measure(table: PartTable, before_start_us: int, applied_us: int, end_us: int | None = None
            ) -> Realised:  # fmt: skip
    """Realised result of a change applied at ``applied_us``: the parts from then to ``end_us``
    against those from ``before_start_us`` to the change."""
    before, after = _sides(table, before_start_us, applied_us, end_us)
    for name, part in (("before", before), ("after", after)):
        if len(part) < MIN_MEASURED_PARTS:
            raise NotEnoughData(
                f"measuring a change needs {MIN_MEASURED_PARTS} parts {name} it; there are "
                f"{len(part)}: wait for more parts"
            )

    def per_good(t: PartTable) -> tuple[float, float]:
        good = int((t.defect == GOOD).sum())
        energy = float(np.sum(t.values["energy_kwh"]))
        return (energy / good if good else float("inf")), 1 - good / len(t)

    eb, db = per_good(before)
    ea, da = per_good(after)
    return Realised(len(before), len(after), eb, ea, db, da)


@dataclass
class Entry:
    id: int
    equipment: str  # equipment path
    signals: list[str]  # the parameters' signal paths, in the recommendation's order
    created_us: int
    recommendation: dict[str, Any]  # Recommendation's fields
    status: Status = "proposed"
    decided_by: str = ""
    decided_us: int = 0
    applied_us: int = 0
    before_start_us: int = 0  # the period the realised result is measured against
    audit: list[int] = field(default_factory=list)  # audit sequence numbers of its writes
    note: str = ""  # why it failed or was rejected
    realised: dict[str, Any] | None = None


# Writes one value to a signal as a user; returns the audit sequence number.
Write = Callable[[str, float, str], Awaitable[int]]


class RecommendationBook:
    def __init__(self, folder: Path) -> None:
        self._path = folder / BOOK_FILE
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)

    def _load(self) -> list[Entry]:
        if not self._path.exists():
            return []
        return [Entry(**e) for e in json.loads(self._path.read_text())]

    def _save(self, entries: list[Entry]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".rec")
        with os.fdopen(fd, "w") as f:
            json.dump([asdict(e) for e in entries], f, indent=1)
        os.replace(tmp, self._path)

    def entries(self, equipment: str | None = None) -> list[Entry]:
        with self._lock:
            return [e for e in self._load() if equipment in (None, e.equipment)]

    def get(self, rec_id: int) -> Entry:
        for e in self.entries():
            if e.id == rec_id:
                return e
        raise RecommendationError(f"no recommendation {rec_id}")

    def propose(self, equipment: str, signals: list[str], rec: Recommendation,
                before_start_us: int) -> Entry:  # fmt: skip
        if len(signals) != len(rec.parameters):
            raise ValueError("one signal per parameter")
        with self._lock:
            entries = self._load()
            entry = Entry(
                max((e.id for e in entries), default=0) + 1, equipment, signals,
                int(time.time() * 1e6), asdict(rec), before_start_us=before_start_us,
            )  # fmt: skip
            self._save([*entries, entry])
        return entry

    def _update(self, rec_id: int, allowed: tuple[Status, ...], **changes: Any) -> Entry:
        with self._lock:
            entries = self._load()
            entry = next((e for e in entries if e.id == rec_id), None)
            if entry is None:
                raise RecommendationError(f"no recommendation {rec_id}")
            if entry.status not in allowed:
                raise RecommendationError(
                    f"recommendation {rec_id} is {entry.status}; this needs it "
                    f"{' or '.join(allowed)}"
                )
            for k, v in changes.items():
                setattr(entry, k, v)
            self._save(entries)
            return entry

    def reject(self, rec_id: int, user: str, note: str = "") -> Entry:
        return self._update(rec_id, ("proposed",), status="rejected", decided_by=user,
                            decided_us=int(time.time() * 1e6), note=note)  # fmt: skip

    async def approve(self, rec_id: int, user: str, write: Write) -> Entry:
        """Write every recommended value; if one write fails, write back the ones done and mark
        the recommendation failed."""
        entry = self.get(rec_id)
        if entry.status != "proposed":
            raise RecommendationError(f"recommendation {rec_id} is {entry.status}, not proposed")
        new = entry.recommendation["recommended"]
        return await self._write(entry, new, entry.recommendation["current"], user, write,
                                 "applied")  # fmt: skip

    async def roll_back(self, rec_id: int, user: str, write: Write) -> Entry:
        """Write the values in force before the recommendation back."""
        entry = self.get(rec_id)
        if entry.status != "applied":
            raise RecommendationError(f"recommendation {rec_id} is {entry.status}, not applied")
        old = entry.recommendation["current"]
        return await self._write(entry, old, entry.recommendation["recommended"], user, write,
                                 "rolled_back")  # fmt: skip

    async def _write(self, entry: Entry, values: list[float], undo: list[float], user: str,
                     write: Write, status: Status) -> Entry:  # fmt: skip
        seqs: list[int] = []
        done = 0
        try:
            for signal, value in zip(entry.signals, values, strict=True):
                seqs.append(await write(signal, float(value), user))
                done += 1
        except SmartfabError as exc:
            for signal, value in zip(entry.signals[:done], undo[:done], strict=True):
                seqs.append(await write(signal, float(value), user))
            return self._update(entry.id, (entry.status,), status="failed", note=str(exc),
                                audit=[*entry.audit, *seqs])  # fmt: skip
        now = int(time.time() * 1e6)
        return self._update(entry.id, (entry.status,), status=status, decided_by=user,
                            decided_us=now, applied_us=now if status == "applied" else
                            entry.applied_us, audit=[*entry.audit, *seqs])  # fmt: skip

    def record_realised(self, rec_id: int, realised: Realised) -> Entry:
        return self._update(rec_id, ("applied", "rolled_back"), realised=asdict(realised))
