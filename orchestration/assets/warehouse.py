"""Stage 2: bronze -> the regional manufacturing warehouse (dbt on DuckDB).

Each build hands new bronze rows over to a private copy of the warehouse, runs `dbt build` on
it (models + tests, tests arriving in Dagster as asset checks) and publishes the copy only if
the build succeeded: analysts keep querying the previous warehouse meanwhile, and a failing
error-severity test never reaches them or the KPI assets downstream.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.process_lifetime import bind_to_run
from orchestration.resources import LakeResource, WarehouseResource
from orchestration.warehouse.bronze_handover import hand_over_bronze
from orchestration.warehouse.build import WarehouseBuildFailed, failed_nodes
from orchestration.warehouse.dbt_project import dbt_target_path, warehouse_dbt_project
from orchestration.warehouse.environment import environment
from orchestration.warehouse.isolation import build_isolated, failed_offences, hold_back, reoffer_held
from orchestration.warehouse.stale_models import build_args, stale_incremental_models

LAYER_GROUPS = {"staging": "warehouse_staging", "intermediate": "warehouse_intermediate", "marts": "warehouse_marts",
                "features": "features"}


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


class WarehouseBuildConfig(dg.Config):
    full_refresh: bool = Field(
        default=False,
        description="Rebuild every incremental fact from all of bronze and run every test on all rows "
        "(a normal build takes only the new hand-over and tests the newest batch).")


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=warehouse_dbt_project.manifest_path,
    project=warehouse_dbt_project,
    dagster_dbt_translator=translator,
    exclude="tag:programme_kpis",  # the KPI marts: orchestration/assets/kpis.py, after quality and AI
    pool="warehouse",
)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource,
                     warehouse: WarehouseResource, config: WarehouseBuildConfig):
    bind_to_run()  # a killed run worker takes this step and its dbt child with it
    target = dbt_target_path(warehouse.path)

    def attempt(held: dict) -> list:
        with warehouse.file.rebuild() as build:
            handed_over = hand_over_bronze(build, lake.bronze)
            context.log.info("bronze hand-over: " + (", ".join(
                f"{r.table} +{r.rows_added} rows from {r.files_read} file(s)" for r in handed_over if r.files_read)
                or "nothing new"))
            reoffer_held(build, lake.bronze)
            hold_back(build, held)
            stale = stale_incremental_models(build, warehouse_dbt_project.manifest_path)
            if stale:
                context.log.warning(f"{', '.join(stale)}: the table predates the model's columns; rebuilding in full")
            args = build_args(stale, full_refresh=config.full_refresh)
            with environment(WAREHOUSE_PATH=str(build)):
                invocation = dbt.cli(args, context=context, target_path=target, raise_on_error=False)
                # held until the attempt publishes: a retry without a held company re-emits every event
                events = list(invocation.stream())
            if not invocation.is_successful():
                results = invocation.get_artifact("run_results.json")
                failure = WarehouseBuildFailed(failed_nodes(results))
                failure.offences = failed_offences(build, results, invocation.get_artifact("manifest.json"))
                failure.events = events
                raise failure
        return events

    try:
        built = build_isolated(attempt, lambda error: getattr(error, "offences", []), context.log.warning)
    except WarehouseBuildFailed as failure:
        yield from failure.events
        raise dg.Failure(description=f"warehouse not published (the previous one stays): {failure}") from None
    yield from built.outcome
    if built.held:
        context.log.warning(built.summary())
    context.log.info(f"published warehouse {warehouse.path}")
