"""Metrics for rare defects (~1 %): ranking quality with bootstrap intervals, and the counts at
one threshold chosen on validation. Accuracy is never reported alone (a model that says "pass"
to everything is 99 % accurate)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import average_precision_score, confusion_matrix, precision_recall_curve, roc_auc_score

BOOTSTRAP_ROUNDS = 200


@dataclass(frozen=True)
class Interval:
    value: float | None
    low: float | None
    high: float | None

    def above(self, baseline: float) -> bool:
        """True when the whole interval lies above the baseline (beats it beyond the interval)."""
        return self.low is not None and self.low > baseline


def _score(metric, y: np.ndarray, p: np.ndarray) -> float | None:
    if y.min() == y.max():
        return None
    return float(metric(y, p))


def bootstrap(metric, y: np.ndarray, p: np.ndarray, *, rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0,
              level: float = 0.95) -> Interval:
    """Point value and percentile interval; resamples defects and passes separately (stratified),
    so each round keeps the test's defect count."""
    y, p = np.asarray(y, dtype=int), np.asarray(p, dtype=float)
    value = _score(metric, y, p)
    if value is None:
        return Interval(None, None, None)
    rng = np.random.default_rng(seed)
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    values = []
    for _ in range(rounds):
        take = np.concatenate([rng.choice(positives, len(positives)), rng.choice(negatives, len(negatives))])
        values.append(metric(y[take], p[take]))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(value, float(low), float(high))


def pr_auc(y: np.ndarray, p: np.ndarray, **kwargs) -> Interval:
    return bootstrap(average_precision_score, y, p, **kwargs)


def roc_auc(y: np.ndarray, p: np.ndarray, **kwargs) -> Interval:
    return bootstrap(roc_auc_score, y, p, **kwargs)


THRESHOLD_BETA = 2.0


def best_threshold(y: np.ndarray, p: np.ndarray, beta: float = THRESHOLD_BETA) -> float:
    """The score threshold with the best F-beta on (validation) data, the lowest one where several
    tie; 0.5 when it has no defect. beta = 2: a missed defect reaches the customer, a false alarm
    costs one re-inspection, and with a handful of validation defects the F1 optimum sits on the
    last one found (too high a threshold for the days after)."""
    y = np.asarray(y, dtype=int)
    if y.sum() == 0 or y.sum() == len(y):
        return 0.5
    precision, recall, thresholds = precision_recall_curve(y, p)
    b2 = beta * beta
    score = (1 + b2) * precision[:-1] * recall[:-1] / np.maximum(b2 * precision[:-1] + recall[:-1], 1e-12)
    return float(thresholds[int(np.argmax(score))])


@dataclass(frozen=True)
class AtThreshold:
    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)

    def as_dict(self) -> dict:
        return {**asdict(self), "precision": self.precision, "recall": self.recall, "f1": self.f1}


def at_threshold(y: np.ndarray, p: np.ndarray, threshold: float) -> AtThreshold:
    predicted = np.asarray(p) >= threshold
    tn, fp, fn, tp = confusion_matrix(np.asarray(y, dtype=int), predicted.astype(int), labels=[0, 1]).ravel()
    return AtThreshold(float(threshold), int(tp), int(fp), int(fn), int(tn))
