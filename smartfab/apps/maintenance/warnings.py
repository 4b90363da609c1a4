"""Failure warnings at a horizon, and how good they were against recorded failures.

A warning is raised at an hour when the predicted RUL is at most the horizon. Judged against the
failures that really happened:
- precision: share of warning hours followed by a failure of that equipment within the horizon;
- recall: share of failures with at least one warning in the horizon before them;
- lead time: for the failures warned of, hours from the first warning in that window to the
  failure (how much time a planner had).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

HOUR_US = 3_600_000_000


@dataclass(frozen=True)
class WarningScore:
    precision: float
    recall: float
    lead_time_h: float
    warnings: int  # warning hours
    failures: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "lead_time_h": round(self.lead_time_h, 2),
            "warning_hours": self.warnings,
            "failures": self.failures,
        }


def score_warnings(
    warnings_us: Mapping[str, NDArray[np.int64]],
    failures_us: Mapping[str, Sequence[int]],
    horizon_h: float,
) -> WarningScore:
    """`warnings_us`: per equipment, the times of warning hours; `failures_us`: per equipment,
    the failure times in the judged period."""
    horizon = round(horizon_h * HOUR_US)
    hits = total = warned = 0
    leads: list[float] = []
    failures = 0
    for equipment in set(warnings_us) | set(failures_us):
        w = np.sort(np.asarray(warnings_us.get(equipment, []), dtype=np.int64))
        f = np.sort(np.asarray(failures_us.get(equipment, []), dtype=np.int64))
        failures += len(f)
        total += len(w)
        if len(f) == 0:
            continue
        # The next failure after each warning: a hit if it comes within the horizon.
        nxt = np.searchsorted(f, w, side="right")
        ok = nxt < len(f)
        hits += int(np.sum(f[nxt[ok]] - w[ok] <= horizon))
        for t in f:
            window = w[(w < t) & (w >= t - horizon)]
            if len(window):
                warned += 1
                leads.append((t - window.min()) / HOUR_US)
    return WarningScore(
        precision=hits / total if total else 0.0,
        recall=warned / failures if failures else 0.0,
        lead_time_h=float(np.mean(leads)) if leads else 0.0,
        warnings=total,
        failures=failures,
    )
