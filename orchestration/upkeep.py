"""Weekly upkeep of the bronze Delta tables (compaction and vacuum), as a job operators can also
launch by hand from the UI."""

import dagster as dg

from orchestration.lakehouse.maintenance import upkeep_bronze
from orchestration.resources import LakeResource


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


@dg.job(description="Compact and vacuum the bronze Delta tables (the data stays the same; readers get fewer, "
        "larger files).")
def bronze_upkeep_job():
    compact_bronze_tables()


weekly_bronze_upkeep_schedule = dg.ScheduleDefinition(
    name="weekly_bronze_upkeep_schedule",
    job=bronze_upkeep_job,
    cron_schedule="0 4 * * 0",
    execution_timezone="Asia/Seoul",
    description="Sundays 04:00 KST, after the nightly warehouse build, when no client files usually arrive.",
)
