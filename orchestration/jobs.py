"""Named selections of assets that operators launch, schedule or backfill."""

import dagster as dg

REGISTRY_ASSETS = dg.AssetSelection.assets(
    ["bronze", "companies"], ["bronze", "support_stages"], ["bronze", "company_shifts"], ["bronze", "company_programme"],
    ["bronze", "landing_audit"])

registry_job = dg.define_asset_job(
    "registry_job",
    selection=REGISTRY_ASSETS,
    description="Load the client registry and audit the landing area for files no client owns.",
)

ingest_company_job = dg.define_asset_job(
    "ingest_company_job",
    # the freshness check looks at every company at once; it runs on its own schedule
    selection=dg.AssetSelection.groups("bronze") - REGISTRY_ASSETS - dg.AssetSelection.checks(
        dg.AssetCheckKey(dg.AssetKey(["bronze", "ingest_log"]), "company_freshness")),
    description="Ingest one company's new landing files into the bronze Delta tables.",
)

warehouse_job = dg.define_asset_job(
    "warehouse_job",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("bronze") - dg.AssetSelection.groups("quality_reports")
    - dg.AssetSelection.groups("ai_solutions") - dg.AssetSelection.groups("kpis") - dg.AssetSelection.groups("reports"),
    description="Rebuild the warehouse (dbt build), then the features. (AI: ai_solution_job; KPIs: programme_kpi_job.)",
)

quality_report_job = dg.define_asset_job(
    "quality_report_job",
    selection=dg.AssetSelection.groups("quality_reports"),
    description="Inspect one company's data quality (asset checks per dimension) and write its "
    "consulting report to lake/reports/quality/<company_id>.html.",
)

ai_solution_job = dg.define_asset_job(
    "ai_solution_job",
    selection=dg.AssetSelection.groups("ai_solutions"),
    description="Train and judge one company's defect-prediction model (MLflow), score its new units, measure "
    "the on-site result and drift, and write its AI demonstration report to lake/reports/ai/<company_id>.html.",
)

nightly_warehouse_schedule = dg.ScheduleDefinition(
    name="nightly_warehouse_schedule",
    job=warehouse_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Seoul",
    description="Nightly rebuild at 02:00 KST, so marts and KPIs are fresh before the working day.",
)
