"""A run launcher whose run workers Dagster's run monitoring can check.

Dagster's `DefaultRunLauncher` starts each run worker as a process on this machine but cannot say
whether it is still alive, so a SIGKILLed run stayed STARTED for ever and kept its `warehouse`
pool slot. This launcher answers the monitor's health check from the worker's own record: every
run worker logs "Started process for run (pid: N)"; the worker is alive while that process
exists, is not a zombie and started before the run did (a recycled pid is not the worker). With
`run_monitoring` enabled (orchestration/instance.py) the daemon then marks a dead worker's run
failed, frees its pool slots, and `run_retries` starts it once more.

One machine only: on several machines use a launcher that runs workers where their health can be
checked (K8s, Docker, ECS launchers all support it); see docs/scale-out.md.
"""

from __future__ import annotations

import os

from dagster import DagsterEventType, DefaultRunLauncher
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

PID_PREFIX = "Started process for run (pid: "


class LocalRunLauncher(DefaultRunLauncher):
    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        pid = run_worker_pid(self._instance, run.run_id)
        if pid is None:  # the worker has not reported yet; starting runs are the start timeout's business
            return CheckRunHealthResult(WorkerStatus.RUNNING, "run worker not reported yet")
        record = self._instance.get_run_record_by_id(run.run_id)
        started = record.start_time if record is not None else None
        if process_alive(pid, not_after=started):
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"run worker pid {pid} is alive")
        return CheckRunHealthResult(WorkerStatus.FAILED, f"run worker process {pid} is gone (killed or crashed)")


def run_worker_pid(instance, run_id: str) -> int | None:
    """The pid of the run's latest worker process, from its engine events."""
    pid = None
    for event in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        message = event.message or ""
        if message.startswith(PID_PREFIX):
            try:
                pid = int(message[len(PID_PREFIX):].split(")")[0])
            except ValueError:
                continue
    return pid


def process_alive(pid: int, not_after: float | None = None) -> bool:
    """Whether `pid` is a live (non-zombie) process that started no later than `not_after`
    (a Unix time; a little slack for clock granularity)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        if not os.path.isdir("/proc"):  # not Linux: existence only
            try:
                os.kill(pid, 0)
                return True
            except OSError:
                return False
        return False
    state, start_ticks = fields[0], int(fields[19])
    if state in ("Z", "X"):
        return False
    if not_after is not None:
        started = boot_time() + start_ticks / os.sysconf("SC_CLK_TCK")
        if started > not_after + 5:
            return False
    return True


def boot_time() -> float:
    with open("/proc/stat", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("btime "):
                return float(line.split()[1])
    return 0.0
