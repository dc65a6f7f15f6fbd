"""dbt models' asset pages show their row counts: each table or incremental model the build wrote
gets `dagster/row_count` from the published warehouse; views and tests get none. (Through the
Dagster asset, on a build that held a company back: tests/warehouse/test_isolation.py.)"""

from __future__ import annotations

import dagster as dg
import duckdb

from orchestration.model_row_counts import ROW_COUNT, with_row_counts

MANIFEST = {"nodes": {
    "model.p.fct_a": {"resource_type": "model", "name": "fct_a", "alias": "fct_a", "schema": "main",
                      "config": {"materialized": "incremental"}},
    "model.p.kpi_b": {"resource_type": "model", "name": "kpi_b", "alias": "kpi_b", "schema": "kpi",
                      "config": {"materialized": "table"}},
    "model.p.stg_c": {"resource_type": "model", "name": "stg_c", "alias": "stg_c", "schema": "staging",
                      "config": {"materialized": "view"}},
    "seed.p.dim_d": {"resource_type": "seed", "name": "dim_d", "alias": "dim_d", "schema": "main", "config": {}},
    "model.p.gone": {"resource_type": "model", "name": "gone", "alias": "gone", "schema": "main",
                     "config": {"materialized": "table"}},
}}


def _output(name: str, uid: str) -> dg.Output:
    return dg.Output(None, output_name=name, metadata={"unique_id": uid})


def test_tables_and_incrementals_get_their_row_count_views_and_checks_none():
    con = duckdb.connect()
    con.execute("create schema kpi; create schema staging")
    con.execute("create table main.fct_a as select * from range(7)")
    con.execute("create table kpi.kpi_b as select * from range(3)")
    con.execute("create view staging.stg_c as select * from range(1000)")
    con.execute("create table main.dim_d as select * from range(2)")
    check = dg.AssetCheckResult(passed=True, asset_key=dg.AssetKey(["warehouse", "fct_a"]), check_name="not_null")
    events = [_output("fct_a", "model.p.fct_a"), _output("kpi_b", "model.p.kpi_b"), _output("stg_c", "model.p.stg_c"),
              _output("dim_d", "seed.p.dim_d"), _output("gone", "model.p.gone"), check]

    counted = {e.output_name: getattr(e.metadata.get(ROW_COUNT), "value", None) for e in with_row_counts(events, MANIFEST, con)
               if isinstance(e, dg.Output)}

    assert counted == {"fct_a": 7, "kpi_b": 3, "stg_c": None, "dim_d": 2, "gone": None}
    assert list(with_row_counts(events, MANIFEST, con))[-1] is check

