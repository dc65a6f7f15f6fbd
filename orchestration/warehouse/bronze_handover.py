"""Hand bronze Delta tables over to the warehouse being built, incrementally.

dbt reads bronze as plain DuckDB tables in schema `bronze` (real tables: nothing in the
warehouse points at an in-memory object or at files that may move). Only the Parquet files a
Delta table gained since the last hand-over are read, so one new day of data costs one day of
work. Every row handed over is stamped with `_handover_seq`, a number that grows with each
build; dbt's incremental models take the rows with a higher number than they have seen. (Ingest
time would not do: two ingest runs can commit in the opposite order of their clocks.)
Files that compaction (OPTIMIZE) wrote in place of files already handed over hold the same rows
and are not read again; if files disappeared any other way (delete, overwrite) the table is
reloaded whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError, TableNotFoundError

from orchestration.ingest.bronze_schemas import CONTENT_SCHEMAS, REGISTRY_SCHEMAS, bronze_schema
from orchestration.lakehouse.bronze import INGEST_LOG_SCHEMA, LOG_TABLE, REJECTIONS_SCHEMA, REJECTIONS_TABLE

STATE_TABLE = "bronze._handover_state"

# Every bronze Delta table the warehouse receives, with the shape it has when still empty.
BRONZE_TABLES: dict[str, pa.Schema] = {
    **{name: bronze_schema(name) for name in CONTENT_SCHEMAS},
    **REGISTRY_SCHEMAS,
    REJECTIONS_TABLE: REJECTIONS_SCHEMA,
    LOG_TABLE: INGEST_LOG_SCHEMA,
}


@dataclass(frozen=True)
class HandoverResult:
    table: str
    delta_version: int | None
    files_read: int
    rows_added: int
    full_reload: bool


def hand_over_bronze(warehouse_file: Path, bronze_root: Path) -> list[HandoverResult]:
    """Bring every bronze table of the warehouse file up to date with the lake."""
    con = duckdb.connect(str(warehouse_file))
    try:
        seq = next_handover_seq(con)
        return [hand_over(con, name, bronze_root / name, schema, seq) for name, schema in BRONZE_TABLES.items()]
    finally:
        con.close()


def next_handover_seq(con: duckdb.DuckDBPyConnection) -> int:
    _ensure_state(con)
    return _first(con, f"select coalesce(max(handover_seq), 0) + 1 from {STATE_TABLE}")[0]


def _ensure_state(con) -> None:
    con.execute("create schema if not exists bronze")
    con.execute(
        f"create table if not exists {STATE_TABLE} (table_name varchar primary key, delta_version bigint, "
        "files varchar[], handover_seq bigint, handed_over_at timestamptz default current_timestamp)"
    )


def hand_over(
    con: duckdb.DuckDBPyConnection, name: str, delta_path: Path, empty_schema: pa.Schema, seq: int
) -> HandoverResult:
    """Bring `bronze.<name>` in the warehouse up to the Delta table's current version."""
    _ensure_state(con)
    target = f"bronze.{name}"
    try:
        delta = DeltaTable(str(delta_path))
    except TableNotFoundError:
        _create_empty(con, target, empty_schema)
        return HandoverResult(name, None, 0, 0, False)

    version = delta.version()
    files = sorted(delta.get_add_actions(flatten=True).column("path").to_pylist())
    state = _first(con, f"select delta_version, files from {STATE_TABLE} where table_name = ?", [name])
    table_exists = _exists(con, target)
    if state is not None and state[0] == version and table_exists:
        return HandoverResult(name, version, 0, 0, False)

    previous = set(state[1]) if state is not None and table_exists else set()
    full_reload = not previous.issubset(files)
    if full_reload and state[0] is not None:
        compacted = _after_compaction(delta_path, state[0], version, previous)
        if compacted is not None:
            previous, full_reload = compacted, False
    new_files = files if full_reload else [f for f in files if f not in previous]

    if full_reload or not table_exists:
        con.execute(f"drop table if exists {target}")
        _create_empty(con, target, empty_schema)
    rows_added = 0
    if new_files:
        # Partition values live in the folder names; company ids like "0042" must stay text.
        partitioned = bool(delta.metadata().partition_columns)
        scan = (
            "select * from read_parquet(?, hive_partitioning = true, union_by_name = true, "
            "hive_types = {'company_id': varchar})"
            if partitioned else "select * from read_parquet(?, hive_partitioning = false, union_by_name = true)"
        )
        paths = [str(delta_path / f) for f in new_files]
        _add_missing_columns(con, target, con.execute(f"describe {scan}", [paths]).fetchall())
        before = _first(con, f"select count(*) from {target}")[0]
        con.execute(f"insert into {target} by name select *, ? as _handover_seq from ({scan})", [seq, paths])
        rows_added = _first(con, f"select count(*) from {target}")[0] - before
    con.execute(
        f"insert or replace into {STATE_TABLE} (table_name, delta_version, files, handover_seq) "
        "values (?, ?, ?, ?)",
        [name, version, files, seq],
    )
    return HandoverResult(name, version, len(new_files), rows_added, full_reload)


def _after_compaction(delta_path: Path, since: int, version: int, handed_over: set[str]) -> set[str] | None:
    """The files holding the rows of `handed_over` after the commits since version `since`, when
    every file that disappeared was rewritten by OPTIMIZE from handed-over files only (same rows,
    new files); None when rows may have been deleted or changed, or the history is gone."""
    def paths(at: int) -> set[str]:
        return set(DeltaTable(str(delta_path), version=at).get_add_actions(flatten=True).column("path").to_pylist())

    try:
        operations = {entry["version"]: entry.get("operation") for entry in DeltaTable(str(delta_path)).history()}
        # the state of the last hand-over recorded version `since`'s files: no need to load it again
        known, before = set(handed_over), set(handed_over)
        for at in range(since + 1, version + 1):
            after = paths(at)
            removed = before - after
            if removed:
                if operations.get(at) != "OPTIMIZE" or not removed <= known:
                    return None
                known = (known - removed) | (after - before)
            before = after
    except (DeltaError, OSError):  # log entries cleaned up or unreadable: reloading whole is always correct
        return None
    return known


def _exists(con, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return bool(_first(
        con, "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table])[0])


def _first(con, sql: str, params=None):
    # fetchall, not fetchone: DuckDB 2 refuses new work on a connection with an unfinished result.
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def _create_empty(con, target: str, schema: pa.Schema) -> None:
    if _exists(con, target):
        return
    empty = schema.append(pa.field("_handover_seq", pa.int64())).empty_table()
    con.register("_empty_bronze", empty)
    con.execute(f"create table {target} as select * from _empty_bronze")
    con.unregister("_empty_bronze")


def _add_missing_columns(con, target: str, incoming: list[tuple]) -> None:
    # Delta schema evolution (a column added to bronze) becomes a new column here too.
    existing = {row[0] for row in con.execute(f"select column_name from (describe {target})").fetchall()}
    for column, type_, *_ in incoming:
        if column not in existing:
            con.execute(f'alter table {target} add column "{column}" {type_}')
