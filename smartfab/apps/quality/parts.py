"""The parts a machine made, one row each: the operating parameters in force, the context that
was measured (hall temperature, tool-life counter), the material lot, what the part cost (energy,
cycle time), its measured characteristic and its inspection result.

The table is what defect prediction and the optimiser learn from. It comes from the store (the
signals the plant file names in an equipment's ``process:`` block) or straight from the virtual
process (``smartfab.virtual.process.part_table``); the models see the same columns either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from smartfab.errors import SmartfabError
from smartfab.platform.points import Float64Array, Int64Array, ObjectArray

GOOD = 0  # the inspection result of a good part
# A lot's defect rate so far is shrunk towards the overall rate by this many parts' worth of it,
# so that the first parts of a lot do not swing it.
LOT_PRIOR_PARTS = 20.0


class NotEnoughData(SmartfabError):
    """Too few parts (or too few of a kind) to learn from; the message says what is needed."""


@dataclass(frozen=True)
class PartTable:
    ts: Int64Array  # end of each part, microseconds since the epoch
    parameters: tuple[str, ...]  # the operating parameters, in column order
    values: Mapping[str, Float64Array]  # parameters, context, energy_kwh, cycle_s, characteristic
    lot: ObjectArray  # material lot of each part ("" unknown)
    defect: Int64Array  # inspection result: GOOD or a defect type's code
    defects: Mapping[int, str]  # defect code -> name

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def context(self) -> tuple[str, ...]:
        """The measured context columns: everything that is neither a parameter nor an outcome."""
        outcome = {"energy_kwh", "cycle_s", "characteristic"}
        return tuple(n for n in self.values if n not in self.parameters and n not in outcome)

    def params(self) -> Float64Array:
        out: Float64Array = np.stack([self.values[p] for p in self.parameters], axis=1)
        return out

    def slice(self, rows: slice | Int64Array) -> PartTable:
        return PartTable(
            self.ts[rows], self.parameters, {k: v[rows] for k, v in self.values.items()},
            self.lot[rows], self.defect[rows], self.defects,
        )  # fmt: skip

    def between(self, start_us: int, end_us: int) -> PartTable:
        lo, hi = np.searchsorted(self.ts, [start_us, end_us])
        return self.slice(slice(int(lo), int(hi)))

    def require(self, parts: int, what: str) -> None:
        if len(self) < parts:
            raise NotEnoughData(
                f"{what} needs at least {parts} inspected parts; the period has {len(self)}: "
                "choose a longer period"
            )


def lot_history(table: PartTable, prior: Float64Array | None = None) -> Float64Array:
    """For each part and defect type (columns in ``table.defects`` order), the defect rate of
    the parts of its material lot inspected before it, shrunk towards ``prior`` (the overall
    rates; by default this table's). Only earlier parts count: it is known when the part is
    made."""
    codes = list(table.defects)
    hit = np.stack([table.defect == c for c in codes], axis=1).astype(np.float64)
    if prior is None:
        prior = hit.mean(axis=0) if len(table) else np.zeros(len(codes))
    counts, seen = lot_sums(table.lot, hit)
    out: Float64Array = (counts - hit + LOT_PRIOR_PARTS * prior) / (
        seen[:, None] - 1 + LOT_PRIOR_PARTS
    )
    return out


def lot_sums(lot: ObjectArray, values: Float64Array) -> tuple[Float64Array, Float64Array]:
    """For each part, the sums of ``values`` (rows: parts) over the parts of its material lot up
    to it, itself included, and how many those are."""
    # Parts of a lot are contiguous in time, or nearly: a cumulative sum per lot does it.
    _, lot_ix = np.unique(lot, return_inverse=True)
    order = np.argsort(lot_ix, kind="stable")
    first = np.r_[0, np.flatnonzero(np.diff(lot_ix[order])) + 1]
    starts = np.repeat(first, np.diff(np.r_[first, len(order)]))
    cum = np.cumsum(values[order], axis=0)
    base = np.where((starts > 0).reshape(-1, *[1] * (values.ndim - 1)),
                    cum[np.maximum(starts - 1, 0)], 0.0)  # fmt: skip
    sums, count = np.empty_like(cum), np.empty(len(order))
    sums[order] = cum - base
    count[order] = np.arange(len(order)) - starts + 1
    return sums, count
