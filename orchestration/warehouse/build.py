"""One warehouse build outside Dagster (scripts, benchmarks, tests): the same steps as the dbt
asset - hand bronze over to a private copy, `dbt build` it, publish it atomically.

dbt runs in this process through dbt's own programmatic runner rather than as a subprocess
behind dagster-dbt: outside Dagster nobody consumes asset events, and a subprocess start plus
dagster-dbt's version probe and adapter set-up cost 15-20 s per build, more than a day's
incremental work.
"""

from __future__ import annotations

import logging
from pathlib import Path

from orchestration.warehouse.bronze_handover import HandoverResult, hand_over_bronze
from orchestration.warehouse.dbt_project import dbt_target_path, warehouse_dbt_project
from orchestration.warehouse.environment import environment
from orchestration.warehouse.isolation import (IsolatedBuild, build_isolated, failed_offences, hold_back, read_json,
                                              reoffer_held)
from orchestration.warehouse.publish import WarehouseFile
from orchestration.warehouse.stale_models import build_args, stale_incremental_models


log = logging.getLogger(__name__)


class WarehouseBuildFailed(RuntimeError):
    """dbt build failed; the published warehouse was left as it was."""

    offences: list = []  # the company rows behind the failed tests (isolation.Offence), when known


def build_warehouse(warehouse: WarehouseFile, bronze_root: Path, dbt_args: list[str] | None = None) -> list[HandoverResult]:
    """Hand bronze over to a copy of the warehouse, `dbt build` it, publish it. Without explicit
    `dbt_args`, an incremental model whose table predates its contract makes it a full rebuild.
    A company whose new rows fail an error-severity test is held back (isolation.py); the others
    are published."""
    return build_warehouse_isolated(warehouse, bronze_root, dbt_args).outcome


def build_warehouse_isolated(warehouse: WarehouseFile, bronze_root: Path,
                             dbt_args: list[str] | None = None) -> IsolatedBuild:
    target = dbt_target_path(warehouse.path)

    def attempt(held: dict) -> list[HandoverResult]:
        with warehouse.rebuild() as build:
            handed_over = hand_over_bronze(build, bronze_root)
            reoffer_held(build, bronze_root)
            hold_back(build, held)
            args = dbt_args or build_args(stale_incremental_models(build, warehouse_dbt_project.manifest_path))
            try:
                with environment(WAREHOUSE_PATH=str(build)):
                    run_dbt(args, target_path=target)
            except WarehouseBuildFailed as failure:
                failure.offences = failed_offences(build, read_json(target / "run_results.json"),
                                                   read_json(target / "manifest.json"))
                raise
        return handed_over

    built = build_isolated(attempt, lambda error: getattr(error, "offences", []), log.warning)
    if built.held:
        log.warning(built.summary())
    return built


def run_dbt(args: list[str], *, target_path: Path) -> list:
    """Run one dbt command on the warehouse project; raise with the failed nodes named."""
    from dbt.cli.main import dbtRunner

    project = str(warehouse_dbt_project.project_dir)
    try:
        outcome = dbtRunner().invoke([*args, "--project-dir", project, "--profiles-dir", project,
                                      "--target-path", str(target_path)])
    finally:
        _close_duckdb_environment()
    results = list(getattr(outcome.result, "results", None) or [])
    if not outcome.success:
        failed = [f"{r.node.unique_id}: {r.status} {r.message or ''}".strip() for r in results
                  if str(r.status) in ("error", "fail", "runtime error")]
        detail = "; ".join(failed[:10]) or repr(outcome.exception)
        raise WarehouseBuildFailed(f"dbt {' '.join(args)} failed: {detail} (log: {target_path / 'dbt.log'})")
    return results


def failed_nodes(run_results: dict) -> str:
    """The failed nodes of a dbt run_results.json, for an error message."""
    failed = [f"{r['unique_id']}: {r['status']} {r.get('message') or ''}".strip()
              for r in run_results.get("results", []) if r.get("status") in ("error", "fail", "runtime error")]
    return "dbt build failed: " + ("; ".join(failed[:10]) or "see dbt.log")


def _close_duckdb_environment() -> None:
    """dbt-duckdb keeps its database open in a class attribute between in-process invocations,
    keyed on the profile. The build copy keeps its name from one build to the next but is a new
    file each time (the previous one was published by rename), so the old handle must be closed,
    or the next build would write into the published warehouse."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None
