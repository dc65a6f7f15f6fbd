"""Drift for post-management: PSI against the training distribution, and the day a flag started."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd

from orchestration.ml import drift
from orchestration.ml.scoring import drift_flags


def test_psi_is_small_for_the_same_process_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"TEMP__mean_value": rng.normal(72, 0.5, 2000), "gaps": np.where(rng.random(2000) < .1,
                                                                                          np.nan, 1.0)})
    reference = drift.reference_bins(train)
    same = drift.psi(reference, pd.DataFrame({"TEMP__mean_value": rng.normal(72, 0.5, 300),
                                              "gaps": np.where(rng.random(300) < .1, np.nan, 1.0)}))
    shifted = drift.psi(reference, pd.DataFrame({"TEMP__mean_value": rng.normal(73, 0.5, 300),
                                                 "gaps": np.full(300, np.nan)}))
    assert (same["psi"] < 0.1).all()
    assert (shifted["psi"] > drift.PSI_DRIFT).all()  # a 2-sd shift, and a sensor that went silent


def test_a_drift_flag_names_the_day_it_started():
    days = [date(2026, 12, 1) + timedelta(days=d) for d in range(6)]
    psi = pd.DataFrame({"date_kst": days, "feature": "TEMP__mean_value",
                        "psi": [0.02, 0.4, 0.03, 0.3, 0.5, 0.6], "units": 100})
    row = pd.Series({"company_id": "C1", "model_version": "3", "top_features": '[["TEMP__mean_value", 0.2]]',
                     "pr_auc_low": 0.4})
    daily = pd.DataFrame({"date_kst": days, "rolling_pr_auc": [0.6, 0.5, 0.45, 0.3, 0.2, 0.25],
                          "window_units": 200})
    flags = drift_flags("C1", row, daily, psi, datetime(2026, 12, 7, tzinfo=timezone.utc)).set_index("kind")
    assert flags.loc["feature_drift", "flagged"] and flags.loc["feature_drift", "since_date_kst"] == days[3]
    assert flags.loc["performance", "flagged"] and flags.loc["performance", "since_date_kst"] == days[3]
    assert "TEMP__mean_value PSI 0.60" in flags.loc["feature_drift", "detail"]
