"""Stage 4: data quality inspection (데이터 품질검사) and the per-company quality report.

`quality/inspection` scores one company's data (partition = company) in the warehouse schema
`quality` and reports one asset check per dimension, with the severity `clients/quality.yaml`
gives that client, so the UI shows which client's data fails and why.
`reports/quality_report` renders `lake/reports/quality/<company_id>.html` from it.
"""


from pathlib import Path

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from orchestration.assets.warehouse import warehouse_models
from orchestration.partitions import company_partitions
from orchestration.quality.config import CHECKS, load_quality_config
from orchestration.quality.inspection import inspect_company
from orchestration.reports.quality_report import render_quality_report
from orchestration.resources import LakeResource, WarehouseResource
from orchestration.warehouse.ducklake import current_snapshot

QUALITY_MODELS = ("dim_tag", "dim_company", "fct_sensor_readings", "fct_production_lots", "fct_quality_inspections",
                  "fct_equipment_events", "fct_landing_files")
QUALITY_BRONZE_TABLES = ("sensor_readings", "production_lots", "quality_inspections", "equipment_events",
                         "ingest_rejections", "ingest_log")
INSPECTION_KEY = dg.AssetKey(["quality", "inspection"])

CHECK_DESCRIPTIONS = {
    "completeness": "완전성: readings present against each sensor's expected sampling interval; required fields filled.",
    "validity": "유효성: values inside the plausible range, not stuck or spiking; rows rejected at ingest count as invalid.",
    "uniqueness": "유일성: no duplicate readings (same sensor, same timestamp) or duplicate rows in bronze.",
    "consistency": "일관성: units and tags that fit, inspections of known lots, lots ending after they start.",
    "timeliness": "적시성: files land soon after their last event (late_file_hours).",
    "overall": "종합 점수: weighted mean of the five dimensions (weights in clients/quality.yaml).",
}


def _quality_config_file(lake: LakeResource) -> Path:
    return Path(lake.clients_dir) / "quality.yaml"


@dg.asset(
    key=INSPECTION_KEY,
    group_name="quality_reports",
    partitions_def=company_partitions,
    # it also reads the company's bronze rows (duplicates and rejections exist only there)
    deps=[*(get_asset_key_for_model([warehouse_models], m) for m in QUALITY_MODELS),
          *(dg.AssetKey(["bronze", t]) for t in QUALITY_BRONZE_TABLES)],
    pool="warehouse",
    # Partitioned checks: each company's result is kept as its own, so the Checks tab shows every
    # company's state, not only the company inspected last.
    check_specs=[dg.AssetCheckSpec(name=c, asset=INSPECTION_KEY, description=CHECK_DESCRIPTIONS[c],
                                   partitions_def=company_partitions) for c in CHECKS],
    description="Data quality inspection of one company: scores per dataset, KST day and dimension "
    "(history in quality.dq_daily_scores, latest in quality.dq_latest) and named issues with time "
    "ranges (quality.dq_issues).",
)
def quality_inspection(context: dg.AssetExecutionContext, lake: LakeResource,
                       warehouse: WarehouseResource) -> dg.MaterializeResult:
    company = context.partition_key
    config = load_quality_config(company, _quality_config_file(lake), lake.mapping_file(company))
    with warehouse.transaction(f"quality/inspection {company}") as tx:
        result = inspect_company(tx.con, config)
    checks = []
    for check in CHECKS:
        score = result.scores.get(check)
        passed, severity = config.check_outcome(check, score)
        worst = result.worst_issues(check, limit=3)
        checks.append(dg.AssetCheckResult(
            check_name=check,
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR if severity == "error" else dg.AssetCheckSeverity.WARN,
            metadata={
                "company": company,
                "score": float(score) if score is not None else -1.0,
                "threshold_warn_below": config.threshold(check)["warn_below"],
                "threshold_error_below": config.threshold(check)["error_below"],
                "worst_issues": dg.MetadataValue.md(
                    "\n".join(f"- [{i['severity']}] {i['message_ko']} / {i['message_en']}" for i in worst) or "none"),
            },
        ))
    issue_counts = result.issues.issue_type.value_counts().to_dict() if not result.issues.empty else {}
    return dg.MaterializeResult(
        metadata={
            "company": company,
            "warehouse_snapshot_id": tx.snapshot_id,
            **{f"score_{k}": float(v) for k, v in result.scores.items() if v is not None},
            "days_scored": int(result.daily.day_kst.nunique()),
            "issues": int(len(result.issues)),
            **{f"issues_{k}": int(v) for k, v in issue_counts.items()},
            "worst_issues": dg.MetadataValue.md(
                "\n".join(f"- [{i['severity']}] {i['message_ko']}" for i in result.worst_issues(limit=5)) or "none"),
        },
        check_results=checks,
    )


@dg.asset(
    key=["reports", "quality_report"],
    group_name="quality_reports",
    partitions_def=company_partitions,
    deps=[quality_inspection],
    description="Offline HTML data quality report of one company (lake/reports/quality/<company_id>.html), "
    "Korean with English: scores and their trend, the worst problems, recommendations.",
)
def quality_report(context: dg.AssetExecutionContext, lake: LakeResource,
                   warehouse: WarehouseResource) -> dg.MaterializeResult:
    company = context.partition_key
    config = load_quality_config(company, _quality_config_file(lake), lake.mapping_file(company))
    con = warehouse.connect_read_only()
    try:
        snapshot = current_snapshot(con)
        path = render_quality_report(con, company, lake.reports / "quality" / f"{company}.html", config=config)
    finally:
        con.close()
    return dg.MaterializeResult(metadata={"company": company, "path": dg.MetadataValue.path(str(path)),
                                          "warehouse_snapshot_id": snapshot})
