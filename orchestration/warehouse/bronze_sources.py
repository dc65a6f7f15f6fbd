"""The bronze Delta tables as the warehouse reads them: in place, through DuckDB's `delta_scan`.

dbt's sources point at the Delta tables themselves (`external_location` in
`_bronze__sources.yml`); nothing is copied. The warehouse also holds a `bronze` schema of views
over the same tables, so analysts and the quality inspection can write `bronze.sensor_readings`.
A table no ingest has written yet exists as an empty Delta table with its schema, so every model
builds on a young lake too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError, TableNotFoundError

from orchestration.ingest.bronze_schemas import CONTENT_SCHEMAS, REGISTRY_SCHEMAS, bronze_schema
from orchestration.lakehouse.bronze import (INGEST_LOG_SCHEMA, LOG_TABLE, REJECTIONS_SCHEMA, REJECTIONS_TABLE,
                                          TABLE_PROPERTIES)

# Every bronze Delta table the warehouse reads, with the shape it has when still empty.
BRONZE_TABLES: dict[str, pa.Schema] = {
    **{name: bronze_schema(name) for name in CONTENT_SCHEMAS},
    **REGISTRY_SCHEMAS,
    REJECTIONS_TABLE: REJECTIONS_SCHEMA,
    LOG_TABLE: INGEST_LOG_SCHEMA,
}


def table_location(bronze_root: str | Path, name: str) -> str:
    root = str(bronze_root)
    return f"{root.rstrip('/')}/{name}" if "://" in root else str(Path(root).resolve() / name)


def delta_options(bronze_root: str | Path) -> dict[str, str] | None:
    """deltalake's storage options for a bronze lake on object storage (None for a local one)."""
    from orchestration.lakehouse.storage import is_remote, storage_options

    return storage_options() if is_remote(bronze_root) else None


@dataclass(frozen=True)
class BronzeTable:
    version: int  # its Delta version when the build began
    columns: tuple[str, ...]  # its Delta schema's columns, in order


def ensure_bronze_tables(bronze_root: str | Path) -> dict[str, BronzeTable]:
    """Create the bronze tables no ingest has written yet (empty, partitioned like the writers
    do); return every table's current Delta version and columns."""
    options = delta_options(bronze_root)
    tables = {}
    for name, schema in BRONZE_TABLES.items():
        location = table_location(bronze_root, name)
        try:
            tables[name] = bronze_table(DeltaTable(location, storage_options=options))
            continue
        except TableNotFoundError:
            pass
        try:
            # the registry tables are overwritten whole, unpartitioned (lakehouse/registry.py)
            partitioned = name not in REGISTRY_SCHEMAS
            write_deltalake(location, schema.empty_table(), mode="append", storage_options=options,
                            partition_by=["company_id"] if partitioned else None, configuration=TABLE_PROPERTIES)
        except DeltaError:  # an ingest created it at the same moment: theirs is as good
            pass
        tables[name] = bronze_table(DeltaTable(location, storage_options=options))
    return tables


def bronze_table(table: DeltaTable) -> BronzeTable:
    return BronzeTable(table.version(), tuple(field.name for field in table.schema().fields))


def scan(bronze_root: str | Path, name: str) -> str:
    return f"delta_scan('{table_location(bronze_root, name)}')"


def create_bronze_views(con: duckdb.DuckDBPyConnection, bronze_root: str | Path) -> None:
    """`bronze.<table>` views in the warehouse over the Delta tables."""
    con.execute("create schema if not exists bronze")
    for name in BRONZE_TABLES:
        # replaced every build: a view's columns are those of the Delta schema when it was made
        # (dbt's `bronze_column` looks them up here), and bronze evolves
        con.execute(f"create or replace view bronze.{name} as select * from {scan(bronze_root, name)}")


# The columns of every bronze table as its Delta schema has them, for dbt's `bronze_column`: asked
# of the views, each look-up binds a `delta_scan` (25-40 ms, about thirty times a build).
COLUMNS_TABLE = "ops.bronze_columns"


def record_bronze_columns(con: duckdb.DuckDBPyConnection, tables: dict[str, BronzeTable]) -> None:
    """Write `ops.bronze_columns` (in the caller's transaction) when the bronze schemas changed:
    written every build, the table would gain a data file and a snapshot's worth of catalog rows
    every day for nothing."""
    rows = sorted((name, column, position) for name, table in tables.items()
                  for position, column in enumerate(table.columns))
    con.execute("create schema if not exists ops")
    con.execute(f"create table if not exists {COLUMNS_TABLE} "
                "(table_name varchar, column_name varchar, position integer)")
    if con.execute(f"select table_name, column_name, position from {COLUMNS_TABLE} order by all").fetchall() == rows:
        return
    con.execute(f"delete from {COLUMNS_TABLE}")
    names, columns, positions = (list(values) for values in zip(*rows))
    con.execute(f"insert into {COLUMNS_TABLE} select unnest(?::varchar[]), unnest(?::varchar[]), "
                "unnest(?::integer[])", [names, columns, positions])


# What the bronze tables read incrementally gained since the warehouse last took rows of them:
# `ops.bronze_new_rows` holds, per table, its Delta version now and the earliest `_ingested_at` of
# the files added since the version the warehouse last took (sensor readings: the batch ledger's
# newest batch; equipment events and inspections: the newest `_bronze_version` of their
# deduplicated tables). An incremental build reads bronze only from there (a constant bound prunes
# Delta files by their statistics), so its cost follows the new day, not the history. Written
# before every build; a null bound means "look everywhere".
NEW_ROWS_TABLE = "ops.bronze_new_rows"
REMOVED_HISTORY_TABLE = "ops.removed_history"
NOTHING_NEW = datetime.max.replace(tzinfo=timezone.utc)

# bronze table -> the warehouse table that records the Delta version it last took, and the column
INCREMENTAL_BRONZE = {
    "sensor_readings": ("intermediate.int_sensor_reading_batches", "bronze_version"),
    "equipment_events": ("intermediate.int_equipment_events__deduplicated", "_bronze_version"),
    "quality_inspections": ("intermediate.int_quality_inspections__deduplicated", "_bronze_version"),
}


def ingested_since(bronze_root: str | Path, name: str, taken_version: int | None) -> datetime | None:
    """The earliest `_ingested_at` in the Delta files `name` gained after version
    `taken_version`. The commit log decides what is new, not a clock: two ingests may commit in
    either order, and the late commit of an early ingest is found by its files. NOTHING_NEW when no
    file was added; None (no bound) when it is not known - no earlier load, the old version gone
    from the log, a file without statistics, a recreated table."""
    if taken_version is None:
        return None
    options = delta_options(bronze_root)
    location = table_location(bronze_root, name)
    try:
        now = DeltaTable(location, storage_options=options)
        if now.version() == taken_version:
            return NOTHING_NEW
        if now.version() < taken_version:
            return None
        before = DeltaTable(location, version=taken_version, storage_options=options)
        known = set(pa.table(before.get_add_actions(flatten=True)).column("path").to_pylist())
        added = pa.table(now.get_add_actions(flatten=True)).to_pylist()
    except (DeltaError, OSError, ValueError):
        return None
    new_files = [action for action in added if action["path"] not in known]
    if not new_files:
        return NOTHING_NEW
    bounds = [action.get("min._ingested_at") for action in new_files]
    if any(bound is None for bound in bounds):
        return None
    # Delta's statistics keep timestamps to the millisecond; a second's margin keeps the bound below
    earliest = min(b if b.tzinfo else b.replace(tzinfo=timezone.utc) for b in bounds)
    return earliest - timedelta(seconds=1)


def last_taken_version(con: duckdb.DuckDBPyConnection, name: str) -> int | None:
    """The bronze table's Delta version when the warehouse last took rows of it (None: nothing
    taken yet, or a table from before it recorded versions)."""
    table, column = INCREMENTAL_BRONZE[name]
    try:
        return con.execute(f"select max({column}) from {table}").fetchall()[0][0]
    except duckdb.Error:
        return None


def record_new_bronze_rows(con: duckdb.DuckDBPyConnection, bronze_root: str | Path,
                           versions: dict[str, int]) -> dict[str, datetime | None]:
    """Write `ops.bronze_new_rows` for this build (in the caller's transaction); returns the bounds."""
    bounds = {name: ingested_since(bronze_root, name, last_taken_version(con, name)) for name in INCREMENTAL_BRONZE}
    con.execute("create schema if not exists ops")
    con.execute(f"create table if not exists {NEW_ROWS_TABLE} "
                "(table_name varchar, delta_version bigint, ingested_from timestamptz)")
    con.execute(f"delete from {NEW_ROWS_TABLE}")
    # where the rows a superseded file version took away began, per company (written by dbt's
    # post-hooks, read by the unit feature models: dbt_project/macros/superseded_versions.sql)
    con.execute(f"create table if not exists {REMOVED_HISTORY_TABLE} (table_name varchar, company_id varchar, "
                "earliest_ts_utc timestamptz, bronze_version bigint)")
    for name, bound in bounds.items():
        con.execute(f"insert into {NEW_ROWS_TABLE} values (?, ?, ?)",
                    [name, versions[name], "infinity" if bound == NOTHING_NEW else bound])
    return bounds
