"""The KPI marts built by dbt on the generated KPI fixture (tests/kpis/kpi_fixture.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kpi_fixture import AS_OF, build_kpis, generate, write_warehouse  # noqa: E402

from orchestration.warehouse.ducklake import Warehouse  # noqa: E402


@pytest.fixture(scope="session")
def kpi_warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("kpis")
    fixture = generate()
    path = root / "warehouse"
    write_warehouse(fixture, path)
    build_kpis(path, AS_OF, target=root / "dbt-target")
    return fixture, path


@pytest.fixture
def kpis(kpi_warehouse):
    fixture, path = kpi_warehouse
    con = Warehouse.in_folder(path).connect_read_only()
    yield fixture, con
    con.close()
