"""Stage 3b: programme KPIs (dbt marts in schema `kpi`) and what programme officers read.

The KPI marts (`dbt_project/models/marts/programme`, tag `programme_kpis`) are a dbt selection
of their own, built after the warehouse, the quality inspection and the AI stage, since they
count what those stages wrote. The dashboard and the quarterly workbook are rendered from them.
`programme_kpi_job` runs all of it; `monthly_programme_kpi_schedule` runs it on the 1st of
every month, and an officer can launch the job from the UI at any time.
"""

from collections.abc import Mapping
from typing import Any

from datetime import datetime, timezone

import dagster as dg
from dagster_dbt import DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets, get_asset_key_for_model

from orchestration.assets.warehouse import WarehouseTranslator, build_and_publish, warehouse_models
from orchestration.kpis.contribution import consenting_companies, export_contribution, record_published
from orchestration.kpis.dashboard import render_kpi_dashboard
from orchestration.kpis.workbook import write_kpi_workbook
from orchestration.resources import LakeResource, WarehouseResource
from orchestration.warehouse.dbt_project import warehouse_dbt_project
from orchestration.warehouse.ducklake import current_snapshot

PROGRAMME_SELECTION = "tag:programme_kpis"


class ProgrammeKpiTranslator(WarehouseTranslator):
    """KPI models appear as `kpis/<model>` in the group `kpis`; they are not rebuilt eagerly on
    every warehouse change (the KPIs count whole months, and follow the quality inspection)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "model" and "programme_kpis" in dbt_resource_props.get("tags", []):
            return dg.AssetKey(["kpis", dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if "programme_kpis" in dbt_resource_props.get("tags", []):
            return "kpis"
        return super().get_group_name(dbt_resource_props)

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        return None


CONTRIBUTION_MODELS = ("dim_company", "dim_industry", "fct_production_lots", "fct_quality_inspections",
                       "fct_sensor_readings_hourly", "stg_company_programme")


@dg.asset(
    key=["kpis", "data_contribution"],
    group_name="kpis",
    deps=[get_asset_key_for_model([warehouse_models], m) for m in CONTRIBUTION_MODELS] + [["quality", "inspection"]],
    pool="warehouse",
    description="Data contributed back (데이터 개방): for every company with data_contribution_consent in the "
    "registry, a standardised, anonymised dataset with a data card under lake/contrib/<dataset_id>/ "
    "(KAMP-like: data/*.csv, datacard.json, 데이터카드.md); recorded in contrib.published_datasets.",
)
def data_contribution(context: dg.AssetExecutionContext, lake: LakeResource,
                      warehouse: WarehouseResource) -> dg.MaterializeResult:
    con = warehouse.file.connect_read_only()
    try:
        contributions = [export_contribution(con, company, lake.root_path / "contrib")
                         for company in consenting_companies(con)]
    finally:
        con.close()
    with warehouse.transaction("kpis/data_contribution") as tx:
        published = record_published(tx.con, contributions, datetime.now(timezone.utc))
    for c in contributions:
        context.log.info(f"{c.company_id} -> {c.path} ({', '.join(f'{n} {r}' for n, r in c.rows.items())})")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": published, "exported_now": len(contributions), "warehouse_snapshot_id": tx.snapshot_id,
        "datasets": dg.MetadataValue.md("\n".join(f"- {c.dataset_id}: {c.rows['lots.csv']} lots, "
                                                   f"{c.rows['sensor_hourly.csv']} sensor hours" for c in contributions)
                                        or "no company has consented yet")})


@dbt_assets(
    manifest=warehouse_dbt_project.manifest_path,
    project=warehouse_dbt_project,
    select=PROGRAMME_SELECTION,
    dagster_dbt_translator=ProgrammeKpiTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    pool="warehouse",
    name="programme_kpi_models",
)
def programme_kpi_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource,
                         warehouse: WarehouseResource):
    yield from build_and_publish(context, dbt, lake, warehouse, ["build"], partial="programme_kpis")


def kpi_key(model: str) -> dg.AssetKey:
    return get_asset_key_for_model([programme_kpi_models], model)


KPI_MARTS = ("programme_outputs", "support_funnel", "company_outcomes", "watch_list", "company_benchmark",
             "companies_onboarded", "company_data_volume", "company_defect_rate")


@dg.asset(
    key=["reports", "programme_kpi_dashboard"],
    group_name="reports",
    deps=[kpi_key(m) for m in KPI_MARTS],
    automation_condition=dg.AutomationCondition.eager(),
    description="Offline HTML dashboard of the programme KPIs for programme officers "
    "(lake/reports/kpi/index.html), Korean first with English labels.",
)
def programme_kpi_dashboard(lake: LakeResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    return _officers_file(warehouse, lambda con: render_kpi_dashboard(con, lake.reports / "kpi" / "index.html"))


@dg.asset(
    key=["reports", "programme_kpi_workbook"],
    group_name="reports",
    deps=[kpi_key(m) for m in KPI_MARTS],
    automation_condition=dg.AutomationCondition.eager(),
    description="Quarterly KPI workbook for the ministry (lake/reports/kpi/제조AI센터_성과지표_<year>Q<n>.xlsx): "
    "the dashboard's numbers, Korean sheet and column names.",
)
def programme_kpi_workbook(lake: LakeResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    return _officers_file(warehouse, lambda con: write_kpi_workbook(con, lake.reports / "kpi"))


def _officers_file(warehouse: WarehouseResource, write) -> dg.MaterializeResult:
    """Write one file for officers from the KPI marts (read-only connection) and say where it is."""
    con = warehouse.connect_read_only()
    try:
        snapshot = current_snapshot(con)  # the KPIs' numbers are those of this warehouse snapshot
        path = write(con)
    finally:
        con.close()
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "size_bytes": path.stat().st_size,
                                          "warehouse_snapshot_id": snapshot})


programme_kpi_job = dg.define_asset_job(
    "programme_kpi_job",
    selection=dg.AssetSelection.groups("kpis")
    | dg.AssetSelection.assets(programme_kpi_dashboard, programme_kpi_workbook),
    description="Programme KPIs (성과지표): the KPI marts, the officers' dashboard and the quarterly workbook. "
    "Run it after the warehouse and the quality inspection; the monthly schedule does.",
)

monthly_programme_kpi_schedule = dg.ScheduleDefinition(
    name="monthly_programme_kpi_schedule",
    job=programme_kpi_job,
    cron_schedule="0 6 1 * *",
    execution_timezone="Asia/Seoul",
    description="On the 1st of every month at 06:00 KST: the KPI marts, dashboard and workbook for the month "
    "that ended.",
)
