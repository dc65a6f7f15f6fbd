"""The AI assets on a warehouse file: train on the data of the first weeks, then new days land;
scoring writes predictions with the model version for the new units only, the on-site result
once their labels are in, PSI and drift flags; a second scoring run adds nothing twice."""

from __future__ import annotations

import dagster as dg
import duckdb

from orchestration.assets.ml import defect_model, unit_scores
from orchestration.ml.features import build_feature_tables
from orchestration.partitions import company_partitions
from orchestration.resources import LakeResource, WarehouseResource
from orchestration.sample_clients.warehouse_units import UnitSample, load_marts, lot_units


def publish(path, sample: UnitSample) -> None:
    """Stand-in for the dbt build: the marts and feature models in the warehouse file."""
    con = duckdb.connect(str(path))
    try:
        load_marts(con, sample)
        build_feature_tables(con)
    finally:
        con.close()


def test_train_then_score_new_days_with_onsite_results_and_drift(tmp_path):
    sample = lot_units(units=2400, pattern="inside", seed=31)
    cut = sample.lots.end_ts_utc.sort_values().iloc[1800]
    warehouse = tmp_path / "warehouse" / "w.duckdb"
    warehouse.parent.mkdir()
    resources = {"lake": LakeResource(root=str(tmp_path / "lake")), "warehouse": WarehouseResource(path=str(warehouse))}
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(company_partitions.name, [sample.company_id])

    publish(warehouse, sample.before(cut))
    trained = dg.materialize([defect_model], partition_key=sample.company_id, resources=resources, instance=instance)
    metadata = trained.asset_materializations_for_node("ml__defect_model")[0].metadata
    assert metadata["demonstrable"].value is True
    assert metadata["mlflow_run"].value.startswith("http://127.0.0.1:5000/#/experiments/")
    assert (tmp_path / "lake" / "mlflow" / "mlflow.db").is_file()

    first = dg.materialize([unit_scores], partition_key=sample.company_id, resources=resources, instance=instance)
    known = sample.before(cut)
    cutoff = known.lots[known.lots.lot_key.isin(known.inspections.lot_key)].end_ts_utc.max()
    unlabelled_yet = int((known.lots.end_ts_utc > cutoff).sum())  # lots still waiting for inspection
    assert first.asset_materializations_for_node("ml__unit_scores")[0].metadata["scored_units"].value == unlabelled_yet

    publish(warehouse, sample)  # 600 more lots landed, with their inspections
    dg.materialize([unit_scores], partition_key=sample.company_id, resources=resources, instance=instance)
    again = dg.materialize([unit_scores], partition_key=sample.company_id, resources=resources, instance=instance)
    assert again.asset_materializations_for_node("ml__unit_scores")[0].metadata["scored_units"].value == 0

    con = duckdb.connect(str(warehouse), read_only=True)
    results = con.execute("select model_version, demonstrable, training_cutoff_utc from ml.model_results").fetchall()
    assert len(results) == 1 and results[0][:2] == ("1", True)
    scored = con.execute("""
        select count(*), count(distinct p.unit_key), min(p.end_ts_utc) > any_value(r.training_cutoff_utc),
               bool_and(p.model_version = '1')
        from ml.predictions as p, ml.model_results as r""").fetchall()[0]
    new_units = int((sample.lots.end_ts_utc > results[0][2]).sum())
    assert scored == (new_units, new_units, True, True)
    tp, fn, recall = con.execute(
        "select sum(tp), sum(fn), sum(tp) / nullif(sum(tp) + sum(fn), 0) from ml.onsite_daily").fetchall()[0]
    labelled_defects = int(sample.inspections[sample.inspections.lot_key.isin(
        sample.lots[sample.lots.end_ts_utc > results[0][2]].lot_key)].groupby("lot_key").is_defect.any().sum())
    assert tp + fn == labelled_defects and recall >= 0.5
    assert con.execute("select count(distinct feature) from ml.feature_psi").fetchall()[0][0] > 5
    kinds = dict(con.execute("select kind, flagged from ml.drift_flags").fetchall())
    assert kinds.get("feature_drift") is False  # same process after training: no drift
