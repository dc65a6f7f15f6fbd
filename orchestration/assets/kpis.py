"""Stage 3b: programme KPIs and the dashboard programme officers read."""

import dagster as dg
import duckdb
from dagster_dbt import get_asset_key_for_model

from orchestration.assets.warehouse import warehouse_models
from orchestration.kpis.dashboard import render_kpi_dashboard
from orchestration.kpis.programme import KPI_QUERIES, build_programme_kpis
from orchestration.resources import LakeResource, WarehouseResource

KPI_MODELS = ("dim_company", "fct_sensor_readings", "fct_production_lots", "fct_quality_inspections",
              "fct_equipment_events")


@dg.asset(
    key=["kpis", "programme_kpis"],
    group_name="kpis",
    deps=[get_asset_key_for_model([warehouse_models], m) for m in KPI_MODELS],
    pool="warehouse",
    automation_condition=dg.AutomationCondition.eager(),
    description="Programme KPIs in the warehouse schema `kpi`: companies onboarded by region and "
    "industry, rows collected per company, defect rate per company.",
)
def programme_kpis(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.file.rebuild() as build:
        con = duckdb.connect(str(build))
        try:
            counts = build_programme_kpis(con)
            totals = con.execute(
                "select (select sum(companies) from kpi.companies_onboarded), "
                "(select sum(rows_collected) from kpi.company_data_volume), "
                "(select sum(failed_inspections) / nullif(sum(inspections), 0) from kpi.company_defect_rate)"
            ).fetchall()[0]
            preview = con.execute("select * from kpi.company_defect_rate").df()
        finally:
            con.close()
    return dg.MaterializeResult(metadata={
        **{f"rows_{table}": n for table, n in counts.items()},
        "companies_onboarded": int(totals[0] or 0),
        "rows_collected": int(totals[1] or 0),
        "overall_inspection_defect_rate": float(totals[2]) if totals[2] is not None else -1.0,
        "tables": ", ".join(KPI_QUERIES),
        "defect_rate_by_company": dg.MetadataValue.md(preview.to_markdown(index=False)),
    })


@dg.asset(
    key=["reports", "programme_kpi_dashboard"],
    group_name="reports",
    deps=[programme_kpis],
    automation_condition=dg.AutomationCondition.eager(),
    description="Offline HTML dashboard of the programme KPIs (lake/reports/kpi/index.html).",
)
def programme_kpi_dashboard(lake: LakeResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    con = warehouse.file.connect_read_only()
    try:
        path = render_kpi_dashboard(con, lake.reports / "kpi" / "index.html")
    finally:
        con.close()
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path))})
