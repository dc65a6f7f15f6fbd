"""Dagster's local storage for the demo and for `dagster dev`: lake/dagster_home by default.

The instance configuration written here is what makes runs recover and serialise:
- pools: one writer per warehouse (every asset that writes it is in pool `warehouse`, limit 1);
- runs: at most 4 at once (two cores), and at most one queued-to-running run per `company` tag (the landing sensor and backfills tag
  each ingest run with its company), on top of the per-company file lock inside the ingest;
- run monitoring with `LocalRunLauncher` (orchestration/run_launcher.py): a run whose worker
  process died (SIGKILL, OOM) is marked failed within about `poll_interval_seconds`, and its pool
  slots are freed `free_slots_after_run_end_seconds` later;
- run retries: such a run is started once more. Every job is safe to retry: ingest is exactly-once
  per file (ledger + lock) and a warehouse build publishes atomically or not at all. Runs that
  failed because an asset failed (bad input, a failing dbt test) are not retried.
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestration import settings

MARKER = "# Written by orchestration/instance.py"

INSTANCE_YAML = f"""\
{MARKER}; rewritten when the project's settings change (delete this line to keep your edits).
concurrency:
  pools:
    default_limit: 1
  runs:
    # two cores: each run worker spends ~3 CPU-seconds starting (bench/run.py runs); more at once
    # only slows them all (9 ingest runs at the UI's first tick took minutes). A run waiting for the
    # `warehouse` pool stays queued and holds none of these.
    max_concurrent_runs: {{max_concurrent_runs}}
    tag_concurrency_limits:
      - key: company
        value:
          applyLimitPerUniqueValue: true
        limit: 1
run_launcher:
  module: orchestration.run_launcher
  class: LocalRunLauncher
run_monitoring:
  enabled: true
  start_timeout_seconds: 300
  cancel_timeout_seconds: 300
  max_resume_run_attempts: 0
  poll_interval_seconds: {{poll_interval_seconds}}
  free_slots_after_run_end_seconds: {{free_slots_seconds}}
run_retries:
  enabled: true
  max_retries: 1
  retry_on_asset_or_op_failure: false
telemetry:
  enabled: false
"""


# Beyond one machine every Dagster process (webserver, daemon, run workers) shares one instance in
# PostgreSQL: runs, event logs, schedules, concurrency slots (docs/scale-out.md). Added to the
# instance's dagster.yaml when DAGSTER_POSTGRES_URL is set; the URL itself stays in the environment.
POSTGRES_STORAGE_YAML = """\
storage:
  postgres:
    postgres_url:
      env: DAGSTER_POSTGRES_URL
"""


def instance_yaml(poll_interval_seconds: int = 30, free_slots_seconds: int = 30, max_concurrent_runs: int = 4) -> str:
    config = INSTANCE_YAML.format(poll_interval_seconds=poll_interval_seconds, free_slots_seconds=free_slots_seconds,
                                  max_concurrent_runs=max_concurrent_runs)
    return config + (POSTGRES_STORAGE_YAML if os.environ.get("DAGSTER_POSTGRES_URL") else "")


def write_instance_config(home: Path, **timings) -> Path:
    """Write dagster.yaml unless the operator owns it (no marker line): a project upgrade then
    reaches existing homes too."""
    config = Path(home) / "dagster.yaml"
    wanted = instance_yaml(**timings)
    if not config.exists() or (config.read_text(encoding="utf-8").startswith(MARKER)
                               and config.read_text(encoding="utf-8") != wanted):
        config.write_text(wanted, encoding="utf-8")
    return config


def dagster_home() -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or settings.lake_root() / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if config.exists() and config.read_text(encoding="utf-8") == OLD_DEFAULT:
        config.unlink()  # the first wave's default: upgrade it
    write_instance_config(home)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


OLD_DEFAULT = """\
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""
