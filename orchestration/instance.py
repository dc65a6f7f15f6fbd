"""Dagster's local storage for the demo and for `dagster dev`: lake/dagster_home by default."""

from __future__ import annotations

import os
from pathlib import Path

from orchestration import settings

# One writer per DuckDB file: every asset that writes the warehouse is in pool `warehouse`,
# and the instance lets one of them run at a time.
INSTANCE_YAML = """\
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def dagster_home() -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or settings.lake_root() / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home
