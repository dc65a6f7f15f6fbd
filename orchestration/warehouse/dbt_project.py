"""The dbt project as Dagster sees it.

The manifest is parsed at most once per change of the project, by one process: every Dagster
run worker loads these definitions, and under `dagster dev` dagster-dbt's default preparer
re-parses on every load, so nine ingest runs started at once raced for dbt's own file lock and
failed before their first step. Here a process parses only when the project's own files are
newer than the manifest, under a cross-process lock, and the other processes wait for it and
reuse its result.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
from functools import lru_cache
from pathlib import Path

from dagster_dbt import DagsterDbtProjectPreparer, DbtProject

from orchestration.settings import DBT_PROJECT_DIR

PROJECT_FILE_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md"}
# dbt's own output; target/ alone holds thousands of compiled files, not worth a look on every load
NOT_PROJECT_DIRS = {"target", "logs", "dbt_packages"}
# files dbt writes into the project folder itself; they are not changes to the project
DBT_WRITES = {".user.yml", "package-lock.yml"}


def dbt_executable() -> str:
    """The dbt installed next to this Python (the project's virtualenv), so a build works even when
    the environment is not activated on PATH (cron, a bare `.venv/bin/python`, `dagster dev`
    started from another environment)."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def parsed_manifest(manifest_path: Path) -> dict:
    """The manifest's JSON, parsed once per version of the file: a build's preparation reads it
    twice (stale models, unchanged nodes), a process may build many times, and each parse takes a
    tenth of a second. Callers read it and leave it as it is."""
    stat = Path(manifest_path).stat()
    return _parsed_manifest(str(manifest_path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=2)
def _parsed_manifest(manifest_path: str, _mtime_ns: int, _size: int) -> dict:
    return json.loads(Path(manifest_path).read_text(encoding="utf-8"))


def project_files(project_dir: Path):
    for folder, subfolders, names in os.walk(project_dir):
        subfolders[:] = [d for d in subfolders if d not in NOT_PROJECT_DIRS and not d.startswith(".")]
        for name in names:
            if Path(name).suffix in PROJECT_FILE_SUFFIXES and name not in DBT_WRITES and not name.startswith("."):
                yield Path(folder) / name


class OncePerChangePreparer(DagsterDbtProjectPreparer):
    """Parse when the project changed since the manifest was written, by one process at a time,
    with the dbt beside this interpreter; otherwise (`dagster dev` included) reuse the manifest."""

    def manifest_is_current(self, project: DbtProject) -> bool:
        manifest = project.manifest_path
        if not manifest.exists():
            return False
        parsed = manifest.stat().st_mtime
        return all(path.stat().st_mtime <= parsed for path in project_files(Path(project.project_dir)))

    def prepare(self, project: DbtProject) -> None:
        if self.manifest_is_current(project):
            return
        target = Path(project.project_dir) / project.target_path
        target.mkdir(parents=True, exist_ok=True)
        with open(target / ".prepare.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait here, then find the manifest current
            try:
                if not self.manifest_is_current(project):
                    self._prepare_manifest(project)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _prepare_manifest(self, project: DbtProject) -> None:
        from dagster_dbt import DbtCliResource

        DbtCliResource(project_dir=project, dbt_executable=dbt_executable()).cli(
            ["parse", "--quiet"], target_path=project.target_path).wait()
        self._invalidate_seeds_in_partial_parse(project)


warehouse_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# DbtProject takes no preparer of our own, and nothing but this module asks it to prepare: so the
# project's own `prepare_if_dev` (a re-parse on every load under `dagster dev`) is never called.
preparer = OncePerChangePreparer()
preparer.prepare(warehouse_dbt_project)


def manifest_is_current() -> bool:
    """Whether target/manifest.json was parsed after the last change to the project's files."""
    return preparer.manifest_is_current(warehouse_dbt_project)


def dbt_target_path(warehouse) -> Path:
    """dbt's target folder for builds of one warehouse (an `orchestration.warehouse.ducklake.
    Warehouse`), kept beside its SQLite catalog (or under the lake for a PostgreSQL one) between
    builds: dbt's partial parsing then survives from one build to the next, which saves a full
    parse on every build. The folder starts from the project's own parse (`seed_partial_parse`)."""
    from orchestration.settings import lake_root

    folder = warehouse.catalog_file.parent if warehouse.catalog_file is not None else lake_root() / "warehouse"
    target = folder / ".dbt-target"
    seed_partial_parse(target)
    return target


def seed_partial_parse(target: Path) -> bool:
    """Give a new target folder the project's saved parse, so the first build of a new warehouse
    parses only what differs (a full parse of the project is about 3 s). dbt checks the copy as it
    checks its own: the project's files, the profile (which names no warehouse, see
    orchestration/warehouse/profile_plugin.py), the variables and dbt's version; anything else
    makes it parse in full, as it would have. Whether a copy was made."""
    saved = Path(warehouse_dbt_project.project_dir) / warehouse_dbt_project.target_path / "partial_parse.msgpack"
    mine = target / "partial_parse.msgpack"
    if mine.exists() or not saved.exists() or not manifest_is_current():
        return False
    target.mkdir(parents=True, exist_ok=True)
    partial = mine.with_name(f".{mine.name}.{os.getpid()}")  # two first builds at once each copy whole
    shutil.copyfile(saved, partial)
    os.replace(partial, mine)
    return True

