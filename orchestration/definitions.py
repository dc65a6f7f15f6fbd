"""The one Dagster code location of the Manufacturing AI Center's lakehouse."""

import gc

# Every run worker, sensor tick and code server imports this module, and most of its start-up was
# the cyclic garbage collector walking, again and again, the hundreds of thousands of objects that
# dagster-dbt, dbt and our own modules create at import — and once more at interpreter exit (about
# 40 % of a no-op ingest run's CPU; bench/run.py runs). They live as long as the process, so collect
# nothing while importing them, then move them into the permanent generation (`gc.freeze`), which
# later collections and the exit skip. What a run creates afterwards is collected as usual.
_collecting = gc.isenabled()
gc.disable()
try:
    import dagster as dg
    from dagster_dbt import DbtCliResource

    from orchestration.alerts import ALERT_SENSORS
    from orchestration.automation import quality_after_warehouse_sensor
    from orchestration.checks import OPERATOR_CHECKS, freshness_check_job, hourly_freshness_schedule
    from orchestration.assets import features, ingest, kpis, ml, quality, warehouse
    from orchestration.assets.kpis import monthly_programme_kpi_schedule, programme_kpi_job
    from orchestration.jobs import (
        ai_solution_job,
        ingest_company_job,
        nightly_warehouse_schedule,
        quality_report_job,
        registry_job,
        warehouse_job,
    )
    from orchestration.resources import LakeResource, WarehouseResource
    from orchestration.sensors import landing_sensor
    from orchestration.upkeep import bronze_upkeep_job, weekly_bronze_upkeep_schedule
    from orchestration.warehouse.dbt_project import dbt_executable, warehouse_dbt_project
finally:
    gc.freeze()
    if _collecting:
        gc.enable()


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=dg.load_assets_from_modules([ingest, warehouse, features, kpis, quality, ml]),
        asset_checks=[*dg.load_asset_checks_from_modules([ingest, warehouse, features, kpis]), *OPERATOR_CHECKS],
        jobs=[registry_job, ingest_company_job, warehouse_job, quality_report_job, ai_solution_job, bronze_upkeep_job,
              freshness_check_job, programme_kpi_job],
        schedules=[nightly_warehouse_schedule, weekly_bronze_upkeep_schedule, hourly_freshness_schedule,
                   monthly_programme_kpi_schedule],
        sensors=[
            landing_sensor,
            quality_after_warehouse_sensor,
            *ALERT_SENSORS,
            dg.AutomationConditionSensorDefinition(
                "automation_sensor", target=dg.AssetSelection.all(), default_status=dg.DefaultSensorStatus.RUNNING
            ),
        ],
        # Steps run in the run's own process: a step subprocess re-imports and re-loads these
        # definitions (seconds each, tens of seconds on a loaded machine) for steps that take well
        # under a second, and the warehouse's assets run one at a time in the `warehouse` pool anyway.
        # Parallelism is across runs (one per company), which the run queue spreads.
        executor=dg.in_process_executor,
        resources={
            "lake": LakeResource(),
            "warehouse": WarehouseResource(),
            "dbt": DbtCliResource(project_dir=warehouse_dbt_project, dbt_executable=dbt_executable()),
        },
    )
