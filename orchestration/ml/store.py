"""The one place that writes the AI results into the warehouse (schema `ml`), so the switch of
the warehouse storage (issue 13: DuckLake transactions) is a change here only.

Tables (read by the KPIs and the post-management watch list):
- `ml.model_results`   one row per company and training run: metrics vs baseline, verdict, MLflow ids;
- `ml.feature_baselines` training-time decile bins per feature (for PSI);
- `ml.test_predictions` the test-period scores of the latest model (report);
- `ml.predictions`     one row per scored unit and model version;
- `ml.onsite_daily`    on-site (실증) precision/recall per company and KST day of labelled predictions;
- `ml.feature_psi`     PSI of each monitored feature per company, model version and KST day;
- `ml.drift_flags`     one row per company and model version: drifted / degraded, since when.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from orchestration.warehouse.ducklake import Warehouse

SCHEMA = "ml"


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                            [SCHEMA, table]).fetchall()[0][0])


def _write(con: duckdb.DuckDBPyConnection, table: str, company_id: str, frame: pd.DataFrame, replace: bool) -> None:
    if not len(frame):  # nothing to say (yet) for this company: only its old rows go
        if replace and _table_exists(con, table):
            con.execute(f"delete from {SCHEMA}.{table} where company_id = ?", [company_id]).fetchall()
        return
    # a column that is empty in this batch would give the table a NULL type; text takes any later value
    frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object and frame[c].isna().all()})
    con.register("incoming", frame)
    try:
        con.execute(f"create table if not exists {SCHEMA}.{table} as select * from incoming limit 0").fetchall()
        existing = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [SCHEMA, table]).fetchall()}
        if set(frame.columns) != existing:  # a new code version's columns: the table follows the code
            con.execute(f"create or replace table {SCHEMA}.{table} as select * from incoming limit 0").fetchall()
        if replace:
            con.execute(f"delete from {SCHEMA}.{table} where company_id = ?", [company_id]).fetchall()
        con.execute(f"insert into {SCHEMA}.{table} by name select * from incoming").fetchall()
    finally:
        con.unregister("incoming")


def write_company_results(warehouse: Warehouse, company_id: str, *, replace: dict[str, pd.DataFrame] | None = None,
                          append: dict[str, pd.DataFrame] | None = None) -> int | None:
    """Replace the company's rows of the `replace` tables and add the `append` rows, in one
    warehouse transaction; returns the snapshot it committed."""
    with warehouse.transaction(f"ml results {company_id}") as tx:
        con = tx.con
        con.execute(f"create schema if not exists {SCHEMA}").fetchall()
        for table, frame in (replace or {}).items():
            _write(con, table, company_id, frame, replace=True)
        for table, frame in (append or {}).items():
            if len(frame):
                _write(con, table, company_id, frame, replace=False)
    return tx.snapshot_id


def read_table(con: duckdb.DuckDBPyConnection, table: str, company_id: str) -> pd.DataFrame:
    """The company's rows of an `ml` table; empty when the table does not exist yet."""
    if not _table_exists(con, table):
        return pd.DataFrame()
    return con.execute(f"select * from {SCHEMA}.{table} where company_id = ?", [company_id]).df()
