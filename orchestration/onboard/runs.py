"""Run the project's jobs through the Dagster instance, quietly.

Every run goes through `DagsterInstance.get()` (so it is in the run history of the UI), its event
log is appended to a plain log file under `$LAKE_ROOT/logs/`, and nothing of it reaches the
terminal unless `verbose` is set: the commands print their own short summaries instead.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from orchestration import settings
from orchestration.instance import dagster_home

# The console logger of every job, turned down: the event log still goes to the instance.
QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class RunOutcome:
    job: str
    partition: str | None
    run_id: str
    success: bool
    seconds: float
    failure: str | None = None  # the first step failure, one line
    materializations: dict[str, dict] = field(default_factory=dict)  # asset key "a/b" -> metadata values

    def describe(self) -> str:
        target = f"{self.job}[{self.partition}]" if self.partition else self.job
        return f"{target} run {self.run_id[:8]}"


class QuietRunner:
    """Executes named jobs of the one code location on the instance, one at a time."""

    def __init__(self, *, verbose: bool = False, log_name: str = "onboard"):
        self.verbose = verbose
        self.home = dagster_home()
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.log_file = settings.lake_root() / "logs" / f"{log_name}-{stamp}.log"
        if not verbose:
            warnings.filterwarnings("ignore")
            for name in ("dagster", "dagster_dbt", "dbt", "alembic"):
                logging.getLogger(name).setLevel(logging.ERROR)
        import dagster as dg

        from orchestration.definitions import defs

        self.instance = dg.DagsterInstance.get()
        self.definitions = defs()

    def known_companies(self) -> set[str]:
        from orchestration.partitions import company_partitions

        return set(self.instance.get_dynamic_partitions(company_partitions.name))

    def run(self, job_name: str, *, partition: str | None = None, run_config: dict | None = None) -> RunOutcome:
        job = self.definitions.resolve_job_def(job_name)
        config = dict(run_config or {})
        if not self.verbose:
            config.update(QUIET_LOGGERS)
        started = time.monotonic()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "a", encoding="utf-8") as log:
            # dagster-dbt re-prints dbt's own log on stdout; quiet runs keep it in the log file.
            log.write(f"--- {job_name}{f'[{partition}]' if partition else ''} output\n")
            log.flush()
            with contextlib.nullcontext() if self.verbose else contextlib.redirect_stdout(log):
                result = job.execute_in_process(instance=self.instance, partition_key=partition,
                                                run_config=config or None, raise_on_error=False)
        outcome = RunOutcome(job_name, partition, result.run_id, result.success, time.monotonic() - started,
                             failure=None if result.success else first_failure(result))
        for event in result.get_asset_materialization_events():
            materialization = event.event_specific_data.materialization
            outcome.materializations["/".join(materialization.asset_key.path)] = {
                key: getattr(value, "value", value) for key, value in materialization.metadata.items()}
        self._append_log(outcome)
        return outcome

    def _append_log(self, outcome: RunOutcome) -> None:
        with open(self.log_file, "a", encoding="utf-8") as log:
            log.write(f"=== {outcome.describe()} ({'success' if outcome.success else 'FAILURE'}, "
                      f"{outcome.seconds:.1f}s)\n")
            for entry in self.instance.all_logs(outcome.run_id):
                when = datetime.fromtimestamp(entry.timestamp, timezone.utc).strftime("%H:%M:%S")
                level = logging.getLevelName(entry.level)
                step = f" [{entry.step_key}]" if entry.step_key else ""
                kind = f" {entry.dagster_event_type.value}" if entry.dagster_event_type else ""
                log.write(f"{when} {level}{step}{kind} {entry.user_message or ''}\n")
                if entry.dagster_event is not None and entry.dagster_event.is_step_failure:
                    error = entry.dagster_event.step_failure_data.error
                    if error is not None:
                        log.write(error.to_string() + "\n")


def first_failure(result) -> str:
    """One line that says why a run failed: the user-facing message of its first failed step."""
    for event in result.all_events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return _one_line(data.user_failure_data.description)
        error = data.error
        while error is not None and error.cause is not None:
            error = error.cause  # the user's exception, not Dagster's wrapper around it
        if error is not None:
            message = error.message
            if error.cls_name and message.startswith(f"{error.cls_name}:"):
                message = message[len(error.cls_name) + 1:]
            return f"{event.step_key}: {_one_line(message)}"
        return f"{event.step_key} failed"
    return "the run failed before any step ran (see the log file)"


def _one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""
