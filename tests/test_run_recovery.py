"""A warehouse run whose worker is SIGKILLed mid-dbt recovers by itself, through a real instance
(the dagster.yaml the project writes) with the real daemon: run monitoring marks the run failed,
the step and its dbt child die with it, the `warehouse` pool slot is freed, and the automatic
retry builds and publishes. Only Dagster's own records are read, not the warehouse's storage."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from orchestration.instance import write_instance_config
from orchestration.lakehouse.landing_to_bronze import ingest_landing
from orchestration.lakehouse.registry import load_registry
from orchestration.run_launcher import process_alive, run_worker_pid

REPO = Path(__file__).resolve().parent.parent
CLIENTS = REPO / "clients"
BIN = Path(sys.executable).parent


def wait_for(what: str, check, timeout: float, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every live descendant of `pid`."""
    parents, commands = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                commands[int(entry)] = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = {}, [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found[child] = commands.get(child, "")
                frontier.append(child)
    return found


@pytest.fixture
def daemon_env(lake, tmp_path):
    companies = [c.company_id for c in load_registry(CLIENTS / "registry.yaml")][:1]
    ingest_landing(lake / "landing", CLIENTS, lake / "bronze", lake / "quarantine", companies=companies)
    shutil.rmtree(lake / "landing")  # nothing for the landing sensor to do
    (lake / "landing").mkdir()
    home = tmp_path / "dagster_home"
    home.mkdir()
    write_instance_config(home, poll_interval_seconds=2, free_slots_seconds=1)
    env = {**os.environ, "DAGSTER_HOME": str(home), "LAKE_ROOT": str(lake), "LANDING_SETTLE_SECONDS": "0"}
    env.pop("WAREHOUSE_CATALOG", None)
    env.pop("WAREHOUSE_DATA_PATH", None)
    for sensor in ("landing_sensor", "automation_sensor"):  # only our run and its retry, please
        subprocess.run([str(BIN / "dagster"), "sensor", "stop", "-w", "workspace.yaml", sensor],
                       cwd=REPO, env=env, check=True, capture_output=True)
    daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        yield env, home
    finally:
        os.killpg(daemon.pid, signal.SIGKILL)  # the daemon, its code server and any run left
        daemon.wait(timeout=30)


def test_sigkilled_warehouse_run_is_failed_its_slot_freed_and_its_retry_publishes(daemon_env):
    env, home = daemon_env
    subprocess.run([str(BIN / "dagster"), "job", "launch", "-w", "workspace.yaml", "-j", "warehouse_job"],
                   cwd=REPO, env=env, check=True, capture_output=True)
    instance = dg.DagsterInstance.from_config(str(home))
    [run] = instance.get_runs(filters=dg.RunsFilter(job_name="warehouse_job"))

    worker = wait_for("the run worker", lambda: run_worker_pid(instance, run.run_id), 300)
    dbt = wait_for("dbt build under the run worker",
                   lambda: {p: c for p, c in descendants(worker).items() if "dbt" in c and "build" in c}, 300, 0.5)
    children = descendants(worker)
    time.sleep(2)  # well into the build
    os.kill(worker, signal.SIGKILL)
    killed_at = time.monotonic()

    failed = wait_for("the run to be marked failed",
                      lambda: (r := instance.get_run_by_id(run.run_id)).status == dg.DagsterRunStatus.FAILURE and r,
                      90)
    assert time.monotonic() - killed_at < 90
    wait_for("the step and dbt to die with the run worker",
             lambda: not any(process_alive(p) for p in children), 30, 0.5)
    assert dbt and failed
    wait_for("the dead run's warehouse slot to be freed",
             lambda: run.run_id not in {s.run_id for s in
                                        instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots},
             60)

    retry = wait_for("the automatic retry", lambda: instance.get_runs(
        filters=dg.RunsFilter(tags={"dagster/parent_run_id": run.run_id})), 120)[0]
    done = wait_for("the retry to finish", lambda: (r := instance.get_run_by_id(retry.run_id)).is_finished and r,
                    600, 2)
    assert done.status == dg.DagsterRunStatus.SUCCESS
    published = instance.get_latest_materialization_event(dg.AssetKey(["warehouse", "fct_sensor_readings"]))
    assert published is not None and published.run_id == retry.run_id
