"""Backfill is not lateness: history a client sends at onboarding (events ending before the
company's first delivery, or up to `backfill_until`) is scored as on time; a daily file of the
ongoing deliveries that lands late still is late."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest
import yaml

import contract_warehouse
from contract_warehouse import COMPANY, DAY1, SENSORS, STEP, build_contract_warehouse

from orchestration.quality import inspect_company, load_quality_config
from tests.quality.test_inspection import CONFIG

MONTH = 30
PER_DAY = 86400 // STEP
ONBOARDED = DAY1 + timedelta(days=MONTH - 1, minutes=30)  # the history arrives 00:30 KST on the last day


@pytest.fixture
def month(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(contract_warehouse, "DAYS", MONTH)
        build_contract_warehouse(path, defects=False)
    return path


def land(path, *, history_at, ongoing_late: str | None = None):
    """Days 1..29 (every dataset) land together at `history_at`; the last day's files land as
    the builder has them (30 min after their last event), except `ongoing_late`, 30 h later."""
    con = duckdb.connect(str(path))
    last_day = f"{(DAY1 + timedelta(days=MONTH - 1)):%Y%m%d}"
    for table in ("main.fct_landing_files", "bronze.ingest_log"):
        con.execute(f"""update {table} set file_modified_at = timestamptz '{history_at.isoformat()}'
            where not (source_file like '%{last_day}%' or source_file like '%\\_{MONTH - 1}.csv' escape '\\')""")
        if ongoing_late:
            con.execute(f"update {table} set file_modified_at = file_modified_at + interval 30 hour "
                        f"where source_file = ?", [ongoing_late])
    con.close()


def inspect(path, config=None):
    con = duckdb.connect(str(path))
    try:
        return inspect_company(con, config or load_quality_config(COMPANY, CONFIG))
    finally:
        con.close()


def late_issues(result):
    return result.issues[result.issues.issue_type == "late_file"] if not result.issues.empty else result.issues


def test_a_backfilled_month_is_history_not_late(month):
    land(month, history_at=ONBOARDED)
    result = inspect(month)
    assert result.scores["timeliness"] >= 99
    assert len(late_issues(result)) == 0
    # the history days themselves are scored, all on time
    timeliness = result.daily[(result.daily.dimension == "timeliness") & (result.daily.dataset == "sensor_readings")]
    assert len(timeliness) == MONTH and timeliness.bad.sum() == 0
    assert timeliness.expected.sum() == MONTH * PER_DAY * len(SENSORS)


def test_a_late_daily_file_after_onboarding_is_still_late(month):
    late = f"{COMPANY}/sensors/OVEN-02_{(DAY1 + timedelta(days=MONTH - 1)):%Y%m%d}.csv"
    land(month, history_at=ONBOARDED, ongoing_late=late)
    result = inspect(month)
    issues = late_issues(result)
    assert len(issues) == 1 and late in issues.iloc[0].message_en and issues.iloc[0].dimension == "timeliness"
    timeliness = result.daily[(result.daily.dimension == "timeliness") & (result.daily.dataset == "sensor_readings")]
    assert timeliness.bad.sum() == PER_DAY  # exactly the late file's rows
    assert result.scores["timeliness"] < 100


def test_a_late_file_inside_the_ongoing_deliveries_is_late_unless_marked_as_backfill(month, tmp_path):
    """The rule keys on the first delivery, not on a blanket exemption: a company that delivered
    daily from day 1 and sends day 10 ten days late is late; `backfill_until` in the company's
    quality settings says that day is history."""
    day10 = DAY1 + timedelta(days=9)
    late = f"{COMPANY}/sensors/OVEN-02_{day10:%Y%m%d}.csv"
    con = duckdb.connect(str(month))
    for table in ("main.fct_landing_files", "bronze.ingest_log"):
        con.execute(f"update {table} set file_modified_at = file_modified_at + interval 10 day where source_file = ?",
                    [late])
    con.close()
    result = inspect(month)
    issues = late_issues(result)
    assert len(issues) == 1 and late in issues.iloc[0].message_en
    config_file = tmp_path / "quality.yaml"
    document = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    document["companies"] = {COMPANY: {"detectors": {"backfill_until": f"{day10:%Y-%m-%d}"}}}
    config_file.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    marked = inspect(month, load_quality_config(COMPANY, config_file))
    assert len(late_issues(marked)) == 0 and marked.scores["timeliness"] == 100
