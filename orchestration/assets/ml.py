"""Stage 3b: AI solutions per company (AI 솔루션 개발 및 실증), partitioned by company.

`ml/defect_model` trains and judges the company's defect-prediction model on the feature models
(MLflow run + registered version; result row in `ml.model_results`); `ml/unit_scores` scores the
units that ended after its training data, measures the on-site result once labels arrive and
flags drift (`ml.predictions`, `ml.onsite_daily`, `ml.feature_psi`, `ml.drift_flags`).
"""


import json

import dagster as dg
import pandas as pd
from dagster_dbt import get_asset_key_for_model

from orchestration.assets.warehouse import warehouse_models
from orchestration.ml import store
from orchestration.ml.tracking import UI_PORT, Tracking
from orchestration.partitions import company_partitions
from orchestration.reports.ai_report import render_ai_report
from orchestration.resources import LakeResource, WarehouseResource
from orchestration.warehouse.snapshots import pin_snapshot

FEATURE_MODELS = ("production_units", "unit_sensor_window_features", "unit_equipment_state", "unit_history_features")
GROUP = "ai_solutions"


def tracking_for(lake: LakeResource) -> Tracking:
    return Tracking(lake.root_path / "mlflow")


def training_sets_root(lake: LakeResource):
    return lake.gold / "ml" / "training_sets"


def _metric(value) -> float:
    return float(value) if value is not None and pd.notna(value) else -1.0


@dg.asset(
    key=["ml", "defect_model"],
    group_name=GROUP,
    partitions_def=company_partitions,
    deps=[get_asset_key_for_model([warehouse_models], m) for m in FEATURE_MODELS],
    pool="warehouse",
    kinds={"python", "scikit-learn", "mlflow"},
    description="The company's defect-prediction model (불량 예측): time-split training on its labelled units, "
    "prior-rate baseline, PR-AUC/ROC-AUC with bootstrap intervals, threshold chosen on validation; tracked in "
    "MLflow (lake/mlflow) with a registered version; verdict and metrics in ml.model_results.",
)
def defect_model(context: dg.AssetExecutionContext, lake: LakeResource,
                 warehouse: WarehouseResource) -> dg.MaterializeResult:
    # scikit-learn and SciPy load when an AI asset runs, not with the definitions: every run worker
    # (an ingest run too) imports this module, and they would be a second of its start-up
    from orchestration.ml.development import develop, feature_baseline_rows

    company = context.partition_key
    tracking = tracking_for(lake)
    con = warehouse.file.connect_read_only()
    try:
        development = develop(con, company, training_sets_root=training_sets_root(lake), tracking=tracking)
    finally:
        con.close()
    row = development.result_row()
    test = development.result.predictions
    test = test.assign(company_id=company, model_version=development.run.model_version) if test is not None \
        else pd.DataFrame()
    training_snapshot = development.input_version["warehouse"].get("snapshot_id")
    if training_snapshot is not None and development.run.model_version:
        # the registered version's inputs stay readable: upkeep never expires a pinned snapshot
        pin_snapshot(warehouse.lake, training_snapshot, pinned_by=f"ml/defect_model {company} "
                     f"v{development.run.model_version}", reason=f"training set {development.training_set.training_set_id}")
    written = store.write_company_results(warehouse.file, company, replace={
        "model_results": row, "feature_baselines": feature_baseline_rows(development), "test_predictions": test})
    r, v = development.result, development.result.verdict
    (context.log.info if v.demonstrable else context.log.warning)(f"{company}: {v.reason_en}")
    metadata = {
        "company": company, "demonstrable": v.demonstrable, "verdict": f"{v.reason_ko} / {v.reason_en}",
        "labelled_units": r.units, "defective_units": r.defects,
        "pr_auc": _metric(r.pr_auc.value), "pr_auc_interval": f"{r.pr_auc.low} – {r.pr_auc.high}",
        "baseline_pr_auc": _metric(r.baseline_pr_auc), "roc_auc": _metric(r.roc_auc.value),
        "threshold": _metric(r.threshold),
        "mlflow_run": dg.MetadataValue.url(development.run.ui_url()),
        "mlflow_tracking_uri": development.run.tracking_uri,
        "registered_model": f"{development.run.model_name} v{development.run.model_version}"
        if development.run.model_version else "none (no model fitted)",
        "input_version": dg.MetadataValue.json(json.loads(row.iloc[0]["input_version"])),
        "training_snapshot_id": training_snapshot if training_snapshot is not None else -1,
        "warehouse_snapshot_id": written if written is not None else -1,
        "warehouse_table": "ml.model_results",
        "mlflow_ui": f"uvx --from mlflow==3.17.2 mlflow ui --backend-store-uri {tracking.uri} "
                     f"--host 127.0.0.1 --port {UI_PORT}",
    }
    if development.training_set:
        metadata["training_set"] = dg.MetadataValue.path(str(development.training_set.path))
    if r.test is not None:
        metadata["confusion_matrix_test"] = dg.MetadataValue.md(
            f"| | 예측 불량 | 예측 양품 |\n|---|---|---|\n| 실제 불량 | {r.test.tp} | {r.test.fn} |\n"
            f"| 실제 양품 | {r.test.fp} | {r.test.tn} |")
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key=["ml", "unit_scores"],
    group_name=GROUP,
    partitions_def=company_partitions,
    deps=[dg.AssetKey(["ml", "defect_model"])],
    pool="warehouse",
    kinds={"python", "mlflow"},
    description="Scores the company's units that ended after the model's training data with its registered "
    "version (ml.predictions, never rewritten), the on-site result (실증) per KST day once labels arrive "
    "(ml.onsite_daily), PSI per feature against training (ml.feature_psi) and drift/degradation flags with the "
    "day they started (ml.drift_flags).",
)
def unit_scores(context: dg.AssetExecutionContext, lake: LakeResource,
                warehouse: WarehouseResource) -> dg.MaterializeResult:
    from orchestration.ml.features import unit_frame
    from orchestration.ml.scoring import score  # scikit-learn: see defect_model

    company = context.partition_key
    con = warehouse.file.connect_read_only()
    try:
        models = store.read_table(con, "model_results", company)
        fitted = models[models["model_version"].notna()] if len(models) else models
        if not len(fitted):
            context.log.info(f"{company}: no fitted model yet, nothing to score")
            return dg.MaterializeResult(metadata={"company": company, "scored_units": 0,
                                                  "note": "no fitted model (see ml.model_results.reason)"})
        model_row = fitted.sort_values("trained_at_utc").iloc[-1]
        frame = unit_frame(con, company)
        previous = store.read_table(con, "predictions", company)
        baseline = store.read_table(con, "feature_baselines", company)
    finally:
        con.close()
    baseline = baseline[baseline["model_version"].astype(str) == str(model_row["model_version"])] \
        if len(baseline) else baseline
    model = tracking_for(lake).load_model(company, str(model_row["model_version"]))
    result = score(frame, model, model_row, previous, baseline)
    written = store.write_company_results(
        warehouse.file, company, append={"predictions": result.predictions},
        replace={"onsite_daily": result.onsite_daily, "feature_psi": result.feature_psi,
                 "drift_flags": result.drift_flags})
    flagged = result.drift_flags[result.drift_flags["flagged"]] if len(result.drift_flags) else result.drift_flags
    return dg.MaterializeResult(metadata={
        "company": company, "model_version": str(model_row["model_version"]),
        "scored_units": len(result.predictions), "dagster/row_count": len(result.predictions),
        "labelled_days": len(result.onsite_daily),
        "drift": ", ".join(f"{r.kind} since {r.since_date_kst}" for r in flagged.itertuples()) or "none",
        "warehouse_tables": "ml.predictions, ml.onsite_daily, ml.feature_psi, ml.drift_flags",
        "warehouse_snapshot_id": written if written is not None else -1,
    })


@dg.asset(
    key=["ml", "equipment_anomalies"],
    group_name=GROUP,
    partitions_def=company_partitions,
    deps=[get_asset_key_for_model([warehouse_models], "equipment_hourly_features")],
    pool="warehouse",
    kinds={"python", "scikit-learn"},
    description="Anomaly detection per equipment and hour (이상 탐지, no labels needed): an Isolation Forest over "
    "the company's sensor-hours (features.equipment_hourly_features: z-score vs the previous 24 h, change per hour, "
    "spread, reading count), every sensor-hour scored, the most unusual 1 % flagged (ml.equipment_anomalies).",
)
def equipment_anomalies(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from orchestration.ml.anomaly import hourly_frame, score_anomalies  # scikit-learn: see defect_model

    company = context.partition_key
    con = warehouse.file.connect_read_only()
    try:
        scored = score_anomalies(hourly_frame(con, company))
    finally:
        con.close()
    written = store.write_company_results(warehouse.file, company, replace={"equipment_anomalies": scored})
    flagged = scored[scored["is_anomaly"]] if len(scored) else scored
    top = flagged.sort_values("anomaly_score", ascending=False).head(10) if len(flagged) else flagged
    return dg.MaterializeResult(metadata={
        "company": company, "sensor_hours": len(scored), "dagster/row_count": len(scored),
        "anomalous_hours": len(flagged), "warehouse_table": "ml.equipment_anomalies",
        "warehouse_snapshot_id": written if written is not None else -1,
        "most_unusual": dg.MetadataValue.md(
            "| 설비 | 센서 | 시각 (UTC) | 점수 |\n|---|---|---|---|\n" + "".join(
                f"| {r.equipment_id} | {r.sensor_id} | {r.hour_utc} | {r.anomaly_score:.3f} |\n"
                for r in top.itertuples())) if len(top) else "none",
    })


@dg.asset(
    key=["reports", "ai_demonstration"],
    group_name=GROUP,
    partitions_def=company_partitions,
    deps=[dg.AssetKey(["ml", "unit_scores"]), dg.AssetKey(["ml", "equipment_anomalies"])],
    kinds={"html", "plotly"},
    description="The company's AI demonstration report (AI 솔루션 실증 보고서), offline HTML in Korean first: "
    "lake/reports/ai/<company_id>.html.",
)
def ai_demonstration_report(context: dg.AssetExecutionContext, lake: LakeResource,
                            warehouse: WarehouseResource) -> dg.MaterializeResult:
    company = context.partition_key
    con = warehouse.file.connect_read_only()
    try:
        path = render_ai_report(con, company, lake.reports / "ai" / f"{company}.html")
    finally:
        con.close()
    return dg.MaterializeResult(metadata={"company": company, "report": dg.MetadataValue.path(str(path)),
                                          "bytes": path.stat().st_size})
