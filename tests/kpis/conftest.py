"""The KPI marts built by dbt on the generated KPI fixture (tests/kpis/kpi_fixture.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kpi_fixture import AS_OF, generate, write_warehouse  # noqa: E402

PROGRAMME = ["kpi_definitions", "kpi_targets", "support_stages", "tag:programme_kpis"]


def build_kpis(warehouse: Path, as_of, *, target: Path) -> None:
    """dbt build of the KPI marts (and the seeds they read) on `warehouse`, measured on `as_of`."""
    from orchestration.warehouse.build import run_dbt
    from orchestration.warehouse.environment import environment

    with environment(WAREHOUSE_PATH=str(warehouse)):
        run_dbt(["build", "--select", *PROGRAMME, "--vars", json.dumps({"kpi_as_of_date": str(as_of)})],
                target_path=target)


@pytest.fixture(scope="session")
def kpi_warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("kpis")
    fixture = generate()
    path = root / "warehouse.duckdb"
    write_warehouse(fixture, path)
    build_kpis(path, AS_OF, target=root / "dbt-target")
    return fixture, path


@pytest.fixture
def kpis(kpi_warehouse):
    fixture, path = kpi_warehouse
    con = duckdb.connect(str(path), read_only=True)
    yield fixture, con
    con.close()
