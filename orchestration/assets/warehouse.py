"""Stage 2: bronze -> the regional manufacturing warehouse (dbt on DuckDB).

Each build hands new bronze rows over to a private copy of the warehouse, runs `dbt build` on
it (models + tests, tests arriving in Dagster as asset checks) and publishes the copy only if
the build succeeded: analysts keep querying the previous warehouse meanwhile, and a failing
error-severity test never reaches them or the KPI assets downstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.ingest.bronze_schemas import CONTENT_SCHEMAS, REGISTRY_SCHEMAS, bronze_schema
from orchestration.lakehouse.bronze import INGEST_LOG_SCHEMA, LOG_TABLE, REJECTIONS_SCHEMA, REJECTIONS_TABLE
from orchestration.resources import LakeResource, WarehouseResource
from orchestration.warehouse.bronze_handover import hand_over, next_handover_seq
from orchestration.warehouse.dbt_project import warehouse_dbt_project
from orchestration.warehouse.environment import environment

BRONZE_TABLES = {
    **{name: bronze_schema(name) for name in CONTENT_SCHEMAS},
    **REGISTRY_SCHEMAS,
    REJECTIONS_TABLE: REJECTIONS_SCHEMA,
    LOG_TABLE: INGEST_LOG_SCHEMA,
}

LAYER_GROUPS = {"staging": "warehouse_staging", "intermediate": "warehouse_intermediate", "marts": "warehouse_marts"}


class WarehouseTranslator(DagsterDbtTranslator):
    """dbt models appear as `warehouse/<model>`, grouped by layer; sources map to bronze assets
    through their `meta.dagster.asset_key`."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey(["warehouse", dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference_data"
        fqn = dbt_resource_props.get("fqn", [])
        for layer, group in LAYER_GROUPS.items():
            if layer in fqn:
                return group
        return "warehouse"

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        # Rebuild as soon as new bronze data has landed; the `warehouse` pool keeps it to one build.
        return dg.AutomationCondition.eager()


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def hand_over_bronze(warehouse_file: str, lake: LakeResource) -> dict[str, dict]:
    con = duckdb.connect(warehouse_file)
    try:
        seq = next_handover_seq(con)
        results = {name: hand_over(con, name, lake.bronze / name, schema, seq) for name, schema in BRONZE_TABLES.items()}
    finally:
        con.close()
    return {name: {"files": r.files_read, "rows": r.rows_added, "full_reload": r.full_reload}
            for name, r in results.items()}


@dbt_assets(
    manifest=warehouse_dbt_project.manifest_path,
    project=warehouse_dbt_project,
    dagster_dbt_translator=translator,
    pool="warehouse",
)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource,
                     warehouse: WarehouseResource):
    with warehouse.file.rebuild() as build:
        handed_over = hand_over_bronze(str(build), lake)
        context.log.info("bronze hand-over: " + ", ".join(
            f"{name} +{r['rows']} rows from {r['files']} file(s)" for name, r in handed_over.items() if r["files"]))
        with environment(WAREHOUSE_PATH=str(build)):
            yield from dbt.cli(["build"], context=context).stream()
    context.log.info(f"published warehouse {warehouse.path}")
