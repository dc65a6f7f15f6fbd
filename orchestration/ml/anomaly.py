"""Anomaly detection per equipment and hour (이상 탐지): an Isolation Forest per company over its
sensor-hours (features.equipment_hourly_features), which needs no labels.

Each sensor-hour is described relative to its own sensor, so a pressure and a temperature can share
one model: the hour's z-score against the previous 24 hours, its change per hour and its spread
(sd and range) in units of the sensor's typical hourly sd, and its reading count against the
sensor's usual count (a logger that stops or floods). The forest is fitted on the company's
sensor-hours and every hour gets an anomaly score (higher = more unusual); the highest
`contamination` share are flagged.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

MIN_HOURS = 48  # fewer sensor-hours than this say nothing about "usual"
CONTAMINATION = 0.01
FEATURES = ("zscore_24h", "change_sd", "std_ratio", "range_ratio", "readings_ratio")


def hourly_frame(con: duckdb.DuckDBPyConnection, company_id: str) -> pd.DataFrame:
    return con.execute("""
        select company_id, line_id, equipment_id, sensor_id, tag_code, hour_utc, readings, mean_value, std_value,
               min_value, max_value, rolling_24h_std, zscore_24h, change_per_hour
        from features.equipment_hourly_features where company_id = ? order by sensor_id, hour_utc
    """, [company_id]).df()


def describe(hours: pd.DataFrame) -> pd.DataFrame:
    """The model's inputs: each sensor-hour relative to its sensor's typical hour."""
    by_sensor = hours.groupby("sensor_id")
    typical_sd = by_sensor["std_value"].transform("median").replace(0, np.nan)
    typical_readings = by_sensor["readings"].transform("median").replace(0, np.nan)
    spread = (hours["max_value"] - hours["min_value"])
    out = pd.DataFrame({
        "zscore_24h": hours["zscore_24h"],
        "change_sd": hours["change_per_hour"] / typical_sd,
        "std_ratio": hours["std_value"] / typical_sd,
        "range_ratio": spread / typical_sd,
        "readings_ratio": hours["readings"] / typical_readings,
    }, index=hours.index)
    return out.replace([np.inf, -np.inf], np.nan).fillna(0.0).clip(-1e3, 1e3)


def score_anomalies(hours: pd.DataFrame, *, contamination: float = CONTAMINATION, seed: int = 0) -> pd.DataFrame:
    """Anomaly score and flag per sensor-hour (empty when the company has too few hours)."""
    if len(hours) < MIN_HOURS:
        return pd.DataFrame()
    x = describe(hours)
    forest = IsolationForest(n_estimators=200, contamination=contamination, random_state=seed, n_jobs=1).fit(x)
    scores = -forest.score_samples(x)  # higher = more isolated = more unusual
    out = hours[["company_id", "line_id", "equipment_id", "sensor_id", "tag_code", "hour_utc", "readings",
                 "mean_value", "zscore_24h"]].copy()
    out["anomaly_score"] = scores
    out["is_anomaly"] = forest.predict(x) == -1
    out["model"] = f"sklearn.IsolationForest(n_estimators=200, contamination={contamination}, random_state={seed})"
    return out.reset_index(drop=True)
