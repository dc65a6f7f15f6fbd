"""Drift for post-management (사후관리): has the process moved away from what the model learnt,
and does the model still find the defects on site?

- Feature drift: the population stability index (PSI) of each feature on recent units against
  its training-time distribution (decile bins of the training units, kept with the model);
  PSI > 0.25 is the usual "significant shift" line.
- Performance: PR-AUC of the on-site predictions over the last labelled units, against the
  baseline the model beat at training time.
A flag records the first KST day a drift or degradation was seen, for the watch list.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

BINS = 10
PSI_DRIFT = 0.25
MIN_RECENT_UNITS = 30
ROLLING_UNITS = 200  # on-site PR-AUC over this many latest labelled units
MIN_ROLLING_DEFECTS = 3
EPSILON = 1e-4


def reference_bins(train: pd.DataFrame, bins: int = BINS) -> pd.DataFrame:
    """Per feature: interior decile edges of the training values and the share in each bin (a bin
    for missing values too)."""
    rows = []
    for feature in train.columns:
        values = train[feature].to_numpy(dtype=float)
        present = values[~np.isnan(values)]
        edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1])) if len(present) else np.array([])
        shares = _shares(values, edges)
        for index, share in enumerate(shares):
            rows.append({"feature": feature, "bin": index, "edges": ",".join(repr(float(e)) for e in edges),
                         "share": float(share)})
    return pd.DataFrame(rows)


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares per bin: len(edges) + 1 value bins, then one bin for missing values."""
    missing = np.isnan(values)
    counts = np.bincount(np.searchsorted(edges, values[~missing], side="right"), minlength=len(edges) + 1)
    counts = np.append(counts, missing.sum()).astype(float)
    return counts / max(len(values), 1)


def psi(reference: pd.DataFrame, recent: pd.DataFrame) -> pd.DataFrame:
    """PSI per feature of `recent` (one column per feature) against `reference_bins` rows."""
    out = []
    for feature, bins in reference.groupby("feature", sort=False):
        if feature not in recent.columns:
            continue
        edges_text = bins["edges"].iloc[0]
        edges = np.array([float(e) for e in edges_text.split(",")]) if edges_text else np.array([])
        expected = bins.sort_values("bin")["share"].to_numpy()
        actual = _shares(recent[feature].to_numpy(dtype=float), edges)
        expected, actual = np.maximum(expected, EPSILON), np.maximum(actual, EPSILON)
        out.append({"feature": feature, "psi": float(np.sum((actual - expected) * np.log(actual / expected))),
                    "units": len(recent)})
    return pd.DataFrame(out, columns=["feature", "psi", "units"])


def rolling_pr_auc(labelled: pd.DataFrame, window: int = ROLLING_UNITS) -> pd.DataFrame:
    """On-site PR-AUC after each KST day over the latest `window` labelled predictions (columns
    date_kst, label, score), where that window holds enough defects to say anything."""
    labelled = labelled.sort_values(["end_ts_utc", "unit_key"], kind="stable").reset_index(drop=True)
    rows = []
    for day, last in labelled.groupby("date_kst", sort=True).apply(lambda g: g.index.max(),
                                                                   include_groups=False).items():
        recent = labelled.iloc[max(0, last + 1 - window): last + 1]
        defects = int(recent["label"].sum())
        value = (float(average_precision_score(recent["label"], recent["score"]))
                 if MIN_ROLLING_DEFECTS <= defects < len(recent) else None)
        rows.append({"date_kst": day, "window_units": len(recent), "window_defects": defects,
                     "rolling_pr_auc": value, "window_defect_rate": defects / len(recent)})
    return pd.DataFrame(rows, columns=["date_kst", "window_units", "window_defects", "rolling_pr_auc",
                                       "window_defect_rate"])


def first_flagged_day(days: pd.Series, flagged: pd.Series):
    """The first day of the current unbroken run of flagged days (None when the last day is fine)."""
    if not len(flagged) or not bool(flagged.iloc[-1]):
        return None
    start = len(flagged) - 1
    while start > 0 and bool(flagged.iloc[start - 1]):
        start -= 1
    return days.iloc[start]
