"""Programme KPIs: what the ministry asks the center every quarter.

- companies onboarded, by region (시·군) and industry;
- data collected, per company (standard rows in the warehouse, by dataset);
- defect rate per company: failed inspections / inspections, and defective units / produced units.
"""

from __future__ import annotations

import duckdb

KPI_QUERIES = {
    "kpi.companies_onboarded": """
        with companies as (
            select region_code, region_name_ko, industry_code, industry_name_ko, company_id
            from main.dim_company
        ),
        final as (
            select region_code, region_name_ko, industry_code, industry_name_ko,
                   count(*) as companies
            from companies
            group by all
        )
        select * from final order by region_code, industry_code
    """,
    "kpi.company_data_volume": """
        with readings as (
            select company_id, count(*) as sensor_readings,
                   min(reading_ts_utc) as first_reading_utc, max(reading_ts_utc) as last_reading_utc
            from main.fct_sensor_readings group by company_id
        ),
        lots as (select company_id, count(*) as production_lots from main.fct_production_lots group by company_id),
        inspections as (
            select company_id, count(*) as quality_inspections from main.fct_quality_inspections group by company_id
        ),
        events as (select company_id, count(*) as equipment_events from main.fct_equipment_events group by company_id),
        final as (
            select c.company_id, c.name_ko, c.region_code, c.industry_code,
                   coalesce(r.sensor_readings, 0) as sensor_readings,
                   coalesce(l.production_lots, 0) as production_lots,
                   coalesce(i.quality_inspections, 0) as quality_inspections,
                   coalesce(e.equipment_events, 0) as equipment_events,
                   coalesce(r.sensor_readings, 0) + coalesce(l.production_lots, 0)
                     + coalesce(i.quality_inspections, 0) + coalesce(e.equipment_events, 0) as rows_collected,
                   r.first_reading_utc, r.last_reading_utc
            from main.dim_company as c
            left join readings as r using (company_id)
            left join lots as l using (company_id)
            left join inspections as i using (company_id)
            left join events as e using (company_id)
        )
        select * from final order by company_id
    """,
    "kpi.company_defect_rate": """
        with inspections as (
            select company_id, count(*) as inspections, count(*) filter (where is_defect) as failed_inspections
            from main.fct_quality_inspections group by company_id
        ),
        units as (
            select company_id, sum(quantity) as units_produced, sum(defect_quantity) as units_defective
            from main.fct_production_lots group by company_id
        ),
        final as (
            select c.company_id, c.name_ko, c.region_code, c.industry_code,
                   coalesce(i.inspections, 0) as inspections,
                   coalesce(i.failed_inspections, 0) as failed_inspections,
                   i.failed_inspections / nullif(i.inspections, 0) as inspection_defect_rate,
                   u.units_produced, u.units_defective,
                   u.units_defective / nullif(u.units_produced, 0) as unit_defect_rate
            from main.dim_company as c
            left join inspections as i using (company_id)
            left join units as u using (company_id)
        )
        select * from final order by company_id
    """,
}


def build_programme_kpis(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    con.execute("create schema if not exists kpi")
    counts = {}
    for table, query in KPI_QUERIES.items():
        con.execute(f"create or replace table {table} as {query}")
        counts[table] = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    return counts
