"""The dbt project as Dagster sees it."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.settings import DBT_PROJECT_DIR

warehouse_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

PROJECT_FILE_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md"}
# dbt's own output; target/ alone holds thousands of compiled files, not worth a look on every load
NOT_PROJECT_DIRS = {"target", "logs", "dbt_packages"}


def manifest_is_current() -> bool:
    """Whether target/manifest.json was parsed after the last change to the project's files."""
    manifest = warehouse_dbt_project.manifest_path
    if not manifest.exists():
        return False
    parsed = manifest.stat().st_mtime
    for folder, subfolders, names in os.walk(warehouse_dbt_project.project_dir):
        subfolders[:] = [d for d in subfolders if d not in NOT_PROJECT_DIRS]
        for name in names:
            path = Path(folder) / name
            if path.suffix in PROJECT_FILE_SUFFIXES and path.stat().st_mtime > parsed:
                return False
    return True


# `dagster dev` re-parses on every load; elsewhere (the pipeline command, tests, a fresh clone or
# a pull that changed models) parse when the manifest is missing or older than the project, so
# the asset graph never lags the models and loading the definitions never needs a manual step.
if not manifest_is_current():
    warehouse_dbt_project.preparer.prepare(warehouse_dbt_project)
else:
    warehouse_dbt_project.prepare_if_dev()


def dbt_target_path(warehouse: Path) -> Path:
    """dbt's target folder for builds of one warehouse file, kept beside it between builds: dbt's
    partial parsing then survives from one build to the next (it is keyed on the profile, whose
    path is that warehouse's build copy), which saves a full parse on every build."""
    warehouse = Path(warehouse)
    return warehouse.parent / f".{warehouse.stem}.dbt-target"


def dbt_executable() -> str:
    """The dbt installed next to this Python (the project's virtualenv), so a build works even when
    the environment is not activated on PATH (cron, a bare `.venv/bin/python`)."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")
