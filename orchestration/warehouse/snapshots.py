"""Reading the warehouse as it was, keeping what must stay readable, and the weekly upkeep.

Every writer's Dagster materialisation records `warehouse_snapshot_id`, the DuckLake snapshot it
published. A training set, a KPI report or a quality report that must be reproducible names that
snapshot and pins it:

    from orchestration.warehouse.snapshots import pin_snapshot, read_at
    pin_snapshot(warehouse, snapshot_id, pinned_by="ml/defect_model v3", reason="training set")
    con = read_at(warehouse, snapshot_id)        # every table as it was at that snapshot
    # or in SQL on any connection: select ... from main.fct_sensor_readings at (version => 1234)

Upkeep (weekly, `upkeep_warehouse`): merge the small Parquet files many small commits leave,
expire snapshots older than the retention, and delete the files no remaining snapshot needs.
A pinned snapshot, the published one and the newest are never expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import duckdb

from orchestration.warehouse.ducklake import ALIAS, Warehouse, _latest, _nothing_unpublished, _published

RETENTION_DAYS = 7
PINS = "meta.pinned_snapshots"


@dataclass(frozen=True)
class WarehouseUpkeep:
    snapshots_before: int
    snapshots_expired: int
    snapshots_pinned: int
    files_merged: int
    files_deleted: int
    published_snapshot: int | None


def read_at(warehouse: Warehouse, snapshot_id: int) -> duckdb.DuckDBPyConnection:
    """A read-only connection where every table reads as it was at `snapshot_id`."""
    return warehouse.connect_read_only(snapshot_id)


def pin_snapshot(warehouse: Warehouse, snapshot_id: int, *, pinned_by: str, reason: str = "") -> int:
    """Keep `snapshot_id` readable for as long as the pin exists (upkeep never expires it)."""
    with warehouse.transaction(f"pin snapshot {snapshot_id} for {pinned_by}") as tx:
        _ensure_pins(tx.con)
        known = tx.con.execute(f"select count(*) from {ALIAS}.snapshots() where snapshot_id = ?",
                               [snapshot_id]).fetchall()[0][0]
        if not known:
            raise ValueError(f"snapshot {snapshot_id} does not exist (expired?) in {warehouse.catalog}")
        tx.con.execute(f"insert into {PINS} values (?, ?, ?, current_timestamp)", [snapshot_id, pinned_by, reason])
    return snapshot_id


def unpin_snapshot(warehouse: Warehouse, snapshot_id: int, *, pinned_by: str) -> None:
    with warehouse.transaction(f"unpin snapshot {snapshot_id} for {pinned_by}") as tx:
        _ensure_pins(tx.con)
        tx.con.execute(f"delete from {PINS} where snapshot_id = ? and pinned_by = ?", [snapshot_id, pinned_by])


def pinned_snapshots(con: duckdb.DuckDBPyConnection) -> set[int]:
    exists = con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                         "and schema_name = 'meta' and table_name = 'pinned_snapshots'").fetchall()[0][0]
    return {s for (s,) in con.execute(f"select distinct snapshot_id from {PINS}").fetchall()} if exists else set()


def upkeep_warehouse(warehouse: Warehouse, *, retention_days: float = RETENTION_DAYS,
                     now: datetime | None = None) -> WarehouseUpkeep:
    """Merge small files, expire old unpinned snapshots, delete unreferenced files."""
    now = now or datetime.now(timezone.utc)
    with warehouse.writer_lock():
        con = warehouse.connect_writer()
        try:
            was_published = _nothing_unpublished(con)
            files_before = _data_files(con)
            con.execute(f"call ducklake_merge_adjacent_files('{ALIAS}')")
            keep = pinned_snapshots(con) | {_latest(con)}
            published = _published(con)
            if published is not None:
                keep.add(published)
            snapshots = con.execute(f"select snapshot_id, snapshot_time from {ALIAS}.snapshots()").fetchall()
            cutoff = now - timedelta(days=retention_days)
            expire = sorted(s for s, at in snapshots if s not in keep and at < cutoff)
            if expire:
                con.execute(f"call ducklake_expire_snapshots('{ALIAS}', versions => ?)", [expire])
            deleted = con.execute(f"call ducklake_cleanup_old_files('{ALIAS}', cleanup_all => true)").fetchall()
            files_after = _data_files(con)
            if was_published:  # merging changed files, not data: what readers saw is still right
                published = warehouse.publish(con, "warehouse upkeep", {"expired": len(expire)})
            return WarehouseUpkeep(len(snapshots), len(expire), len(pinned_snapshots(con)),
                                   max(files_before - files_after, 0), len(deleted), published)
        finally:
            con.close()


def _data_files(con) -> int:
    tables = con.execute("select schema_name, table_name from duckdb_tables() "
                         "where database_name = current_database()").fetchall()
    return sum(con.execute(f"select count(*) from ducklake_list_files('{ALIAS}', ?, schema => ?)",
                           [table, schema]).fetchall()[0][0] for schema, table in tables)


def _ensure_pins(con) -> None:
    con.execute("create schema if not exists meta")
    con.execute(f"create table if not exists {PINS} (snapshot_id bigint, pinned_by varchar, reason varchar, "
                "pinned_at timestamptz)")
