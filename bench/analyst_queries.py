"""Ten typical analyst queries on the warehouse (DuckLake, attached read-only) against the same
queries on plain DuckDB tables holding the same rows, timed in the same run.

What an analyst of the center asks most days: one sensor's day, hourly means, OEE by week,
defects by shift and by week, data freshness, the programme KPIs. The plain tables are copied from
the warehouse's published snapshot into a DuckDB file, so both sides read exactly the same rows.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from pathlib import Path

import duckdb

from orchestration.warehouse.ducklake import ALIAS

# The warehouse tables the queries read; the baseline holds a plain copy of each.
TABLES = (
    "fct_sensor_readings", "fct_sensor_readings_hourly", "fct_quality_inspections", "mart_oee_daily",
    "mart_defects_by_shift", "mart_defects_weekly", "mart_company_data_freshness",
    "kpi.company_defect_rate", "kpi.company_data_volume",
)

QUERIES = {
    "sensor_day": """
        select reading_ts_kst, value_si, si_unit from fct_sensor_readings
        where company_id = $company and sensor_id = $sensor and reading_date_kst = $day
        order by reading_ts_kst""",
    "hourly_means_raw": """
        select equipment_id, date_trunc('hour', reading_ts_kst) as hour_kst, avg(value_si) as mean_si
        from fct_sensor_readings where company_id = $company and tag_code = $tag
        group by all order by all""",
    "hourly_means_fact": """
        select sensor_id, hour_kst, avg_value_si, min_value_si, max_value_si from fct_sensor_readings_hourly
        where company_id = $company and date_kst between $day - 6 and $day order by sensor_id, hour_kst""",
    "oee_by_week": """
        select company_id, line_id, date_trunc('week', date_kst) as week, avg(oee) as oee,
               avg(availability) as availability, avg(performance) as performance, avg(quality) as quality
        from mart_oee_daily group by all order by all""",
    "defects_by_shift": """
        select company_id, shift_code, sum(units_defective) / nullif(sum(units_produced), 0) as unit_defect_rate,
               sum(failed_inspections) as failed
        from mart_defects_by_shift group by all order by all""",
    "defects_weekly_worst": """
        select company_id, line_id, iso_year, iso_week, defect_rate, top1_defect_name_ko
        from mart_defects_weekly order by defect_rate desc, company_id, line_id limit 20""",
    "inspection_failures_by_day": """
        select company_id, cast(inspected_at_kst as date) as day, count(*) as inspections,
               count(*) filter (where is_defect) as defects
        from fct_quality_inspections group by all order by all""",
    # hours_since_last_landing is measured at query time (a view over now()): the two sides ask
    # seconds apart, so the query orders by the landing time it is computed from
    "freshness": """
        select company_id, dataset, last_landing_kst, files, rows
        from mart_company_data_freshness order by last_landing_kst nulls first, company_id, dataset""",
    "kpi_defect_rate": "select * from kpi.company_defect_rate order by company_id",
    "kpi_data_volume": "select * from kpi.company_data_volume order by company_id",
}


def parameters(con: duckdb.DuckDBPyConnection) -> dict:
    """One busy sensor's middle day: a fixed choice, so both sides answer the same question."""
    company, sensor, tag = con.execute(
        "select company_id, sensor_id, tag_code from fct_sensor_readings_hourly "
        "group by all order by sum(readings) desc, company_id, sensor_id limit 1").fetchone()
    low, high = con.execute("select min(date_kst), max(date_kst) from fct_sensor_readings_hourly "
                            "where sensor_id = ?", [sensor]).fetchone()
    return {"company": company, "sensor": sensor, "tag": tag, "day": low + (high - low) / 2}


def copy_to_plain(warehouse_con: duckdb.DuckDBPyConnection, target: Path) -> Path:
    """The same rows as plain DuckDB tables in a file of their own (the baseline). A view of the
    warehouse (the freshness mart: its hours are measured at query time) stays a view there, over
    the plain copies of the tables it reads: copied as a table, the baseline would answer from
    rows computed beforehand while the warehouse computes them, a different question."""
    target.unlink(missing_ok=True)
    warehouse_con.execute(f"attach '{target}' as plain")
    try:
        views = []
        for table in TABLES:
            schema, _, name = table.rpartition(".")
            warehouse_con.execute(f"create schema if not exists plain.{schema or 'main'}")
            definition = view_definition(warehouse_con, schema or "main", name)
            if definition is None:
                warehouse_con.execute(f"create table plain.{table} as select * from {table}")
            else:
                views.append((table, definition))
        for table, definition in views:
            for read in tables_read_by(warehouse_con, definition):
                if not table_exists(warehouse_con, "plain", *read):
                    warehouse_con.execute(f"create table plain.{read[0]}.{read[1]} as select * from {read[0]}.{read[1]}")
            warehouse_con.execute("use plain")
            try:
                warehouse_con.execute(definition)
            finally:
                warehouse_con.execute(f"use {ALIAS}")
    finally:
        warehouse_con.execute("detach plain")
    return target


def view_definition(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str | None:
    """The `create view` statement of a warehouse view, its tables named without their catalog
    (so it reads the plain copies in the baseline); None for a table."""
    rows = con.execute("select sql from duckdb_views() where database_name = ? and schema_name = ? and view_name = ?",
                       [ALIAS, schema, name]).fetchall()
    if not rows:
        return None
    return rows[0][0].replace(f'"{ALIAS}".', "").replace(f"{ALIAS}.", "")


def tables_read_by(con: duckdb.DuckDBPyConnection, definition: str) -> list[tuple[str, str]]:
    """(schema, table) of the warehouse tables a view definition names."""
    tables = con.execute("select schema_name, table_name from duckdb_tables() where database_name = ?",
                         [ALIAS]).fetchall()
    return [(schema, table) for schema, table in tables
            if re.search(rf'\b"?{re.escape(schema)}"?\."?{re.escape(table)}\b', definition)]


def table_exists(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> bool:
    return bool(con.execute("select 1 from duckdb_tables() where database_name = ? and schema_name = ? "
                            "and table_name = ?", [catalog, schema, table]).fetchall())


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[tuple]:
    return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchall()


def same_rows(left: list[tuple], right: list[tuple]) -> bool:
    """Equal rows, floats within a relative 1e-9: a parallel sum or mean adds in another order on
    each side (rounding both to 9 digits still differs when a value sits on a rounding edge)."""
    if len(left) != len(right):
        return False
    for a, b in zip(left, right):
        if len(a) != len(b):
            return False
        for x, y in zip(a, b):
            if isinstance(x, float) and isinstance(y, float):
                if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) and not (math.isnan(x) and math.isnan(y)):
                    return False
            elif x != y:
                return False
    return True


def time_queries(sides: dict[str, duckdb.DuckDBPyConnection], params: dict, repeats: int) -> dict[str, dict[str, float]]:
    """Median time of each query on each side. The sides take turns, query by query and run by
    run, so a slow moment of the host falls on both (timed one side after the other, the ratio of
    one run moved between 3.7 and 5.6 on the same lake)."""
    runs: dict[str, dict[str, list[float]]] = {side: {name: [] for name in QUERIES} for side in sides}
    for name, sql in QUERIES.items():
        for con in sides.values():
            run(con, sql, params)  # warm: metadata, file footers
        for _ in range(repeats):
            for side, con in sides.items():
                started = time.perf_counter()
                run(con, sql, params)
                runs[side][name].append(time.perf_counter() - started)
    return {side: {name: statistics.median(times) for name, times in by_query.items()} for side, by_query in runs.items()}


def compare(warehouse_con: duckdb.DuckDBPyConnection, workdir: Path, *, repeats: int = 5) -> dict:
    """Median over the ten queries of (warehouse time / plain-table time), with each query's
    times; checks that both sides return identical results first."""
    plain_file = copy_to_plain(warehouse_con, workdir / "analyst_baseline.duckdb")
    plain = duckdb.connect(str(plain_file), read_only=True)
    try:
        params = parameters(warehouse_con)
        for name, sql in QUERIES.items():
            if not same_rows(run(warehouse_con, sql, params), run(plain, sql, params)):
                raise SystemExit(f"analyst query {name}: the warehouse and the plain tables disagree")
        timings = time_queries({"warehouse": warehouse_con, "plain": plain}, params, repeats)
        on_warehouse, on_plain = timings["warehouse"], timings["plain"]
    finally:
        plain.close()
    ratios = {name: on_warehouse[name] / on_plain[name] for name in QUERIES}
    return {
        "analyst_query_ratio": round(statistics.median(ratios.values()), 3),
        "analyst_queries": {name: {"warehouse_ms": round(on_warehouse[name] * 1000, 2),
                                   "plain_ms": round(on_plain[name] * 1000, 2),
                                   "ratio": round(ratios[name], 3)} for name in QUERIES},
    }
