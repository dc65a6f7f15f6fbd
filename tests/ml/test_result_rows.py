"""ml.model_results keeps numeric metric columns whichever company is written first: a company
with too few units (no metrics at all) written before a fitted one once made every metric text,
and the AI report failed on the fitted company ('str' - 'str')."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import duckdb

from orchestration.ml.development import Development
from orchestration.ml.training import train_company
from orchestration.sample_clients.warehouse_units import lot_units


def test_metrics_stay_numeric_when_the_first_company_has_none(frame_of):
    sample = lot_units(units=40, pattern=None, seed=5)
    result = train_company(frame_of(sample), sample.company_id, importance=False)
    assert result.verdict.reason == "too_few_units"
    run = SimpleNamespace(model_name=None, model_version=None, run_id="r", experiment_id="e")
    row = Development(result, None, run, {"code_version": "x"}, datetime.now(timezone.utc)).result_row()
    con = duckdb.connect()
    con.register("incoming", row.astype({c: "string" for c in row.columns
                                         if row[c].dtype == object and row[c].isna().all()}))
    con.execute("create table model_results as select * from incoming")
    types = dict(con.execute("select column_name, data_type from information_schema.columns "
                             "where table_name = 'model_results'").fetchall())
    assert types["pr_auc"] == types["roc_auc_low"] == types["baseline_pr_auc"] == "DOUBLE"
    assert types["test_defects"] == types["tp"] == "BIGINT"
