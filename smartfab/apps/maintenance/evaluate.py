"""Metrics of the benchmark protocols (../shared/data/README.md), written out so that each can be
checked against hand-computed values."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def _pair(predicted: ArrayLike, true: ArrayLike) -> tuple[NDArray[np.float64], ...]:
    p = np.asarray(predicted, dtype=np.float64)
    t = np.asarray(true, dtype=np.float64)
    if p.shape != t.shape or p.ndim != 1 or len(p) == 0:
        raise ValueError(f"need two equal, non-empty 1-D arrays, got {p.shape} and {t.shape}")
    return p, t


def rmse(predicted: ArrayLike, true: ArrayLike) -> float:
    p, t = _pair(predicted, true)
    return float(np.sqrt(np.mean((p - t) ** 2)))


def nasa_score(predicted: ArrayLike, true: ArrayLike) -> float:
    """PHM08 score: sum of exp(-d/13)-1 for d<0 and exp(d/10)-1 for d>=0, d = predicted - true.
    Late predictions (d > 0: failure comes sooner than said) cost more than early ones."""
    p, t = _pair(predicted, true)
    d = p - t
    return float(np.sum(np.where(d < 0, np.expm1(-d / 13.0), np.expm1(d / 10.0))))


def _binary(predicted: ArrayLike, true: ArrayLike) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    p = np.asarray(predicted).astype(bool)
    t = np.asarray(true).astype(bool)
    if p.shape != t.shape or p.ndim != 1:
        raise ValueError(f"need two equal 1-D arrays, got {p.shape} and {t.shape}")
    return p, t


def precision_recall_f1(predicted: ArrayLike, true: ArrayLike) -> tuple[float, float, float]:
    """Of the positive class; 0 where a ratio has nothing to count."""
    p, t = _binary(predicted, true)
    tp = int(np.sum(p & t))
    precision = tp / int(p.sum()) if p.any() else 0.0
    recall = tp / int(t.sum()) if t.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def f1(predicted: ArrayLike, true: ArrayLike) -> float:
    return precision_recall_f1(predicted, true)[2]


def pr_auc(scores: ArrayLike, true: ArrayLike) -> float:
    """Area under the precision-recall curve as average precision: the mean, over the positives,
    of the precision among all cases scored at least as high (ties count together), which is
    the step-wise area without the optimistic linear interpolation."""
    s = np.asarray(scores, dtype=np.float64)
    t = np.asarray(true).astype(bool)
    if s.shape != t.shape or s.ndim != 1:
        raise ValueError(f"need two equal 1-D arrays, got {s.shape} and {t.shape}")
    positives = int(t.sum())
    if positives == 0:
        return 0.0
    order = np.argsort(-s, kind="mergesort")
    s, t = s[order], t[order]
    # Thresholds are the distinct scores: the last index of each run of equal scores.
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tp = np.cumsum(t)[last]
    seen = last + 1
    precision = tp / seen
    recall_step = np.diff(np.r_[0, tp]) / positives
    return float(np.sum(precision * recall_step))


def best_threshold(scores: ArrayLike, true: ArrayLike) -> float:
    """The score threshold (predict positive when score >= it) that maximises F1 on these
    cases; used on training folds only, never on the cases it is judged on."""
    s = np.asarray(scores, dtype=np.float64)
    t = np.asarray(true).astype(bool)
    order = np.argsort(-s, kind="mergesort")
    s, t = s[order], t[order]
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tp = np.cumsum(t)[last]
    predicted = last + 1
    f1s = 2 * tp / (predicted + max(int(t.sum()), 1))
    i = int(np.argmax(f1s))
    # Midway to the next lower score, so that a slightly different score still counts.
    nxt = s[last[i] + 1] if last[i] + 1 < len(s) else s[last[i]]
    return float((s[last[i]] + nxt) / 2)
