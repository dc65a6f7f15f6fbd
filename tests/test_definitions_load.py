"""Loading the definitions is safe for every process that does it: run workers started at once,
`dagster dev`, and an environment whose PATH does not hold the virtualenv."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT
from orchestration.warehouse.dbt_project import manifest_is_current, warehouse_dbt_project

LOAD = "from orchestration.definitions import defs; d = defs(); print(len(d.resolve_asset_graph().get_all_asset_keys()))"


def _touch_project() -> None:
    """Make the project look changed since the last parse (content unchanged)."""
    later = time.time() + 1
    os.utime(DBT_PROJECT_DIR / "dbt_project.yml", (later, later))


def _load_in_subprocess(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", LOAD], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_run_workers_loading_at_once_under_dagster_dev_parse_once_without_lock_errors():
    _touch_project()
    env = {**os.environ, "DAGSTER_IS_DEV_CLI": "1"}
    workers = [_load_in_subprocess(env) for _ in range(4)]
    outcomes = [(w.wait(timeout=300), *w.communicate()) for w in workers]
    for code, out, err in outcomes:
        assert code == 0, err[-2000:]
        assert "lock" not in err.lower(), err[-2000:]
        assert int(out.strip().splitlines()[-1]) > 50
    assert manifest_is_current()
    # a second wave finds the manifest current and does not parse again
    parsed_at = warehouse_dbt_project.manifest_path.stat().st_mtime
    second = _load_in_subprocess(env)
    assert second.wait(timeout=300) == 0, second.communicate()[1][-2000:]
    assert warehouse_dbt_project.manifest_path.stat().st_mtime == parsed_at


def test_definitions_load_with_only_system_folders_on_path():
    _touch_project()
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    env.pop("VIRTUAL_ENV", None)
    loader = _load_in_subprocess(env)
    code = loader.wait(timeout=300)
    assert code == 0, loader.communicate()[1][-2000:]
    assert manifest_is_current()


def test_files_dbt_writes_into_the_project_are_not_changes_to_it():
    assert manifest_is_current()
    user_yml = DBT_PROJECT_DIR / ".user.yml"
    existed = user_yml.exists()
    if not existed:
        user_yml.write_text("id: test\n", encoding="utf-8")
    later = time.time() + 1
    os.utime(user_yml, (later, later))
    try:
        assert manifest_is_current()
    finally:
        if not existed:
            user_yml.unlink()
