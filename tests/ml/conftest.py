"""Warehouse-shaped units (orchestration/sample_clients/warehouse_units.py) loaded into an
in-memory DuckDB, with the dbt feature models built on them exactly as dbt would."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.ml.features import build_feature_tables, unit_frame
from orchestration.sample_clients.warehouse_units import UnitSample, load_marts


def _features_of(*samples: UnitSample) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_marts(con, *samples)
    build_feature_tables(con)
    return con


@pytest.fixture
def features_of():
    """features_of(*samples) -> a DuckDB connection with the marts and features.* built."""
    return _features_of


@pytest.fixture
def frame_of():
    """frame_of(sample) -> the company's wide unit frame (features + label)."""
    return lambda sample: unit_frame(_features_of(sample), sample.company_id)


@pytest.fixture(scope="session")
def build_test_warehouse():
    """build_test_warehouse(lake_root) -> a read-only connection to the warehouse dbt built from
    `<lake_root>/bronze` (every company built: nothing held back)."""
    from orchestration.warehouse.build import build_warehouse_isolated
    from orchestration.warehouse.ducklake import Warehouse

    def build(lake_root):
        warehouse = Warehouse.in_folder(lake_root / "warehouse")
        built = build_warehouse_isolated(warehouse, lake_root / "bronze")
        assert built.held == {}, built.summary()
        return warehouse.connect_read_only()

    return build
