"""Bottleneck detection by the active-period method (Roser, Nakano and Tanaka, 2001/2002).

A station is *active* while it works, is set up, repaired or otherwise held up by itself, and
inactive while it waits for a part (starved), for room (blocked) or for the shift. At any moment
the station whose current active period is the longest holds up the line most: it is the momentary
bottleneck. Where the period of one bottleneck overlaps the period of the next, the bottleneck is
*shifting* between them; the rest of a bottleneck period is a *sole* bottleneck. Stations whose
periods in force are equally long (stations that never wait, each working the whole shift) are
shifting bottlenecks together, none of them the sole one. Over a run, each
station's shares of sole and shifting bottleneck time rank the stations; the station with the
largest total share is the line's bottleneck.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BottleneckShares:
    """Per station, the share of the observed time it was the sole or a shifting bottleneck."""

    stations: list[str]
    sole: list[float]
    shifting: list[float]

    @property
    def total(self) -> list[float]:
        return [a + b for a, b in zip(self.sole, self.shifting, strict=True)]

    @property
    def bottleneck(self) -> str | None:
        """The station that is the bottleneck most of the time (None if no station was active)."""
        t = self.total
        return self.stations[int(np.argmax(t))] if t and max(t) > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "bottleneck": self.bottleneck,
            "stations": [
                {"name": n, "sole": s, "shifting": h, "total": s + h}
                for n, s, h in zip(self.stations, self.sole, self.shifting, strict=True)
            ],
        }


def active_period_shares(
    names: Sequence[str],
    activity: Sequence[tuple[FloatArray, FloatArray]],
    start: float,
    end: float,
) -> BottleneckShares:
    """Sole and shifting bottleneck shares of [start, end) from each station's active periods
    (sorted, non-overlapping (starts, ends) arrays, as :class:`~.sim.SimResult` records them)."""
    n = len(names)
    if len(activity) != n:
        raise ValueError(f"{n} stations but active periods of {len(activity)}")
    if not end > start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    clipped = []
    for s, e in activity:
        s, e = np.maximum(np.asarray(s, float), start), np.minimum(np.asarray(e, float), end)
        keep = e > s
        clipped.append((s[keep], e[keep]))
    # Elementary segments between every period boundary: within one, every station is either in
    # one active period or in none.
    bounds = np.unique(np.concatenate([[start, end], *[np.concatenate(p) for p in clipped]]))
    mid = (bounds[:-1] + bounds[1:]) / 2
    length = np.zeros((n, mid.size))  # duration of the active period in force, 0 if none
    period = np.full((n, mid.size), -1, np.int64)  # which period of the station
    for i, (s, e) in enumerate(clipped):
        if not s.size:  # never active in the window: never the bottleneck
            continue
        k = np.searchsorted(s, mid, side="right") - 1
        inside = (k >= 0) & (mid < e[np.maximum(k, 0)])
        length[i] = np.where(inside, (e - s)[np.maximum(k, 0)], 0.0)
        period[i] = np.where(inside, k, -1)
    all_len = np.diff(bounds)
    longest = length.max(axis=0)
    # Stations whose active periods are equally long hold up the line together (two stations
    # that never wait, say, each working the whole shift): neither is the sole bottleneck, the
    # time is shifting time of each. Giving it to the first station in line order would name a
    # bottleneck the line does not have.
    tied = (length == longest) & (longest > 0)
    multi = tied.sum(axis=0) > 1
    shifting = (tied[:, multi] * all_len[multi]).sum(axis=1)
    who = np.argmax(length, axis=0)
    seg = np.arange(mid.size)
    some = (longest > 0) & ~multi
    who, seg = who[some], seg[some]
    seg_len = all_len[seg]
    sole = np.zeros(n)
    np.add.at(sole, who, seg_len)
    ties_before = np.cumsum(multi)
    if who.size:
        # Runs of one bottleneck period; the overlap of consecutive runs' periods is shifting
        # (unless a tie lies between them: the overlap is then counted as the tie's already).
        pid = period[who, seg]
        change = np.flatnonzero((who[1:] != who[:-1]) | (pid[1:] != pid[:-1]))
        first, second = change, change + 1
        for a, b in zip(first.tolist(), second.tolist(), strict=True):
            if ties_before[seg[b]] != ties_before[seg[a]]:
                continue
            sa, ea = _period(clipped, int(who[a]), int(pid[a]))
            sb, eb = _period(clipped, int(who[b]), int(pid[b]))
            overlap = max(0.0, min(ea, eb) - max(sa, sb))
            if who[a] != who[b] and overlap > 0:
                shifting[who[a]] += overlap
                shifting[who[b]] += overlap
                # While both are active the longer period is the bottleneck: the overlap was
                # counted as its sole time, and is shifting time instead.
                sole[who[a] if ea - sa >= eb - sb else who[b]] -= overlap
    sole = np.maximum(sole, 0.0)
    span = end - start
    return BottleneckShares(list(names), (sole / span).tolist(), (shifting / span).tolist())


def _period(clipped: list[tuple[FloatArray, FloatArray]], i: int, k: int) -> tuple[float, float]:
    s, e = clipped[i]
    return float(s[k]), float(e[k])
