"""One warehouse build: `dbt build` into the DuckLake, reading bronze in place, then publish.

The Dagster asset (orchestration/assets/warehouse.py) and `build_warehouse` here (scripts,
benchmarks, tests, the migration command) take the same steps:
1. make sure every bronze Delta table exists (an empty one for a dataset nobody sent yet) and that
   the warehouse's `bronze.*` views point at them;
2. `dbt build` with the warehouse settings in the environment (the profile reads them): every
   model commits its own DuckLake transaction;
3. when dbt succeeded, publish: readers move to the new snapshot. A failed build publishes
   nothing, so readers keep the previous snapshot and never see a failing test's rows.

`build_warehouse` runs dbt in this process through dbt's own programmatic runner rather than as a
subprocess behind dagster-dbt: outside Dagster nobody consumes asset events, and a subprocess start
plus dagster-dbt's version probe and adapter set-up cost 15-20 s per build, more than a day's
incremental work.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.lakehouse.bronze import LOG_TABLE
from orchestration.warehouse.bronze_sources import (create_bronze_views, ensure_bronze_tables, record_bronze_columns,
                                                    record_new_bronze_rows)
from orchestration.warehouse.changed_inputs import (WAREHOUSE_WRITER, BuildInputs, bronze_shape_digest, inputs_now,
                                                    last_published_inputs, recorded, superseded_digest,
                                                    unchanged_since)
from orchestration.warehouse.connection import extension_directory
from orchestration.warehouse.dbt_project import dbt_target_path, warehouse_dbt_project
from orchestration.warehouse.ducklake import Warehouse, latest_snapshot_of, nothing_unpublished, published_snapshot_of
from orchestration.warehouse.environment import environment
from orchestration.warehouse.isolation import (IsolatedBuild, build_isolated, failed_offences,
                                               hold_back, read_json, release_fixed_holds)
from orchestration.warehouse.stale_models import build_args, incremental_models, stale_incremental_models


class WarehouseBuildFailed(RuntimeError):
    """dbt build failed; the published warehouse was left as it was."""


@dataclass(frozen=True)
class BuildPlan:
    bronze_versions: dict[str, int]  # the Delta version of every bronze table when the build began
    stale_models: list[str]
    env: dict[str, str] = field(default_factory=dict)  # what dbt's profile reads
    restored_after_failure: list[str] = field(default_factory=list)
    holds_released: int = 0  # held batches that left bronze since the last build (fixed and re-ingested)
    retracted_since_last_build: bool = False  # a landing file was retracted: the facts are rebuilt in full
    inputs: BuildInputs | None = None  # what this build reads (recorded with its publication)
    # the nodes nothing changed for since the last published build of the whole warehouse
    # (orchestration/warehouse/changed_inputs.py), left out of the build; None: build everything
    unchanged: list[str] | None = None


@dataclass(frozen=True)
class BuildResult:
    snapshot_id: int  # the published DuckLake snapshot
    plan: BuildPlan
    dbt_args: list[str]
    results: list


def dbt_environment(warehouse: Warehouse, bronze_root: str | Path) -> dict[str, str]:
    """What dbt's profile reads, for this warehouse and bronze lake (folders made, so a first
    build can create the catalog)."""
    if warehouse.catalog_file is not None:
        warehouse.catalog_file.parent.mkdir(parents=True, exist_ok=True)
    if "://" not in warehouse.data_path:
        Path(warehouse.data_path).mkdir(parents=True, exist_ok=True)
    return {
        "WAREHOUSE_CATALOG": warehouse.catalog,
        "WAREHOUSE_DATA_PATH": warehouse.data_path,
        "BRONZE_ROOT": str(bronze_root) if "://" in str(bronze_root) else str(Path(bronze_root).resolve()),
        "DUCKDB_EXTENSION_DIR": str(extension_directory()),
    }


def prepare_build(warehouse: Warehouse, bronze_root: str | Path) -> BuildPlan:
    """Steps before dbt: bronze tables and views in place, the incremental models back where the
    published snapshot has them if a build failed since, stale incremental models found."""
    tables = ensure_bronze_tables(bronze_root)
    versions = {name: table.version for name, table in tables.items()}
    env = dbt_environment(warehouse, bronze_root)
    con = warehouse.connect_writer()
    try:
        use_zstd(con)
        con.execute("begin")
        create_bronze_views(con, bronze_root)
        record_bronze_columns(con, tables)
        released = release_fixed_holds(con)
        after_failure = unpublished_commits(con)
        restored = restore_failed_build(con, warehouse_dbt_project.manifest_path) if after_failure else []
        record_new_bronze_rows(con, bronze_root, versions)
        con.execute("commit")
        stale = stale_incremental_models(con, warehouse_dbt_project.manifest_path)
        retracted = retracted_since_last_load(con)
        shape = bronze_shape_digest(env["BRONZE_ROOT"], {name: table.columns for name, table in tables.items()})
        inputs = inputs_now(con, warehouse_dbt_project.project_dir, versions, shape,
                            superseded_digest(con, tables[LOG_TABLE].columns))
        # a failed or killed build may have left any table half done (a seed dropped, not yet
        # re-created): the build after it builds everything, not only what changed
        unchanged = None if after_failure else unchanged_since(warehouse_dbt_project.manifest_path,
                                                               last_published_inputs(con), inputs)
    finally:
        con.close()
    return BuildPlan(versions, stale, env, restored, released, retracted, inputs, unchanged)


def retracted_since_last_load(con) -> bool:
    """Whether a landing file (or one version of it) was retracted after the last load of the
    sensor facts. Its readings are in the incremental facts, and the version before it may be
    current again: an incremental build cannot take readings back, a full one rebuilds them from
    what bronze holds now. Retractions are an operator's rare act, so the cost is rare too."""
    try:
        last_load = con.execute("select max(loaded_at) from intermediate.int_sensor_reading_batches").fetchall()[0][0]
        retracted = con.execute("select max(ingested_at) from bronze.ingest_log where status = 'retracted'"
                                ).fetchall()[0][0]
    except duckdb.Error:  # nothing built yet, or no ledger yet
        return False
    return last_load is not None and retracted is not None and retracted > last_load


def use_zstd(con) -> None:
    """The DuckLake writes its Parquet files with zstd (its default, snappy, leaves the facts' md5
    keys and text columns half again as large); set once, kept in the catalog."""
    codec = con.execute("select value from ducklake_options('warehouse') where option_name = 'parquet_compression'"
                        ).fetchall()
    if not codec or codec[0][0] != "zstd":
        con.execute("call warehouse.set_option('parquet_compression', 'zstd')")


def unpublished_commits(con) -> bool:
    """Whether the warehouse has commits newer than its published snapshot: a build failed or was
    killed since the last publication."""
    published = published_snapshot_of(con)
    return not (published == latest_snapshot_of(con) or (published is None and nothing_unpublished(con)))


def restore_failed_build(con, manifest_path: Path) -> list[str]:
    """After a failed build (commits newer than the published snapshot), put every incremental
    model's table back as the published snapshot has it, so the batches that build took are taken
    again - once the data is fixed - and its rows never become part of the history. Tables dbt
    rebuilds whole need nothing: the build after a failure builds them all again (prepare_build).
    Returns the tables restored."""
    published = published_snapshot_of(con)
    restored = []
    for node in incremental_models(manifest_path):
        table = f"{node['schema']}.{node['alias']}"
        try:
            if published is None:
                raise duckdb.CatalogException("nothing published yet")
            con.execute(f"select 1 from {table} at (version => {published}) limit 0")
        except duckdb.Error:  # not built yet when the warehouse was last published
            con.execute(f"drop table if exists {table}")
            continue
        con.execute(f"create or replace table {table} as select * from {table} at (version => {published})")
        restored.append(table)
    return restored


def publish_build(warehouse: Warehouse, plan: BuildPlan, dbt_args: list[str], *, whole: bool = False,
                  partial: str | None = None) -> int:
    """Publish what dbt committed. A build of the whole warehouse (everything, or what changed since
    the last such build) records its inputs, so the next one can leave the rest alone; `partial`
    names a build of part of the project (e.g. "programme_kpis")."""
    con = warehouse.connect_writer()
    try:
        return warehouse.publish(con, WAREHOUSE_WRITER, {
            "dbt_args": dbt_args, "bronze_versions": plan.bronze_versions,
            "inputs": recorded(plan.inputs) if whole else None, "partial": partial})
    finally:
        con.close()


def build_warehouse(warehouse: Warehouse, bronze_root: str | Path, dbt_args: list[str] | None = None, *,
                    progress: bool = False) -> BuildResult:
    """Build the warehouse from bronze and publish it. Without explicit `dbt_args`, an
    incremental model whose table predates its contract makes it a full rebuild. A company whose
    rows fail an error-severity test is held back and the others are published
    (`build_warehouse_isolated` says who). `progress`: dbt prints each node on stdout."""
    return build_warehouse_isolated(warehouse, bronze_root, dbt_args, progress=progress).outcome


def build_warehouse_isolated(warehouse: Warehouse, bronze_root: str | Path,
                             dbt_args: list[str] | None = None, log=print, *, progress: bool = False) -> IsolatedBuild:
    target = dbt_target_path(warehouse)

    def attempt(_held) -> BuildResult:
        plan = prepare_build(warehouse, bronze_root)
        args = dbt_args if dbt_args is not None else build_args(
            plan.stale_models, full_refresh=plan.retracted_since_last_build, unchanged=plan.unchanged)
        try:
            with environment(**plan.env):
                results = run_dbt(args, target_path=target, progress=progress)
        except WarehouseBuildFailed as failure:
            failure.offences = offences_of_failed_build(warehouse, target)
            raise
        return BuildResult(publish_build(warehouse, plan, args, whole=dbt_args is None), plan, args, results)

    with warehouse.writer_lock():
        return build_isolated(attempt, lambda error: getattr(error, "offences", []),
                              lambda offences: hold(warehouse, offences), log)


def offences_of_failed_build(warehouse: Warehouse, target: Path) -> list:
    """The companies' rows behind a failed build's error tests, read at the failed build's own
    (unpublished) snapshot."""
    try:
        run_results, manifest = read_json(target / "run_results.json"), read_json(target / "manifest.json")
    except (OSError, ValueError):
        return []
    con = warehouse.connect_writer()
    try:
        return failed_offences(con, run_results, manifest)
    finally:
        con.close()


def hold(warehouse: Warehouse, offences: list) -> int:
    """Record the offending companies' batches as held (the next attempt leaves them out)."""
    by_company: dict = {}
    for offence in offences:
        by_company.setdefault(offence.company_id, []).append(offence)
    con = warehouse.connect_writer()
    try:
        return hold_back(con, by_company)
    finally:
        con.close()


def run_dbt(args: list[str], *, target_path: Path, progress: bool = False) -> list:
    """Run one dbt command on the warehouse project; raise with the failed nodes named.

    A build writes no JSON artifacts (`--no-write-json`): serialising the manifest twice and the
    run results took about half a second of every build, and nothing reads them after a build
    that succeeded. A failed one writes what the search for its offending companies reads
    (`offences_of_failed_build`): its run results and the project's manifest.
    dbt's node-by-node lines go to stdout only with `progress` (a person waiting on a rebuild):
    dbt formats and scrubs every event for each logger it has before the level filter drops it,
    about 0.5 s of a daily build for lines nobody reads. Its debug log beside the target keeps
    every statement either way."""
    from dbt.cli.main import dbtRunner

    project = str(warehouse_dbt_project.project_dir)
    run_results = Path(target_path) / "run_results.json"
    run_results.unlink(missing_ok=True)  # an earlier build's results must not be taken for this one's
    try:
        # the log beside the target: the one a failure names, and one per warehouse, not a file
        # that every process building some warehouse appends to and rotates
        outcome = dbtRunner().invoke([*args, "--no-write-json", "--project-dir", project, "--profiles-dir", project,
                                      "--target-path", str(target_path), "--log-path", str(target_path),
                                      *([] if progress else ["--log-level", "none", "--log-level-file", "debug"])])
    finally:
        _close_duckdb_environment()
    results = list(getattr(outcome.result, "results", None) or [])
    if not outcome.success:
        write_failure_artifacts(outcome.result, Path(target_path))
        failed = [f"{r.node.unique_id}: {r.status} {r.message or ''}".strip() for r in results
                  if str(r.status) in ("error", "fail", "runtime error")]
        detail = "; ".join(failed[:10]) or repr(outcome.exception)
        raise WarehouseBuildFailed(f"dbt {' '.join(args)} failed: {detail} (log: {target_path / 'dbt.log'})")
    return results


def write_failure_artifacts(result, target_path: Path) -> None:
    """The run results of a failed build, and the manifest they refer to, where dbt would have
    written them (the project's manifest: the same nodes, parsed once per change of the project)."""
    target_path.mkdir(parents=True, exist_ok=True)
    if hasattr(result, "write"):
        result.write(str(target_path / "run_results.json"))
    shutil.copyfile(warehouse_dbt_project.manifest_path, target_path / "manifest.json")


def _close_duckdb_environment() -> None:
    """dbt-duckdb keeps its database (and the DuckLake attached to it) open in a class attribute
    between in-process invocations. Close it, so each build attaches afresh and a process that
    builds several warehouses (tests, benchmarks) never writes one through another's handle."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None
