"""What every run worker pays before its first step: the definitions' import. These pin the two
start-up costs bench/run.py runs found (scikit-learn loaded by an ingest run, and the garbage
collector walking every imported object), so a change that brings either back fails here; the
seconds themselves are the benchmark's business."""

from __future__ import annotations

import json
import subprocess
import sys

from orchestration.settings import REPO_ROOT

PROBE = """
import gc, json, sys
import orchestration.definitions
print(json.dumps({"modules": sorted(m for m in ("sklearn", "scipy", "mlflow") if m in sys.modules),
                  "gc_enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def _probe() -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_loading_the_definitions_leaves_ml_libraries_unloaded_and_the_collector_on_with_imports_frozen():
    probe = _probe()
    assert probe["modules"] == [], f"an ingest run worker would import {probe['modules']} for nothing"
    assert probe["gc_enabled"] is True
    # dagster, dbt and our modules: hundreds of thousands of long-lived objects no collection walks again
    assert probe["frozen"] > 100_000
