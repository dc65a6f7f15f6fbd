"""The one place that writes the AI results into the warehouse (schema `ml`), so the switch of
the warehouse storage (issue 13: DuckLake transactions) is a change here only.

Tables (read by the KPIs and the post-management watch list):
- `ml.model_results`   one row per company and training run: metrics vs baseline, verdict, MLflow ids;
- `ml.predictions`     one row per scored unit and model version;
- `ml.onsite_daily`    on-site (실증) precision/recall per company and KST day of labelled predictions;
- `ml.feature_psi`     PSI of each monitored feature per company, model version and KST day;
- `ml.drift_flags`     one row per company and model version: drifted / degraded, since when.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from orchestration.warehouse.publish import WarehouseFile

SCHEMA = "ml"


def _write(con: duckdb.DuckDBPyConnection, table: str, company_id: str, frame: pd.DataFrame, replace: bool) -> None:
    con.register("incoming", frame)
    try:
        con.execute(f"create table if not exists {SCHEMA}.{table} as select * from incoming limit 0")
        existing = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [SCHEMA, table]).fetchall()}
        if set(frame.columns) != existing:  # a new code version's columns: the table follows the code
            con.execute(f"create or replace table {SCHEMA}.{table} as select * from incoming limit 0")
        if replace:
            con.execute(f"delete from {SCHEMA}.{table} where company_id = ?", [company_id])
        con.execute(f"insert into {SCHEMA}.{table} by name select * from incoming")
    finally:
        con.unregister("incoming")


def write_company_results(warehouse: WarehouseFile, company_id: str, *, replace: dict[str, pd.DataFrame] | None = None,
                          append: dict[str, pd.DataFrame] | None = None) -> None:
    """Replace the company's rows of the `replace` tables and add the `append` rows, in one publish."""
    with warehouse.rebuild() as build:
        con = duckdb.connect(str(build))
        try:
            con.execute(f"create schema if not exists {SCHEMA}")
            for table, frame in (replace or {}).items():
                _write(con, table, company_id, frame, replace=True)
            for table, frame in (append or {}).items():
                if len(frame):
                    _write(con, table, company_id, frame, replace=False)
        finally:
            con.close()


def read_table(con: duckdb.DuckDBPyConnection, table: str, company_id: str) -> pd.DataFrame:
    """The company's rows of an `ml` table; empty when the table does not exist yet."""
    exists = con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                         [SCHEMA, table]).fetchone()[0]
    if not exists:
        return pd.DataFrame()
    return con.execute(f"select * from {SCHEMA}.{table} where company_id = ?", [company_id]).df()
