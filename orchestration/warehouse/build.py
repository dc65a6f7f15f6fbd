"""One warehouse build outside Dagster (benchmarks, scripts): the same steps as the dbt asset."""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtCliResource

from orchestration.warehouse.bronze_handover import HandoverResult, hand_over_bronze
from orchestration.warehouse.dbt_project import warehouse_dbt_project
from orchestration.warehouse.environment import environment
from orchestration.warehouse.publish import WarehouseFile


def build_warehouse(warehouse: WarehouseFile, bronze_root: Path, dbt_args: list[str] | None = None) -> list[HandoverResult]:
    """Hand bronze over to a copy of the warehouse, `dbt build` it, publish it."""
    with warehouse.rebuild() as build:
        handed_over = hand_over_bronze(build, bronze_root)
        with environment(WAREHOUSE_PATH=str(build)):
            DbtCliResource(project_dir=warehouse_dbt_project).cli(dbt_args or ["build"]).wait()
    return handed_over
