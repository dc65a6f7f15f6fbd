"""Post-management watch list (사후관리): the planted cases are found with the right start dates,
and entries keep their history (opened, resolved) across builds."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import duckdb
import pandas as pd
from kpi_fixture import AS_OF, DATA_STOPS, DRIFT, QUALITY_DROPS, _utc, build_kpis

from orchestration.warehouse.ducklake import Warehouse


def test_planted_cases_are_found_with_their_start_dates(kpis):
    """(A backfill-only company whose files also stopped is not on the list: it is not expected to send more.)"""
    _, con = kpis
    current = con.execute("select * from kpi.watch_list_current").df()
    found = {(r.company_id, r.kind, None if pd.isna(r.dataset) else r.dataset): r.started_on.date()
             for r in current.itertuples()}
    assert found == {
        (DATA_STOPS[0], "data_stopped", DATA_STOPS[1]): DATA_STOPS[2],
        (QUALITY_DROPS[0], "quality_dropped", None): QUALITY_DROPS[1],
        (DRIFT[0], "model_degraded", None): DRIFT[1],
    }
    for r in current.itertuples():
        assert r.evidence_ko and r.evidence_en and r.suggested_action_ko and r.suggested_action_en
    stopped = current[current.kind == "data_stopped"].iloc[0]
    last = (DATA_STOPS[2] - timedelta(days=1)).isoformat()
    assert last in stopped.evidence_ko and f"{(AS_OF - DATA_STOPS[2]).days + 1}일째" in stopped.evidence_ko
    history = con.execute("select * from kpi.watch_list").df()
    assert set(history.status) == {"open"} and set(history.opened_on.dt.date) == {AS_OF}


def test_entries_keep_history_when_a_case_resolves(kpi_warehouse, tmp_path):
    fixture, path = kpi_warehouse
    later = tmp_path / "later"
    shutil.copytree(path, later, ignore=shutil.ignore_patterns(".dbt-target"))
    as_of = AS_OF + timedelta(days=5)
    with Warehouse.in_folder(later).transaction("tests: five more days") as tx:
        con = tx.con  # five more days of files from everyone, the stopped company too; the AI results table is gone
        con.execute("set TimeZone = 'UTC'")
        pairs = fixture.landings[["company_id", "dataset"]].drop_duplicates().itertuples(index=False)
        for company, dataset in pairs:
            for offset in range(1, 6):
                day = AS_OF + timedelta(days=offset)
                con.execute("insert into main.fct_landing_files (company_id, dataset, status, rows_landed, "
                            "rows_rejected, file_modified_at) values (?, ?, 'ingested', 10, 0, ?)",
                            [company, dataset, _utc(day, 1.5).to_pydatetime()])
        con.execute("drop table ml.model_results")
        con.execute("create schema contrib")  # the contribution export published one dataset meanwhile
        con.execute("create table contrib.published_datasets as select 'CBMAI-COSMETICS-x' as dataset_id, "
                    "timestamptz '2026-12-02 01:00:00+00' as published_at")
    build_kpis(later, as_of, target=tmp_path / "dbt-target")
    con = Warehouse.in_folder(later).connect_read_only()
    try:
        history = con.execute("select * from kpi.watch_list order by watch_entry_key").df()
        published = con.execute("select actual, note_en from kpi.programme_outputs where programme_year = 2026 "
                                "and kpi_code = 'datasets_published'").fetchall()
        ai = con.execute("select actual, note_ko, note_en from kpi.programme_outputs where programme_year = 2026 "
                         "and kpi_code = 'ai_solutions_developed'").fetchall()
    finally:
        con.close()
    by_kind = history.set_index("kind")
    stopped = by_kind.loc["data_stopped"]
    assert stopped.status == "resolved"
    assert stopped.opened_on.date() == AS_OF and stopped.resolved_on.date() == as_of
    assert stopped.started_on.date() == DATA_STOPS[2]
    for kind in ("quality_dropped", "model_degraded"):
        entry = by_kind.loc[kind]
        assert entry.status == "open" and entry.opened_on.date() == AS_OF and entry.last_seen_on.date() == as_of
        assert pd.isna(entry.resolved_on)
    assert len(history) == 3
    # until the AI stage publishes its results, AI solutions count zero and say why
    assert published == [(1.0, None)]
    assert ai[0][0] == 0 and "ml.model_results" in ai[0][1] and "ml.model_results" in ai[0][2]
