"""What a build's preparation wrote for dbt (`prepare_build` in orchestration/warehouse/build.py),
copied once per dbt invocation into the in-memory database of dbt's connection.

dbt's macros look these up while compiling most models and tests: the bronze tables' columns
(`bronze_column`), what bronze gained since the last build (`bronze_rows_new_since`) and the
snapshot the preparation committed (`rows_this_build_inserted`). Asked of the DuckLake, each look-up
is a catalog transaction, and a table in `ops` first has dbt list the schema through
information_schema: 15-70 ms each, about fifty times a daily build. Asked of memory, well under a
millisecond. The preparation commits before dbt connects and nothing writes these tables while
dbt runs, so a copy taken when dbt opens its first cursor is what every node would have read.
Where the warehouse has none of them (dbt run by hand on a fresh warehouse), the copies are empty
and the macros ask the warehouse itself, as before.
"""

from __future__ import annotations

import duckdb

MEMORY_SCHEMA = "memory.build"  # the `memory` catalog: dbt's own in-memory DuckDB (profiles.yml)
COPIES = {
    "bronze_columns": "table_name varchar, column_name varchar, position integer",
    "bronze_new_rows": "table_name varchar, delta_version bigint, ingested_from timestamptz",
}


def copy_bookkeeping(cursor: duckdb.DuckDBPyConnection, catalog: str) -> None:
    """Copy `<catalog>.ops.*` and the preparation's snapshot into MEMORY_SCHEMA (empty where
    missing); never raises for what the warehouse lacks."""
    cursor.execute(f"create schema if not exists {MEMORY_SCHEMA}")
    for table, columns in COPIES.items():
        try:
            cursor.execute(f"create or replace table {MEMORY_SCHEMA}.{table} as "
                           f"select * from {catalog}.ops.{table}")
        except duckdb.Error:  # not written yet: the macros ask the warehouse
            cursor.execute(f"create or replace table {MEMORY_SCHEMA}.{table} ({columns})")
    cursor.execute(f"create or replace table {MEMORY_SCHEMA}.prepared as "
                   f"select cast(? as bigint) as snapshot_id", [prepared_snapshot(cursor, catalog)])


def prepared_snapshot(cursor: duckdb.DuckDBPyConnection, catalog: str) -> int | None:
    """The last snapshot that wrote ops.bronze_new_rows: the build's preparation, which also
    restores what a failed build left (None when the catalog does not say)."""
    meta = f"__ducklake_metadata_{catalog}"
    try:
        return cursor.execute(
            f"select max(snapshot_id) from ducklake_snapshots('{catalog}') "
            "where list_contains(changes['tables_inserted_into'], (select cast(max(t.table_id) as varchar) "
            f"from {meta}.ducklake_table as t join {meta}.ducklake_schema as s using (schema_id) "
            "where s.schema_name = 'ops' and t.table_name = 'bronze_new_rows' "
            "and t.end_snapshot is null and s.end_snapshot is null))").fetchall()[0][0]
    except duckdb.Error:
        return None
