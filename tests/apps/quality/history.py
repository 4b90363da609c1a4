"""A virtual CNC's history, for the quality tests: parts made while the engineers tried settings
around nominal (one table per seed and length, built once)."""

from __future__ import annotations

from functools import cache

import numpy as np

from smartfab.apps.quality.parts import PartTable
from smartfab.virtual.process import PROCESSES, VirtualProcess, engineers_trials, part_table

CNC = PROCESSES["cnc"]


@cache
def history(seed: int = 1, days: float = 40) -> PartTable:
    p = VirtualProcess.create(CNC, seed, "s/a/l/c/cnc")
    return part_table(engineers_trials(p, 0, days, 4, np.random.default_rng(seed)), CNC)
