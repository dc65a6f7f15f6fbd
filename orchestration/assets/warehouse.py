"""Stage 2: bronze -> the regional manufacturing warehouse (dbt on a DuckLake).

Each build runs `dbt build` (models + tests, tests arriving in Dagster as asset checks) into the
warehouse DuckLake, reading the bronze Delta tables in place, and publishes the resulting
snapshot only if the build succeeded: analysts keep reading the previous snapshot meanwhile, and
a failing error-severity test never reaches them or the KPI assets downstream. Every model's
materialisation carries the published snapshot id (`warehouse_snapshot_id`), which
`AT (VERSION => n)` reads again later.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets

from orchestration.model_row_counts import with_row_counts
from orchestration.process_lifetime import bind_to_run
from orchestration.resources import LakeResource, WarehouseResource
from orchestration.warehouse.build import hold, offences_of_failed_build, prepare_build, publish_build
from orchestration.warehouse.dbt_project import dbt_target_path, warehouse_dbt_project
from orchestration.warehouse.environment import environment
from orchestration.warehouse.isolation import build_isolated
from orchestration.warehouse.stale_models import build_args

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
        "(a normal build takes only the ingest batches not taken yet and tests those).")


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
    yield from build_and_publish(context, dbt, lake, warehouse, None, full_refresh=config.full_refresh)


def build_and_publish(context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource,
                      warehouse: WarehouseResource, args: list[str] | None, *, full_refresh: bool = False,
                      partial: str | None = None):
    """`dbt build` (or `args`) into the warehouse DuckLake, then publish; every materialisation
    carries the published snapshot (`warehouse_snapshot_id`). A company whose rows fail an
    error-severity test is held back (orchestration/warehouse/isolation.py) and the build is made
    again without it, so every other company is published. A failure no company explains
    publishes nothing and yields only its check results: the failing test shows in the UI and
    reaches no reader."""
    ducklake = warehouse.lake
    target = dbt_target_path(ducklake)
    # the whole warehouse: its build may leave alone what did not change (and records its inputs).
    # Not `selected_asset_keys == assets_def.keys`: in a subset run (automation materialising a
    # few models) the assets definition is the subset, and the partial build passed for a whole one
    whole = args is None and partial is None and not context.is_subset
    attempts: list[list] = []  # the events of each attempt; only the published one's are yielded

    def attempt(_held):
        plan = prepare_build(ducklake, lake.bronze)
        if plan.restored_after_failure:
            context.log.warning(f"the last build failed: {', '.join(plan.restored_after_failure)} put back as the "
                                "published snapshot has them")
        if plan.holds_released:
            context.log.info(f"{plan.holds_released} held batch(es) left bronze (fixed and re-ingested): released")
        build = args
        if build is None:
            if plan.stale_models:
                context.log.warning(f"{', '.join(plan.stale_models)}: the table predates the model's columns; "
                                    "rebuilding in full")
            if plan.retracted_since_last_build:
                context.log.info("a landing file was retracted since the last build: the facts are rebuilt in full")
            build = build_args(plan.stale_models, full_refresh=full_refresh or plan.retracted_since_last_build,
                               unchanged=plan.unchanged if whole else None)
        events: list = []
        attempts.append(events)
        try:
            with environment(**plan.env):
                for event in dbt.cli(build, context=context, target_path=target).stream():
                    events.append(event)
        except Exception as failure:
            failure.offences = offences_of_failed_build(ducklake, target)
            raise
        return publish_build(ducklake, plan, build, whole=whole, partial=partial)

    with ducklake.writer_lock():
        try:
            built = build_isolated(attempt, lambda error: getattr(error, "offences", []),
                                   lambda offences: hold(ducklake, offences), context.log.warning)
        except Exception:
            yield from (e for e in (attempts[-1] if attempts else [])
                        if isinstance(e, (dg.AssetCheckResult, dg.AssetCheckEvaluation)))
            raise
    snapshot = built.outcome
    context.log.info(f"published warehouse snapshot {snapshot} ({ducklake.catalog})")
    if built.held:
        context.log.warning(built.summary())
    manifest, _, _ = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    with ducklake.connect_read_only(snapshot) as con:  # the tables as published: their asset pages' row counts
        events = list(with_row_counts(attempts[-1], manifest, con))
    for event in events:
        if isinstance(event, (dg.Output, dg.AssetMaterialization)):
            event = event.with_metadata({**event.metadata, "warehouse_snapshot_id": snapshot})
        yield event
