"""The dbt project as Dagster sees it."""

from __future__ import annotations

from dagster_dbt import DbtProject

from orchestration.settings import DBT_PROJECT_DIR

warehouse_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# `dagster dev` re-parses on every load; elsewhere (the pipeline command, tests, a fresh clone)
# parse once if no manifest exists yet, so loading the definitions never needs a manual step.
if warehouse_dbt_project.manifest_path.exists():
    warehouse_dbt_project.prepare_if_dev()
else:
    warehouse_dbt_project.preparer.prepare(warehouse_dbt_project)
