"""Retraining against the recorded input version gives identical metrics and predictions after
new data landed and after upkeep; the run is tracked in MLflow with its input and code version
and a registered model version that reloads to the same scores."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from orchestration.ml.development import develop, retrain
from orchestration.ml.features import as_matrix, unit_frame
from orchestration.ml.tracking import Tracking
from orchestration.sample_clients.warehouse_units import lot_units

pytestmark = pytest.mark.demonstration


def test_retrain_against_the_recorded_version_after_new_data_and_upkeep(tmp_path, features_of):
    sample = lot_units(units=2400, pattern="inside", seed=21)
    cut = sample.lots.end_ts_utc.sort_values().iloc[1800]
    tracking, sets = Tracking(tmp_path / "mlflow"), tmp_path / "training_sets"

    con = features_of(sample.before(cut))
    first = develop(con, sample.company_id, training_sets_root=sets, tracking=tracking,
                    trained_at=datetime(2026, 12, 1, 1, tzinfo=timezone.utc))
    row = first.result_row().iloc[0]
    assert first.result.verdict.demonstrable and row["model_version"] == "1"
    recorded = json.loads(row["input_version"])
    assert recorded["training_set"]["rows"] == first.result.units
    assert recorded["warehouse"]["fct_production_lots"]["rows"] == len(sample.before(cut).lots)
    assert recorded["code_version"]

    # new data lands (600 more lots, later labels) and the warehouse is rebuilt from scratch
    con = features_of(sample)
    assert len(unit_frame(con, sample.company_id)) > recorded["training_set"]["rows"]
    # upkeep: the training-set folder is all the retrain reads; a stray file beside it changes nothing
    (sets / sample.company_id / "unrelated.parquet.partial").write_bytes(b"junk")
    os.utime(first.training_set.path, (0, 0))

    again = retrain(sample.company_id, recorded, training_sets_root=sets, tracking=tracking,
                    trained_at=datetime(2026, 12, 2, 1, tzinfo=timezone.utc))
    assert again.result.metrics() == first.result.metrics()
    pd.testing.assert_frame_equal(again.result.predictions, first.result.predictions)
    assert again.run.model_version == "2"

    # the registered versions reload from MLflow and score alike
    probe = unit_frame(con, sample.company_id).tail(300)
    x = as_matrix(probe, first.result.columns)
    one = tracking.load_model(sample.company_id, "1").predict_proba(x)[:, 1]
    two = tracking.load_model(sample.company_id, "2").predict_proba(x)[:, 1]
    np.testing.assert_array_equal(one, two)

    run = tracking.client().get_run(first.run.run_id)
    assert run.data.tags["training_set_id"] == first.training_set.training_set_id
    assert json.loads(run.data.tags["input_version"])["training_set"]["sha256"] == first.training_set.sha256
    assert run.data.metrics["pr_auc"] == pytest.approx(first.result.pr_auc.value)
    assert (tmp_path / "mlflow" / "artifacts" / sample.company_id).is_dir()  # artifacts under the lake


def test_a_changed_training_set_is_refused(tmp_path, features_of):
    sample = lot_units(units=400, pattern=None, seed=22)
    tracking, sets = Tracking(tmp_path / "mlflow"), tmp_path / "training_sets"
    first = develop(features_of(sample), sample.company_id, training_sets_root=sets, tracking=tracking)
    first.training_set.path.write_bytes(first.training_set.path.read_bytes() + b"x")
    with pytest.raises(ValueError, match="has changed since it was recorded"):
        retrain(sample.company_id, first.input_version, training_sets_root=sets, tracking=tracking)


def test_retrain_at_the_pinned_snapshot_after_new_data_and_a_real_upkeep(tmp_path):
    """On the DuckLake warehouse: the training set records the snapshot it read; new data lands
    (a later snapshot), the weekly upkeep really runs (merges files, expires every unpinned old
    snapshot, deletes the files only they needed), and the units read again at the recorded,
    pinned snapshot equal the frozen training set and retrain to identical metrics and predictions."""
    from orchestration.ml.development import retrain_at_snapshot
    from orchestration.ml.features import build_feature_tables
    from orchestration.sample_clients.warehouse_units import load_marts
    from orchestration.warehouse.ducklake import Warehouse
    from orchestration.warehouse.snapshots import pin_snapshot, upkeep_warehouse

    warehouse = Warehouse.in_folder(tmp_path / "warehouse")
    sample = lot_units(units=2400, pattern="inside", seed=21)
    cut = sample.lots.end_ts_utc.sort_values().iloc[1800]
    tracking, sets = Tracking(tmp_path / "mlflow"), tmp_path / "training_sets"

    def build(data) -> int:  # what a warehouse build does: the marts and the feature models, one snapshot
        with warehouse.transaction("test build") as tx:
            load_marts(tx.con, data)
            build_feature_tables(tx.con)
        return tx.snapshot_id

    trained_on = build(sample.before(cut))
    con = warehouse.connect_read_only()
    first = develop(con, sample.company_id, training_sets_root=sets, tracking=tracking,
                    trained_at=datetime(2026, 12, 1, 1, tzinfo=timezone.utc))
    con.close()
    recorded = json.loads(first.result_row().iloc[0]["input_version"])
    assert recorded["warehouse"]["snapshot_id"] == trained_on and first.result.verdict.demonstrable
    pin_snapshot(warehouse, trained_on, pinned_by="ml/defect_model TEST-LOT-01 v1", reason="training set")

    new_data = build(sample)  # 600 more lots and their labels land
    latest = build(sample)  # and the nightly build runs again
    with warehouse.connect_read_only() as con:
        assert len(unit_frame(con, sample.company_id)) > recorded["training_set"]["rows"]
    upkeep = upkeep_warehouse(warehouse, retention_days=0)
    assert upkeep.snapshots_expired >= 1 and upkeep.files_deleted >= 1  # upkeep did remove history
    with pytest.raises(Exception) as gone:  # an unpinned older snapshot is gone: the pin is what kept ours
        warehouse.connect_read_only(new_data).execute("select count(*) from features.production_units").fetchall()
    assert "No snapshot found" in str(gone.value)
    again = retrain_at_snapshot(warehouse, sample.company_id, recorded, training_sets_root=sets, tracking=tracking,
                                trained_at=datetime(2026, 12, 2, 1, tzinfo=timezone.utc))
    assert again.result.metrics() == first.result.metrics()
    pd.testing.assert_frame_equal(again.result.predictions, first.result.predictions)
    assert again.input_version["retrained_from_snapshot"] == trained_on and latest > new_data > trained_on
