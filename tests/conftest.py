"""Shared fixtures: small samples from the project's own seeded generator."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CLIENTS = REPO / "clients"

# Tests never touch the developer's lake/ or Dagster home; each pytest-xdist worker has its own,
# so one worker's runs never show up in another's instance.
os.environ.setdefault("DAGSTER_HOME", str(Path(os.environ.get("TMPDIR", "/tmp"))
                                          / f"mfg-lakehouse-test-dagster-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"))
# Fixtures write closed files a moment before ingesting them; the settle-time tests set their own.
os.environ.setdefault("LANDING_SETTLE_SECONDS", "0")


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory) -> Path:
    """Two days of 5-minute sample exports for every registered client (landing folder)."""
    from orchestration.sample_clients import generate_sample

    root = tmp_path_factory.mktemp("sample")
    generate_sample(root / "landing", seed=7, days=2, sampling_seconds=300)
    return root / "landing"


@pytest.fixture
def lake(tmp_path, small_sample) -> Path:
    """A private lake with a copy of the small sample in its landing area."""
    root = tmp_path / "lake"
    shutil.copytree(small_sample, root / "landing")
    manifest = small_sample.parent / "sample_manifest.json"
    if manifest.exists():
        shutil.copy(manifest, root / "sample_manifest.json")
    return root


# The longest modules start first: on `make test`'s two workers, a long module left for last runs
# alone at the end of the suite while the other worker idles.
LONGEST_FIRST = ("warehouse/test_readers.py", "scale_out/test_scale_out.py", "test_pipeline_demo.py",
                 "test_end_to_end.py", "warehouse/test_incremental_day.py", "warehouse/test_incremental_features.py")


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        module = item.path.relative_to(REPO / "tests").as_posix()
        return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order
