"""Developing a company's AI solution (AI 솔루션 개발): freeze the training set, train, judge
against the baseline, track the run in MLflow and describe the result as a warehouse row."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.ml import drift
from orchestration.ml.features import unit_frame
from orchestration.ml.tracking import TrackedRun, Tracking, code_version
from orchestration.ml.training import SPLIT, TrainingResult, labelled_units, new_model, train_company
from orchestration.ml.training_sets import TrainingSet, load_training_set, save_training_set


# Typed even when a company has no fitted model (all None): the first company written must not
# make ml.model_results' metric columns text for everyone after it.
RESULT_TYPES = {**{c: "float64" for c in ("pr_auc", "pr_auc_low", "pr_auc_high", "roc_auc", "roc_auc_low",
                                          "roc_auc_high", "baseline_pr_auc", "baseline_roc_auc", "threshold",
                                          "precision", "recall", "f1")},
                **{c: "Int64" for c in ("units", "defects", "train_units", "validation_units", "test_units",
                                        "test_defects", "tp", "fp", "fn", "tn")}}


@dataclass
class Development:
    result: TrainingResult
    training_set: TrainingSet | None
    run: TrackedRun
    input_version: dict
    trained_at: datetime

    def result_row(self) -> pd.DataFrame:
        r, v = self.result, self.result.verdict
        test = r.test.as_dict() if r.test else {}
        return pd.DataFrame([{
            "company_id": r.company_id, "trained_at_utc": self.trained_at, "model_name": self.run.model_name,
            "model_version": self.run.model_version, "mlflow_run_id": self.run.run_id,
            "mlflow_experiment_id": self.run.experiment_id,
            "training_set_id": self.training_set.training_set_id if self.training_set else None,
            "input_version": json.dumps(self.input_version, ensure_ascii=False, default=str),
            "code_version": self.input_version.get("code_version"),
            "units": r.units, "defects": r.defects,
            "train_units": r.split_counts.get("train", (None, None))[0],
            "validation_units": r.split_counts.get("validation", (None, None))[0],
            "test_units": r.split_counts.get("test", (None, None))[0],
            "test_defects": r.split_counts.get("test", (None, None))[1],
            "training_cutoff_utc": r.training_cutoff_utc,
            "pr_auc": r.pr_auc.value, "pr_auc_low": r.pr_auc.low, "pr_auc_high": r.pr_auc.high,
            "roc_auc": r.roc_auc.value, "roc_auc_low": r.roc_auc.low, "roc_auc_high": r.roc_auc.high,
            "baseline_pr_auc": r.baseline_pr_auc, "baseline_roc_auc": r.baseline_roc_auc,
            "threshold": r.threshold, "precision": test.get("precision"), "recall": test.get("recall"),
            "f1": test.get("f1"), "tp": test.get("tp"), "fp": test.get("fp"), "fn": test.get("fn"),
            "tn": test.get("tn"), "demonstrable": v.demonstrable, "reason": v.reason, "reason_ko": v.reason_ko,
            "reason_en": v.reason_en,
            "top_features": json.dumps(r.importance, ensure_ascii=False),
            "feature_columns": json.dumps(r.columns, ensure_ascii=False),
        }]).astype(RESULT_TYPES)


def warehouse_version(con: duckdb.DuckDBPyConnection) -> dict:
    """What the features were read from: the DuckLake snapshot the connection reads (read it
    again with `Warehouse.connect_read_only(snapshot)` or `AT (VERSION => n)`), and the row counts
    and newest timestamps of the marts (a plain DuckDB connection, in tests, has only these)."""
    version = {}
    snapshot = warehouse_snapshot(con)
    if snapshot is not None:
        version["snapshot_id"] = snapshot
    for table, column in (("fct_production_lots", "end_ts_utc"), ("fct_quality_inspections", "inspected_at_utc"),
                          ("fct_sensor_readings", "reading_ts_utc"), ("fct_equipment_events", "event_ts_utc")):
        try:
            rows, newest = con.execute(f"select count(*), max({column}) from main.{table}").fetchall()[0]
        except duckdb.Error:
            continue
        version[table] = {"rows": rows, "newest_utc": str(newest)}
    return version


def warehouse_snapshot(con: duckdb.DuckDBPyConnection) -> int | None:
    """The DuckLake snapshot `con` reads, or None when it is not a DuckLake connection."""
    from orchestration.warehouse.ducklake import current_snapshot

    try:
        return int(current_snapshot(con))
    except duckdb.Error:
        return None


def develop(con: duckdb.DuckDBPyConnection, company_id: str, *, training_sets_root: Path, tracking: Tracking,
            trained_at: datetime | None = None) -> Development:
    """Train the company's model on its labelled units as the warehouse has them now."""
    trained_at = trained_at or datetime.now(timezone.utc)
    frame = labelled_units(unit_frame(con, company_id)).drop(columns=["label"])
    training_set = None
    if len(frame):
        training_set_id = trained_at.strftime("%Y%m%dT%H%M%S%fZ")
        training_set = save_training_set(training_sets_root, company_id, training_set_id, frame)
        # train from the frozen file, exactly what a retrain against this version reads
        frame = load_training_set(training_sets_root, company_id, training_set_id, sha256=training_set.sha256)
    input_version = {"training_set": training_set.as_version() if training_set else None,
                     "warehouse": warehouse_version(con), "code_version": code_version()}
    return _train_and_track(frame, company_id, training_set, input_version, tracking, trained_at)


def retrain(company_id: str, input_version: dict, *, training_sets_root: Path, tracking: Tracking,
            trained_at: datetime | None = None) -> Development:
    """Train again against a recorded input version (a model_results row's input_version)."""
    recorded = input_version["training_set"]
    frame = load_training_set(training_sets_root, company_id, recorded["training_set_id"], sha256=recorded["sha256"])
    training_set = TrainingSet(company_id, recorded["training_set_id"], Path(recorded["path"]), recorded["rows"],
                               recorded["sha256"])
    version = {**input_version, "code_version": code_version(), "retrained_from": recorded["training_set_id"]}
    return _train_and_track(frame, company_id, training_set, version, tracking,
                            trained_at or datetime.now(timezone.utc))


def retrain_at_snapshot(warehouse, company_id: str, input_version: dict, *, training_sets_root: Path,
                        tracking: Tracking, trained_at: datetime | None = None) -> Development:
    """Train again from the warehouse as it was at the recorded DuckLake snapshot: the units are
    read again from the features at that snapshot, checked equal to the frozen training set, and
    trained on (so a retrain needs the snapshot, pinned so upkeep keeps it, not only the file)."""
    snapshot = input_version["warehouse"]["snapshot_id"]
    con = warehouse.connect_read_only(snapshot)
    try:
        frame = labelled_units(unit_frame(con, company_id)).drop(columns=["label"]).reset_index(drop=True)
    finally:
        con.close()
    recorded = input_version["training_set"]
    frozen = load_training_set(training_sets_root, company_id, recorded["training_set_id"], sha256=recorded["sha256"])
    try:
        pd.testing.assert_frame_equal(frame, frozen, check_dtype=False, obj=f"units at snapshot {snapshot}")
    except AssertionError as difference:
        raise ValueError(f"{company_id}: the warehouse at snapshot {snapshot} does not give training set "
                         f"{recorded['training_set_id']} again: {difference}") from None
    training_set = TrainingSet(company_id, recorded["training_set_id"], Path(recorded["path"]), recorded["rows"],
                               recorded["sha256"])
    version = {**input_version, "code_version": code_version(), "retrained_from_snapshot": snapshot}
    return _train_and_track(frame, company_id, training_set, version, tracking,
                            trained_at or datetime.now(timezone.utc))


def _train_and_track(frame: pd.DataFrame, company_id: str, training_set: TrainingSet | None, input_version: dict,
                     tracking: Tracking, trained_at: datetime) -> Development:
    if len(frame):
        result = train_company(frame, company_id)
    else:
        result = train_company(pd.DataFrame({"is_defect": pd.Series(dtype="boolean"), "end_ts_utc": [],
                                             "unit_key": []}), company_id)
    params = {**{k: v for k, v in new_model().get_params().items() if v is not None},
              "model": "sklearn.HistGradientBoostingClassifier", "split": "time-ordered train/validation/test "
              + "/".join(f"{int(s * 100)}" for s in SPLIT), "threshold_rule": "best F2 on validation (lowest of ties)",
              "features": len(result.columns)}
    tags = {"company_id": company_id, "demonstrable": str(result.verdict.demonstrable).lower(),
            "reason": result.verdict.reason, "code_version": input_version.get("code_version"),
            "input_version": json.dumps(input_version, ensure_ascii=False, default=str)[:5000],
            "training_set_id": training_set.training_set_id if training_set else ""}
    artifacts = {"verdict.txt": f"{result.verdict.reason_ko}\n{result.verdict.reason_en}\n",
                 "features.json": json.dumps(result.columns, ensure_ascii=False, indent=1),
                 "importance.json": json.dumps(result.importance, ensure_ascii=False, indent=1)}
    if result.predictions is not None:
        artifacts["test_predictions.csv"] = result.predictions.to_csv(index=False)
    run = tracking.log_training(company_id, params=params, metrics=result.metrics(), tags=tags, model=result.model,
                                artifacts=artifacts)
    return Development(result, training_set, run, input_version, trained_at)


def feature_baseline_rows(development: Development) -> pd.DataFrame:
    """The training-time distribution of each feature (decile bins and shares), kept for drift."""
    r = development.result
    if r.train_distribution is None:
        return pd.DataFrame()
    rows = drift.reference_bins(r.train_distribution)
    rows.insert(0, "model_version", development.run.model_version)
    rows.insert(0, "company_id", r.company_id)
    return rows



