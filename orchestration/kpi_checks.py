"""Checks that the programme KPIs reconcile with the marts they count, so a number an officer sends
to the ministry is one the warehouse holds: per-company volumes and defect counts recounted from
the facts, and the programme outputs' breakdowns adding up to their totals. A KPI mart built before
the latest warehouse build fails here too (re-run the check from the UI to see it)."""

from __future__ import annotations

import dagster as dg
import duckdb

from orchestration.resources import WarehouseResource

PROGRAMME_OUTPUTS = dg.AssetKey(["kpis", "programme_outputs"])

# per KPI mart: its per-company columns, and the same counts taken from the facts
RECOUNTS = {
    "company_data_volume": {
        "sensor_readings": "select company_id, count(*) from main.fct_sensor_readings group by all",
        "production_lots": "select company_id, count(*) from main.fct_production_lots group by all",
        "quality_inspections": "select company_id, count(*) from main.fct_quality_inspections group by all",
        "equipment_events": "select company_id, count(*) from main.fct_equipment_events group by all",
    },
    "company_defect_rate": {
        "inspections": "select company_id, count(*) from main.fct_quality_inspections group by all",
        "failed_inspections": "select company_id, count(*) filter (where is_defect) "
                              "from main.fct_quality_inspections group by all",
    },
}


def kpi_mismatches(con: duckdb.DuckDBPyConnection, mart: str) -> tuple[list[dict], int]:
    """Where `kpi.<mart>` disagrees with the facts: (company, column, KPI value, recounted value)
    rows, and how many companies the mart holds. A company in the facts but not in the KPI counts
    as a KPI of 0."""
    kpi = {row[0]: row[1:] for row in con.execute(
        f"select company_id, {', '.join(RECOUNTS[mart])} from kpi.{mart}").fetchall()}
    mismatches = []
    for position, (column, recount) in enumerate(RECOUNTS[mart].items()):
        truth = dict(con.execute(recount).fetchall())
        for company in sorted(set(truth) | set(kpi)):
            stated = kpi[company][position] if company in kpi else 0
            if (stated or 0) != truth.get(company, 0):
                mismatches.append({"company_id": company, "column": column, "kpi": stated,
                                   "recounted": truth.get(company, 0)})
    return mismatches, len(kpi)


def reconcile_outcome(mart: str, mismatches: list[dict], companies: int) -> dg.AssetCheckResult:
    lines = ["| company | column | KPI | recounted from the facts |", "|---|---|---|---|"]
    lines += [f"| {m['company_id']} | {m['column']} | {m['kpi']} | {m['recounted']} |" for m in mismatches[:50]]
    off = sorted({m["company_id"] for m in mismatches})
    return dg.AssetCheckResult(
        passed=not mismatches, severity=dg.AssetCheckSeverity.ERROR,
        description=(f"kpi.{mart} disagrees with the facts for {', '.join(off)} ({len(mismatches)} value(s))"
                     if mismatches else f"kpi.{mart} equals the facts for all {companies} companies"),
        metadata={"companies": companies, "mismatches": len(mismatches), "companies_off": ", ".join(off) or "none",
                  "differences": dg.MetadataValue.md("\n".join(lines) if mismatches else "none")})


OUTPUT_BREAKDOWNS_SQL = """
with supported as (
    select programme_year, breakdown, sum(actual) as actual
    from kpi.programme_outputs where kpi_code = 'companies_supported'
    group by all
),
datasets as (
    select programme_year,
           max(actual) filter (where kpi_code = 'datasets_collected') as collected,
           max(actual) filter (where kpi_code = 'datasets_standardised') as standardised
    from kpi.programme_outputs where breakdown = 'total'
    group by all
)
select t.programme_year, t.actual as total, r.actual as by_region, i.actual as by_industry,
       d.collected, d.standardised
from supported as t
left join supported as r on r.programme_year = t.programme_year and r.breakdown = 'region'
left join supported as i on i.programme_year = t.programme_year and i.breakdown = 'industry'
left join datasets as d on d.programme_year = t.programme_year
where t.breakdown = 'total'
order by t.programme_year
"""


def output_breakdown_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Per programme year: companies supported per 시·군 add up to the total (every company is in one
    region), per industry group to at most the total, and no more datasets standardised than collected."""
    problems = []
    for year, total, by_region, by_industry, collected, standardised in con.execute(OUTPUT_BREAKDOWNS_SQL).fetchall():
        if (by_region or 0) != total:
            problems.append(f"{year}: companies supported per region add up to {by_region or 0:g}, the total is {total:g}")
        if (by_industry or 0) > total:
            problems.append(f"{year}: companies supported per industry add up to {by_industry:g}, "
                            f"more than the total {total:g}")
        if (standardised or 0) > (collected or 0):
            problems.append(f"{year}: {standardised:g} datasets standardised but only {collected or 0:g} collected")
    return problems


def reconcile_check(mart: str, what: str) -> dg.AssetChecksDefinition:
    """`reconciles_with_marts` on `kpis/<mart>`: its per-company counts equal the facts' rows."""

    @dg.asset_check(asset=dg.AssetKey(["kpis", mart]), name="reconciles_with_marts",
                    description=f"Each company's {what} equal the facts (fct_*) in the warehouse; fails naming the "
                    "companies and columns that differ.")
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.file.connect_read_only() as con:  # closed on leaving
            return reconcile_outcome(mart, *kpi_mismatches(con, mart))

    return _check


data_volume_reconciles = reconcile_check("company_data_volume", "sensor readings, lots, inspections and events")
defect_rate_reconciles = reconcile_check("company_defect_rate", "inspections and failed inspections")


@dg.asset_check(asset=PROGRAMME_OUTPUTS, name="breakdowns_add_up",
                description="Per programme year, companies supported per region add up to the total (per industry "
                "to at most the total) and no more datasets are standardised than collected.")
def programme_outputs_add_up(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.file.connect_read_only() as con:
        problems = output_breakdown_problems(con)
    return dg.AssetCheckResult(passed=not problems, severity=dg.AssetCheckSeverity.ERROR,
                               description="; ".join(problems) or "every breakdown adds up to its total",
                               metadata={"problems": len(problems)})


KPI_CHECKS = [data_volume_reconciles, defect_rate_reconciles, programme_outputs_add_up]
