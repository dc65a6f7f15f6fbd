"""Checks on the ML feature tables, per company, where the AI engineer looks before training: every
company that produced lots has units to learn from (row count), and its labels can train a defect
model (label balance). The feature models are not partitioned, so each check names the companies
at fault and shows every company's numbers in a table."""

from __future__ import annotations

import dagster as dg
import duckdb

from orchestration.resources import WarehouseResource

PRODUCTION_UNITS = dg.AssetKey(["warehouse", "production_units"])
MAX_DEFECT_SHARE = 0.5  # more defective than good units: a label mapping read the wrong way round, most likely

UNIT_COUNTS_SQL = """
with lots as (
    select company_id, count(*) as lots from main.fct_production_lots group by company_id
),
units as (
    select company_id, count(*) as units, count(is_defect) as labelled,
           count(*) filter (where is_defect) as defective
    from features.production_units group by company_id
)
select company_id, coalesce(lots.lots, 0) as lots, coalesce(units.units, 0) as units,
       coalesce(units.labelled, 0) as labelled, coalesce(units.defective, 0) as defective
from lots full outer join units using (company_id)
order by company_id
"""


def unit_counts(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Per company: its lots in the marts, and its units, labelled units and defective units in
    features.production_units."""
    cursor = con.execute(UNIT_COUNTS_SQL)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _company_table(rows: list[dict], verdicts: dict[str, str]) -> dg.MetadataValue:
    lines = ["| company | lots | units | labelled | defective | verdict |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['company_id']} | {r['lots']} | {r['units']} | {r['labelled']} | {r['defective']} | "
              f"{verdicts.get(r['company_id'], 'ok')} |" for r in rows]
    return dg.MetadataValue.md("\n".join(lines))


def unit_rows_outcome(rows: list[dict]) -> dg.AssetCheckResult:
    """Error when a company produced lots but has no unit to learn from (or no company has any)."""
    missing = {r["company_id"]: "lots but no units" for r in rows if r["lots"] > 0 and r["units"] == 0}
    total = sum(r["units"] for r in rows)
    passed = not missing and total > 0
    description = (f"no units for {', '.join(missing)} although they produced lots" if missing
                   else "no production units at all" if not total
                   else f"{total} units over {sum(r['units'] > 0 for r in rows)} companies")
    return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.ERROR, description=description,
                               metadata={"dagster/row_count": total, "companies_without_units": ", ".join(missing)
                                         or "none", "companies": _company_table(rows, missing)})


def label_verdict(row: dict) -> str | None:
    """Why this company's labels cannot train a defect model, or None when they can."""
    if row["units"] == 0:
        return None  # the row-count check's business
    if row["labelled"] == 0:
        return "no labelled units (no inspection names a lot)"
    if row["defective"] == 0:
        return f"no defective unit among {row['labelled']} labelled"
    if row["defective"] == row["labelled"]:
        return f"every one of {row['labelled']} labelled units is defective"
    share = row["defective"] / row["labelled"]
    if share > MAX_DEFECT_SHARE:
        return f"{share:.0%} of labelled units defective (label read the wrong way round?)"
    return None


def label_balance_outcome(rows: list[dict]) -> dg.AssetCheckResult:
    """Warn naming the companies whose labels cannot train a model: none, one class only, or an
    implausible defect share."""
    verdicts = {r["company_id"]: v for r in rows if (v := label_verdict(r))}
    labelled = sum(r["labelled"] for r in rows)
    defective = sum(r["defective"] for r in rows)
    return dg.AssetCheckResult(
        passed=not verdicts, severity=dg.AssetCheckSeverity.WARN,
        description=("; ".join(f"{c}: {v}" for c, v in verdicts.items()) if verdicts
                     else f"every company has both classes ({defective} of {labelled} labelled units defective)"),
        metadata={"companies_unbalanced": ", ".join(verdicts) or "none", "labelled_units": labelled,
                  "defective_units": defective, "defect_share": defective / labelled if labelled else 0.0,
                  "companies": _company_table(rows, verdicts)})


@dg.asset_check(asset=PRODUCTION_UNITS, name="units_per_company",
                description="Every company that produced lots (fct_production_lots) has production units to learn "
                "from; fails naming those that have none.")
def units_per_company(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.file.connect_read_only() as con:  # closed on leaving
        return unit_rows_outcome(unit_counts(con))


@dg.asset_check(asset=PRODUCTION_UNITS, name="label_balance",
                description="Each company's labels can train a defect model: some units labelled, both defective "
                f"and good ones, at most {MAX_DEFECT_SHARE:.0%} defective; warns naming the companies that cannot.")
def label_balance(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.file.connect_read_only() as con:
        return label_balance_outcome(unit_counts(con))


FEATURE_CHECKS = [units_per_company, label_balance]
