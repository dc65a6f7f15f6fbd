"""Weekly upkeep, as a job operators can also launch by hand from the UI: the bronze Delta tables
(compaction and vacuum) and the warehouse DuckLake (file merging, snapshot expiry, cleanup; a
pinned snapshot - a training set's, a report's - is never expired)."""

import dagster as dg

from orchestration.lakehouse.maintenance import upkeep_bronze
from orchestration.resources import LakeResource, WarehouseResource
from orchestration.warehouse.snapshots import RETENTION_DAYS, upkeep_warehouse


@dg.op(description="Compact every bronze Delta table's small files and vacuum files older than the retention.")
def compact_bronze_tables(context: dg.OpExecutionContext, lake: LakeResource) -> None:
    upkept = upkeep_bronze(lake.bronze_lake())
    for table in upkept:
        context.log.info(f"bronze/{table.table}: {table.files_before} -> {table.files_after} files, "
                         f"{table.files_vacuumed} old file(s) deleted")
    context.add_output_metadata({
        "tables": len(upkept),
        "files_before": sum(t.files_before for t in upkept),
        "files_after": sum(t.files_after for t in upkept),
        "files_vacuumed": sum(t.files_vacuumed for t in upkept),
        "per_table": dg.MetadataValue.md("\n".join(
            ["| table | files before | after | vacuumed |", "|---|---|---|---|"]
            + [f"| {t.table} | {t.files_before} | {t.files_after} | {t.files_vacuumed} |" for t in upkept])),
    })


@dg.op(pool="warehouse", description=f"Merge the warehouse DuckLake's small files, expire snapshots older than "
       f"{RETENTION_DAYS} days that no training set or report pinned, and delete the files nothing needs any more.")
def upkeep_warehouse_lake(context: dg.OpExecutionContext, warehouse: WarehouseResource) -> None:
    if not warehouse.lake.exists():
        context.log.info("no warehouse yet: nothing to upkeep")
        return
    done = upkeep_warehouse(warehouse.lake)
    context.log.info(f"warehouse: {done.snapshots_expired} of {done.snapshots_before} snapshot(s) expired "
                     f"({done.snapshots_pinned} pinned), {done.files_merged} file(s) merged away, "
                     f"{done.files_deleted} deleted")
    context.add_output_metadata({
        "snapshots_before": done.snapshots_before,
        "snapshots_expired": done.snapshots_expired,
        "snapshots_pinned": done.snapshots_pinned,
        "files_merged": done.files_merged,
        "files_deleted": done.files_deleted,
        "warehouse_snapshot_id": done.published_snapshot if done.published_snapshot is not None else -1,
    })


@dg.job(description="Weekly upkeep: compact and vacuum the bronze Delta tables, merge the warehouse DuckLake's "
        "files and expire its old unpinned snapshots (the data stays the same; readers get fewer, larger files).")
def bronze_upkeep_job():
    compact_bronze_tables()
    upkeep_warehouse_lake()


weekly_bronze_upkeep_schedule = dg.ScheduleDefinition(
    name="weekly_bronze_upkeep_schedule",
    job=bronze_upkeep_job,
    cron_schedule="0 4 * * 0",
    execution_timezone="Asia/Seoul",
    description="Sundays 04:00 KST, after the nightly warehouse build, when no client files usually arrive.",
)
