"""The quality inspection on a hand-built warehouse in the contract's shape, with planted defects.

Expected numbers come from what the builder planted (tests/quality/contract_warehouse.py), not
from the inspection code.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from contract_warehouse import COMPANY, DAYS, SENSORS, STEP, build_contract_warehouse

from orchestration.quality import DIMENSIONS, inspect_company, load_quality_config

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "clients" / "quality.yaml"
ONE_STEP = pd.Timedelta(seconds=STEP)


@pytest.fixture(scope="module")
def defective(tmp_path_factory):
    path = tmp_path_factory.mktemp("dq") / "warehouse.duckdb"
    planted = build_contract_warehouse(path, defects=True)
    con = duckdb.connect(str(path))
    result = inspect_company(con, load_quality_config(COMPANY, CONFIG))
    yield con, planted, result
    con.close()


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    path = tmp_path_factory.mktemp("dq_clean") / "warehouse.duckdb"
    build_contract_warehouse(path, defects=False)
    con = duckdb.connect(str(path))
    result = inspect_company(con, load_quality_config(COMPANY, CONFIG))
    yield con, result
    con.close()


def _one(issues: pd.DataFrame, issue_type: str, equipment: str, tag: str) -> pd.Series:
    rows = issues[(issues.issue_type == issue_type) & (issues.equipment_id == equipment) & (issues.source_tag == tag)]
    assert len(rows) == 1, f"expected one {issue_type} on {equipment}:{tag}, got\n{issues}"
    return rows.iloc[0]


def _close(actual, expected) -> bool:
    return abs(pd.Timestamp(actual) - pd.Timestamp(expected)) <= ONE_STEP


def test_gap_of_a_silent_equipment_is_found_with_its_time_range(defective):
    _, planted, result = defective
    equipment, tags, first, last = planted.gap
    issue = _one(result.issues, "gap", equipment, tags[0])
    assert issue.dimension == "completeness" and issue.tag_code == "TEMP"
    assert _close(issue.start_utc, first) and _close(issue.end_utc, last)
    assert issue.affected_rows == (last - first) // ONE_STEP + 1


def test_empty_cells_of_one_sensor_are_missing_values_not_a_gap(defective):
    _, planted, result = defective
    equipment, tag, first, last = planted.missing_values
    issue = _one(result.issues, "missing_values", equipment, tag)
    assert issue.dimension == "completeness"
    assert _close(issue.start_utc, first) and _close(issue.end_utc, last)
    assert issue.affected_rows == (last - first) // ONE_STEP + 1


def test_stuck_spike_and_out_of_range_are_found_where_planted(defective):
    _, planted, result = defective
    equipment, tag, first, last = planted.stuck
    stuck = _one(result.issues, "stuck", equipment, tag)
    assert stuck.dimension == "validity" and _close(stuck.start_utc, first) and _close(stuck.end_utc, last)

    equipment, tag, moment = planted.spike
    spike = _one(result.issues, "spike", equipment, tag)
    assert _close(spike.start_utc, moment) and _close(spike.end_utc, moment) and spike.affected_rows == 1

    equipment, tag, first, last = planted.out_of_range
    oor = _one(result.issues, "out_of_range", equipment, tag)
    assert oor.severity == "error" and oor.affected_rows == 10
    assert _close(oor.start_utc, first) and _close(oor.end_utc, last)
    # the out-of-range run also jumps up and back; it is reported once, not again as a spike
    assert len(result.issues[(result.issues.issue_type == "spike") & (result.issues.source_tag == tag)]) == 0


def test_duplicates_late_file_orphans_and_rejections(defective):
    _, planted, result = defective
    equipment, tag, n = planted.duplicates
    dup = _one(result.issues, "duplicate", equipment, tag)
    assert dup.dimension == "uniqueness" and dup.affected_rows == n

    late = result.issues[result.issues.issue_type == "late_file"]
    assert len(late) == 1 and late.iloc[0].dimension == "timeliness"
    assert planted.late_file in late.iloc[0].message_en

    orphan = result.issues[result.issues.issue_type == "orphan_inspection"]
    assert len(orphan) == 1 and orphan.iloc[0].affected_rows == len(planted.orphan_lots)
    assert all(lot in orphan.iloc[0].message_ko for lot in planted.orphan_lots)

    rejected = result.issues[result.issues.issue_type == "rejected_rows"]
    assert rejected.affected_rows.sum() == planted.rejected_rows

    kinds = set(result.issues.issue_type)
    assert kinds == {"gap", "missing_values", "stuck", "spike", "out_of_range", "duplicate", "late_file",
                     "orphan_inspection", "rejected_rows"}


def test_daily_scores_count_what_was_planted(defective):
    _, planted, result = defective
    daily = result.daily.set_index(["dataset", "day_kst", "dimension"])
    day1, day2 = sorted(result.daily.day_kst.unique())
    per_day = 86400 // STEP * len(SENSORS)

    c1 = daily.loc[("sensor_readings", day1, "completeness")]
    missing = 180 + 60  # the OVEN-02 gap and the P-01 empty cells
    assert (c1.expected, c1.bad) == (per_day, missing)
    assert c1.score == pytest.approx(100 * (1 - missing / per_day), abs=1e-3)
    assert daily.loc[("sensor_readings", day2, "completeness")].bad == 0

    v2 = daily.loc[("sensor_readings", day2, "validity")]
    assert v2.bad == 10 + 60 + 1  # out of range + stuck + spike
    assert daily.loc[("sensor_readings", day1, "validity")].bad == planted.rejected_rows

    assert daily.loc[("sensor_readings", day1, "uniqueness")].bad == planted.duplicates[2]
    t2 = daily.loc[("sensor_readings", day2, "timeliness")]
    assert t2.bad == 86400 // STEP  # the whole late OVEN-02 file of day 2
    assert daily.loc[("sensor_readings", day1, "timeliness")].bad == 0

    k2 = daily.loc[("quality_inspections", day2, "consistency")]
    assert (k2.expected, k2.bad) == (4 + 2, 2)


def test_overall_score_is_the_documented_weighted_mean(defective):
    _, _, result = defective
    weights = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["defaults"]["weights"]
    expected = sum(weights[d] * result.scores[d] for d in DIMENSIONS) / sum(weights.values())
    assert result.scores["overall"] == pytest.approx(expected, abs=1e-2)
    assert result.scores["overall"] < 99


def test_clean_data_scores_at_least_99_everywhere_and_has_no_issues(clean):
    _, result = clean
    assert result.issues.empty, result.issues
    assert (result.daily.score >= 99).all(), result.daily[result.daily.score < 99]
    assert all(score >= 99 for score in result.scores.values())
    assert set(result.daily.dimension) == {*DIMENSIONS, "overall"}
    assert len(result.daily.day_kst.unique()) == DAYS


def test_history_appends_and_latest_shows_the_last_inspection(clean):
    con, first = clean
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    inspect_company(con, load_quality_config(COMPANY, CONFIG), measured_at=later)
    runs = con.execute("select count(distinct measured_at) from quality.dq_daily_scores where company_id = ?",
                       [COMPANY]).fetchall()[0][0]
    assert runs >= 2
    latest = con.execute("select distinct measured_at from quality.dq_latest where company_id = ?", [COMPANY]).fetchall()
    assert len(latest) == 1 and pd.Timestamp(latest[0][0]) == pd.Timestamp(later)
    rows_latest = con.execute("select count(*) from quality.dq_latest where company_id = ?", [COMPANY]).fetchall()[0][0]
    assert rows_latest == len(first.daily)


def test_per_company_overrides_change_the_inspection(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    build_contract_warehouse(path, defects=False)
    config_file = tmp_path / "quality.yaml"
    document = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    document["companies"] = {COMPANY: {
        "sampling": {"expected_interval_seconds": {"MIX-01:T-03": STEP / 2}},  # the client promised 30 s
        "detectors": {"ranges": {"TEMP": [0, 100]}},  # OVEN-02 at ~180 degC is out of range for this client
        "severity": {"out_of_range": "warn"},
        "checks": {"completeness": {"warn_below": 90, "error_below": 85}},
    }}
    config_file.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    config = load_quality_config(COMPANY, config_file)
    con = duckdb.connect(str(path))
    try:
        result = inspect_company(con, config)
    finally:
        con.close()
    completeness = result.daily[(result.daily.dataset == "sensor_readings") & (result.daily.dimension == "completeness")]
    # T-03 should have twice the readings it has: every other 30 s slot is missing. The data span
    # ends with the last reading (23:59:00 KST on the last day), so that day has one slot fewer.
    per_day = 86400 // STEP
    assert completeness.bad.tolist() == [per_day, per_day - 1]
    assert completeness.expected.tolist() == [4 * per_day, 4 * per_day - 1]
    oor = result.issues[result.issues.issue_type == "out_of_range"]
    assert set(oor.equipment_id) == {"OVEN-02"} and set(oor.severity) == {"warn"}
    assert config.check_outcome("completeness", result.scores["completeness"]) == (False, "error")
    assert config.check_outcome("completeness", 88.0) == (False, "warn")
    assert config.check_outcome("completeness", 95.0)[0] is True
    # another company keeps the defaults
    assert load_quality_config("OTHER-01", config_file).severity("out_of_range") == "error"


def test_a_company_without_data_is_inspected_without_errors(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    build_contract_warehouse(path, defects=False)
    con = duckdb.connect(str(path))
    try:
        result = inspect_company(con, load_quality_config("NO-DATA-01", CONFIG))
    finally:
        con.close()
    assert result.issues.empty and result.daily.empty
    assert all(score == 100.0 for score in result.scores.values())


def _mapping_with_ranges(folder: Path, ranges: dict) -> Path:
    """A minimal client mapping of the contract company carrying `plausible_ranges`."""
    mapping = folder / f"{COMPANY}.yaml"
    mapping.write_text(yaml.safe_dump({
        "company_id": COMPANY, "plausible_ranges": ranges,
        "datasets": [{"dataset": "sensor_readings", "files": "sensors/*.csv", "timestamp": {"column": "ts", "format": "%Y-%m-%d %H:%M:%S"},
                      "equipment": {"column": "eq"}, "layout": "wide",
                      "sensors": {"t": {"tag": "TEMP", "unit": "degC"}}}],
    }, allow_unicode=True), encoding="utf-8")
    return mapping


def test_the_client_mapping_sets_plausible_ranges_per_client_and_per_equipment(tmp_path):
    """`plausible_ranges` in the client mapping: a client-wide range of a tag flags the oven at
    ~180 degC; the oven's own range (it is rated for it) takes precedence on that equipment only."""
    path = tmp_path / "warehouse.duckdb"
    build_contract_warehouse(path, defects=False)

    def out_of_range(ranges: dict) -> set[str]:
        config = load_quality_config(COMPANY, CONFIG, _mapping_with_ranges(tmp_path, ranges))
        con = duckdb.connect(str(path))
        try:
            result = inspect_company(con, config)
        finally:
            con.close()
        return set(result.issues[result.issues.issue_type == "out_of_range"].equipment_id)

    assert out_of_range({}) == set()
    assert out_of_range({"TEMP": [0, 100]}) == {"OVEN-02"}
    assert out_of_range({"TEMP": [0, 100], "OVEN-02:TEMP": [0, 250]}) == set()
    assert out_of_range({"TEMP": [0, 50], "OVEN-02:TEMP": [0, 250]}) == {"MIX-01"}


@pytest.mark.parametrize("ranges, problem", [({"NOT_A_TAG": [0, 1]}, "unknown tag code"),
                                             ({"TEMP": [5, 1]}, "min < max")])
def test_a_wrong_plausible_range_in_the_mapping_fails_at_load_naming_the_key(tmp_path, ranges, problem):
    from orchestration.ingest.mapping import MappingError, load_mapping

    with pytest.raises(MappingError, match=problem) as raised:
        load_mapping(_mapping_with_ranges(tmp_path, ranges))
    assert "plausible_ranges." in str(raised.value)
