"""Scoring new units with the registered model, and the on-site (실증) result once labels arrive.

Each run scores the units that ended after the model's training data and that this model
version has not scored yet; a prediction, once written, is never rewritten (it is what the
model said on that day). Labels that arrive later turn predictions into on-site precision and
recall per KST day, and feed drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pandas as pd
from threadpoolctl import threadpool_limits

from orchestration.ml import drift
from orchestration.ml.features import as_matrix

KST = "Asia/Seoul"


@dataclass
class Scoring:
    predictions: pd.DataFrame  # new rows only
    onsite_daily: pd.DataFrame
    feature_psi: pd.DataFrame
    drift_flags: pd.DataFrame


def new_predictions(frame: pd.DataFrame, model, model_row: pd.Series, already_scored: set[str],
                    scored_at: datetime) -> pd.DataFrame:
    columns = json.loads(model_row["feature_columns"])
    cutoff = pd.Timestamp(model_row["training_cutoff_utc"])
    todo = frame[(frame["end_ts_utc"] > cutoff) & ~frame["unit_key"].isin(already_scored)]
    if not len(todo):
        return pd.DataFrame()
    with threadpool_limits(1):
        scores = model.predict_proba(as_matrix(todo, columns))[:, 1]
    threshold = float(model_row["threshold"])
    return pd.DataFrame({
        "company_id": todo["company_id"].to_numpy(), "unit_key": todo["unit_key"].to_numpy(),
        "unit_id": todo["unit_id"].to_numpy(), "end_ts_utc": todo["end_ts_utc"].to_numpy(),
        "date_kst": todo["end_ts_utc"].dt.tz_convert(KST).dt.date.to_numpy(),
        "score": scores, "threshold": threshold, "predicted_defect": scores >= threshold,
        "model_name": model_row["model_name"], "model_version": str(model_row["model_version"]),
        "scored_at_utc": scored_at,
    })


def onsite_daily(predictions: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Per KST day of the units' end: what the model said against the labels known now."""
    joined = predictions.merge(labels[["unit_key", "is_defect"]], on="unit_key", how="left")
    joined["labelled"] = joined["is_defect"].notna()
    joined["label"] = joined["is_defect"].fillna(False).astype(bool)
    rows = []
    for day, group in joined.groupby("date_kst", sort=True):
        known = group[group["labelled"]]
        tp = int((known.predicted_defect & known.label).sum())
        fp = int((known.predicted_defect & ~known.label).sum())
        fn = int((~known.predicted_defect & known.label).sum())
        rows.append({"date_kst": day, "units_scored": len(group), "units_labelled": len(known),
                     "defects": int(known.label.sum()), "flagged": int(group.predicted_defect.sum()),
                     "tp": tp, "fp": fp, "fn": fn, "tn": len(known) - tp - fp - fn,
                     "precision": tp / (tp + fp) if tp + fp else None, "recall": tp / (tp + fn) if tp + fn else None})
    daily = pd.DataFrame(rows)
    if not len(daily):
        return daily
    for column in ("tp", "fp", "fn"):
        daily[f"cumulative_{column}"] = daily[column].cumsum()
    daily["cumulative_precision"] = daily.cumulative_tp / (daily.cumulative_tp + daily.cumulative_fp).where(
        lambda s: s > 0)
    daily["cumulative_recall"] = daily.cumulative_tp / (daily.cumulative_tp + daily.cumulative_fn).where(
        lambda s: s > 0)
    labelled = joined[joined["labelled"]][["unit_key", "end_ts_utc", "date_kst", "label", "score"]]
    rolling = drift.rolling_pr_auc(labelled) if len(labelled) else pd.DataFrame(columns=["date_kst"])
    return daily.merge(rolling, on="date_kst", how="left")


def feature_psi_by_day(frame: pd.DataFrame, predictions: pd.DataFrame, baseline: pd.DataFrame,
                       days: int = 7) -> pd.DataFrame:
    """PSI per feature over the scored units of each KST day and the `days` - 1 before it."""
    if not len(predictions) or not len(baseline):
        return pd.DataFrame()
    scored = frame.merge(predictions[["unit_key", "date_kst"]], on="unit_key")
    features = list(dict.fromkeys(baseline["feature"]))
    rows = []
    for day in sorted(scored["date_kst"].unique()):
        window = scored[(scored["date_kst"] <= day) & (scored["date_kst"] > day - timedelta(days=days))]
        if len(window) < drift.MIN_RECENT_UNITS:
            continue
        values = drift.psi(baseline, window.reindex(columns=features).astype("float64"))
        values.insert(0, "date_kst", day)
        rows.append(values)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def drift_flags(company_id: str, model_row: pd.Series, daily: pd.DataFrame, psi: pd.DataFrame,
                evaluated_at: datetime) -> pd.DataFrame:
    version = str(model_row["model_version"])
    top = [name for name, _ in json.loads(model_row["top_features"] or "[]")][:10]
    flags = []
    if len(psi):
        watched = psi[psi["feature"].isin(top)] if top else psi
        by_day = watched.groupby("date_kst").agg(max_psi=("psi", "max")).reset_index()
        worst = watched[watched["date_kst"] == by_day["date_kst"].max()].sort_values("psi", ascending=False)
        flagged = by_day["max_psi"] > drift.PSI_DRIFT
        flags.append({"kind": "feature_drift", "flagged": bool(flagged.iloc[-1]),
                      "since_date_kst": drift.first_flagged_day(by_day["date_kst"], flagged),
                      "value": float(by_day["max_psi"].iloc[-1]), "limit": drift.PSI_DRIFT,
                      "detail": ", ".join(f"{r.feature} PSI {r.psi:.2f}" for r in worst.head(3).itertuples())})
    rolling = daily.dropna(subset=["rolling_pr_auc"]) if len(daily) and "rolling_pr_auc" in daily else pd.DataFrame()
    if len(rolling):
        limit = float(model_row["pr_auc_low"]) if pd.notna(model_row.get("pr_auc_low")) else 0.0
        degraded = rolling["rolling_pr_auc"] < limit
        flags.append({"kind": "performance", "flagged": bool(degraded.iloc[-1]),
                      "since_date_kst": drift.first_flagged_day(rolling["date_kst"], degraded),
                      "value": float(rolling["rolling_pr_auc"].iloc[-1]), "limit": limit,
                      "detail": f"on-site PR-AUC over the last {int(rolling['window_units'].iloc[-1])} labelled units"})
    out = pd.DataFrame(flags, columns=["kind", "flagged", "since_date_kst", "value", "limit", "detail"])
    out["since_date_kst"] = pd.to_datetime(out["since_date_kst"]).dt.date
    out.insert(0, "model_version", version)
    out.insert(0, "company_id", company_id)
    out["evaluated_at_utc"] = evaluated_at
    return out


def score(frame: pd.DataFrame, model, model_row: pd.Series, previous: pd.DataFrame, baseline: pd.DataFrame,
          scored_at: datetime | None = None) -> Scoring:
    """Score the company's new units; recompute its on-site results and drift from all predictions
    of this model version (`previous` holds the ones already written)."""
    scored_at = scored_at or datetime.now(timezone.utc)
    version = str(model_row["model_version"])
    mine = previous[previous["model_version"].astype(str) == version] if len(previous) else previous
    fresh = new_predictions(frame, model, model_row, set(mine["unit_key"]) if len(mine) else set(), scored_at)
    every = pd.concat([p for p in (mine, fresh) if len(p)], ignore_index=True) if len(mine) or len(fresh) \
        else pd.DataFrame()
    if len(every):  # rows read back from the warehouse carry timestamps, fresh ones dates
        every["date_kst"] = pd.to_datetime(every["date_kst"]).dt.date
    company_id = str(model_row["company_id"])
    daily = onsite_daily(every, frame) if len(every) else pd.DataFrame()
    if len(daily):
        daily.insert(0, "model_version", version)
        daily.insert(0, "company_id", company_id)
    psi = feature_psi_by_day(frame, every, baseline) if len(every) else pd.DataFrame()
    if len(psi):
        psi.insert(0, "model_version", version)
        psi.insert(0, "company_id", company_id)
    flags = drift_flags(company_id, model_row, daily, psi, scored_at)
    return Scoring(fresh, daily, psi, flags)
