"""The dbt warehouse on tiny hand-made bronze tables: conversions, KST days, dedupe, incremental
builds equal to a full refresh, OEE, defect codes, dbt tests.

Every expected number below is worked out by hand from the rows written here.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from dagster_dbt import DbtCliResource
from deltalake import write_deltalake

from orchestration.ingest.bronze_schemas import REGISTRY_SCHEMAS, bronze_schema
from orchestration.lakehouse.bronze import INGEST_LOG_SCHEMA
from orchestration.warehouse.build import WarehouseBuildFailed, build_warehouse, prepare_build, publish_build, run_dbt
from orchestration.warehouse.dbt_project import dbt_target_path, warehouse_dbt_project
from orchestration.warehouse.ducklake import Warehouse, information_schema_columns, table_columns
from orchestration.warehouse.environment import environment
from orchestration.warehouse.stale_models import stale_incremental_models

REPO = Path(__file__).resolve().parents[2]
UTC = timezone.utc
COS, BAT = "CJ-COS-01", "JC-BAT-01"
T1 = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)  # first ingest
T2 = datetime(2026, 10, 5, 17, 0, tzinfo=UTC)  # a later re-export
T3 = datetime(2026, 10, 6, 16, 0, tzinfo=UTC)  # the next day's ingest
MARTS = ("dim_company", "dim_region", "dim_industry", "dim_tag", "dim_defect_type", "dim_shift", "dim_site",
         "dim_line", "dim_equipment", "dim_product", "dim_date", "fct_sensor_readings", "fct_sensor_readings_hourly",
         "fct_energy_daily", "fct_production_lots", "fct_quality_inspections", "fct_equipment_events",
         "fct_landing_files", "mart_oee_daily", "mart_defects_weekly", "mart_defects_by_shift",
         "mart_company_data_freshness", "fct_work_orders", "fct_shipments")
# Columns that legitimately differ between two builds of the same data: the load numbers (a fresh
# warehouse takes everything as load 1) and the build time.
VOLATILE = {"_load_seq", "_bronze_version", "measured_at", "hours_since_last_landing"}
NOT_TESTS = "resource_type:test resource_type:unit_test"  # builds whose tests are not looked at
FULL_REFRESH = """
import sys
from pathlib import Path
from orchestration.warehouse.build import build_warehouse
from orchestration.warehouse.ducklake import Warehouse
build_warehouse(Warehouse.in_folder(sys.argv[1]), Path(sys.argv[2]), ["build", "--full-refresh", "--exclude", sys.argv[3]])
"""


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def lineage(file: str, ingested_at: datetime) -> dict:
    return {"_source_file": file, "_source_hash": f"sha-{file}", "_ingested_at": ingested_at, "_ingest_run_id": "t"}


def reading(company, equipment, source_tag, tag, value, unit, ts, file, row, ingested_at) -> dict:
    return {"company_id": company, "line_id": "L1", "equipment_id": equipment, "source_tag": source_tag, "tag": tag,
            "value": value, "unit": unit, "reading_ts": ts, "_source_row": row, **lineage(file, ingested_at)}


def log(company, file, dataset, landed, rejected=0, status="ingested", at=T1) -> dict:
    return {"company_id": company, "source_file": file, "source_hash": f"sha-{file}", "dataset": dataset,
            "status": status, "rows_landed": landed, "rows_rejected": rejected, "unmapped_columns": None,
            "mapping_version": "m", "file_size_bytes": 100, "file_modified_at": at - timedelta(minutes=5),
            "ingested_at": at, "ingest_run_id": "t"}


def append(bronze: Path, name: str, rows: list[dict], schema: pa.Schema) -> None:
    write_deltalake(str(bronze / name), pa.Table.from_pylist(rows, schema=schema), mode="append",
                    partition_by=["company_id"])


def land_first_batch(bronze: Path) -> None:
    append(bronze, "companies", [
        {"company_id": COS, "name_ko": "청주뷰티랩(주)", "name_en": "Cheongju Beauty Lab", "region": "cheongju",
         "industry": "20423", "size_band": "small", "cohort_year": 2026, "registry_loaded_at": T1},
        {"company_id": BAT, "name_ko": "진천셀텍(주)", "name_en": "Jincheon Celltech", "region": "jincheon",
         "industry": "28202", "size_band": "medium", "cohort_year": 2025, "registry_loaded_at": T1},
    ], REGISTRY_SCHEMAS["companies"])
    append(bronze, "support_stages", [
        {"company_id": COS, "stage": "consulting", "started": date(2026, 3, 2), "completed": date(2026, 4, 10),
         "registry_loaded_at": T1},
        {"company_id": COS, "stage": "collection", "started": date(2026, 4, 11), "completed": None,
         "registry_loaded_at": T1},
    ], REGISTRY_SCHEMAS["support_stages"])
    # BAT runs three crews; COS has no shifts of its own and works the default day/night pattern
    append(bronze, "company_shifts", [
        {"company_id": BAT, "shift_code": code, "name_ko": name, "name_en": code, "start_time_kst": start,
         "end_time_kst": end, "registry_loaded_at": T1}
        for code, name, start, end in [("A", "1조", "06:00:00", "14:00:00"), ("B", "2조", "14:00:00", "22:00:00"),
                                       ("C", "3조", "22:00:00", "06:00:00")]
    ], REGISTRY_SCHEMAS["company_shifts"])

    day1, re_export = f"{COS}/sensors/2026-10-04.csv", f"{COS}/sensors/2026-10-04_re.csv"
    append(bronze, "sensor_readings", [
        # 212 degF = 100 degC at 23:59:59 KST on 10-04; 50 degF = 10 degC at 00:00 KST on 10-05
        reading(COS, "E1", "온도(°F)", "TEMP", 212.0, "degF", utc(2026, 10, 4, 14, 59, 59), day1, 2, T1),
        reading(COS, "E1", "온도(°F)", "TEMP", 50.0, "degF", utc(2026, 10, 4, 15, 0, 0), day1, 3, T1),
        reading(COS, "E1", "압력", "PRES", 100.0, "psi", utc(2026, 10, 4, 14, 59, 59), day1, 2, T1),
        # the re-export sends 15:00:00 again, corrected to 68 degF = 20 degC: it replaces the first
        reading(COS, "E1", "온도(°F)", "TEMP", 68.0, "degF", utc(2026, 10, 4, 15, 0, 0), re_export, 2, T2),
        reading(BAT, "E9", "T-03", "TEMP", 25.0, "degC", utc(2026, 10, 4, 3, 0), f"{BAT}/plc/a.csv", 2, T1),
        reading(BAT, "E9", "T-03", "TEMP", 900.0, "degC", utc(2026, 10, 4, 3, 1), f"{BAT}/plc/a.csv", 3, T1),
    ], bronze_schema("sensor_readings"))

    # OEE day 2026-10-05 KST for E1: run 08-12, stop 12-13, run 13-20, stop 20-24 (the last state
    # lasts to KST midnight) -> planned 16 h, run 11 h
    events = f"{COS}/events/2026-10-05.csv"
    append(bronze, "equipment_events", [
        {"company_id": COS, "line_id": "L1", "equipment_id": "E1", "event_ts": ts, "event_type": kind,
         "event_code": None, "message": None, "_source_row": i + 2, **lineage(events, T1)}
        for i, (ts, kind) in enumerate([(utc(2026, 10, 4, 23), "run"), (utc(2026, 10, 5, 3), "stop"),
                                        (utc(2026, 10, 5, 4), "run"), (utc(2026, 10, 5, 11), "stop")])
    ] + [{"company_id": BAT, "line_id": "L9", "equipment_id": "E9", "event_ts": utc(2026, 10, 4, 3), "event_type": "알람",
          "event_code": "A-17", "message": "과열", "_source_row": 2, **lineage(f"{BAT}/ev/a.csv", T1)}],
        bronze_schema("equipment_events"))

    lots = f"{COS}/mes/lots_2026-10-05.xlsx"
    append(bronze, "production_lots", [
        # 400 units in 4 h = 100/h (the best rate), 560 in 7 h = 80/h
        {"company_id": COS, "line_id": "L1", "equipment_id": "E1", "lot_id": "LOT-A", "product_code": "P-100",
         "start_ts": utc(2026, 10, 4, 23), "end_ts": utc(2026, 10, 5, 3), "quantity": 400.0, "defect_quantity": 8.0,
         "_source_row": 2, **lineage(lots, T1)},
        {"company_id": COS, "line_id": "L1", "equipment_id": "E1", "lot_id": "LOT-B", "product_code": "P-100",
         "start_ts": utc(2026, 10, 5, 4), "end_ts": utc(2026, 10, 5, 11), "quantity": 560.0, "defect_quantity": 12.0,
         "_source_row": 3, **lineage(lots, T1)},
    ], bronze_schema("production_lots"))

    qc = f"{COS}/qc/2026-10-05.csv"
    inspections = [("LOT-A", "fail", " 이물 "), ("LOT-B", "fail", "기포"), ("LOT-B", "pass", None),
                   ("LOT-ZZZ", "fail", "scratch"), ("LOT-B", "fail", "알수없는불량")]
    append(bronze, "quality_inspections", [
        {"company_id": COS, "line_id": "L1", "lot_id": lot, "inspected_at": utc(2026, 10, 5, 5, i),
         "characteristic": "중량", "measured_value": 10.0, "lower_spec": 9.0, "upper_spec": 11.0, "unit": "g",
         "result": result, "defect_type": label, "_source_row": i + 2, **lineage(qc, T1)}
        for i, (lot, result, label) in enumerate(inspections)
    ], bronze_schema("quality_inspections"))

    append(bronze, "ingest_log", [
        log(COS, day1, "sensor_readings", 3), log(COS, re_export, "sensor_readings", 1, at=T2),
        log(BAT, f"{BAT}/plc/a.csv", "sensor_readings", 2), log(COS, events, "equipment_events", 4),
        log(COS, lots, "production_lots", 2), log(COS, qc, "quality_inspections", 5, rejected=1, status="partial"),
        log(COS, f"{COS}/qc/broken.csv", "quality_inspections", 0, rejected=7, status="quarantined"),
    ], INGEST_LOG_SCHEMA)


def land_second_batch(bronze: Path) -> None:
    day2, late, again = (f"{COS}/sensors/2026-10-05.csv", f"{COS}/sensors/2026-10-03.csv",
                         f"{COS}/sensors/2026-10-04_again.csv")
    append(bronze, "sensor_readings", [
        reading(COS, "E1", "온도(°F)", "TEMP", 86.0, "degF", utc(2026, 10, 5, 6), day2, 2, T3),  # 30 degC
        reading(COS, "E1", "온도(°F)", "TEMP", 104.0, "degF", utc(2026, 10, 5, 6, 30), day2, 3, T3),  # 40 degC
        # a late file for an old day
        reading(COS, "E1", "온도(°F)", "TEMP", 32.0, "degF", utc(2026, 10, 3, 1), late, 2, T3),  # 0 degC
        # re-export of a reading already in the warehouse, ingested later: replaces it (psi 200)
        reading(COS, "E1", "압력", "PRES", 200.0, "psi", utc(2026, 10, 4, 14, 59, 59), again, 2, T3),
        # a re-export committed with an older ingest time than the row it collides with: loses
        reading(COS, "E1", "온도(°F)", "TEMP", 59.0, "degF", utc(2026, 10, 4, 15, 0, 0), again, 3,
                T2 - timedelta(minutes=30)),
        # implausible (> 1800 degC, hotter than molten steel) in this batch: the incremental build's tests see it and warn
        reading(BAT, "E9", "T-03", "TEMP", 1950.0, "degC", utc(2026, 10, 4, 3, 2), f"{BAT}/plc/b.csv", 2, T3),
    ], bronze_schema("sensor_readings"))
    append(bronze, "ingest_log", [log(COS, day2, "sensor_readings", 2, at=T3), log(COS, late, "sensor_readings", 1, at=T3),
                                  log(COS, again, "sensor_readings", 2, at=T3)], INGEST_LOG_SCHEMA)


def build_with_results(warehouse: Warehouse, bronze: Path) -> dict:
    """build_warehouse's steps through dagster-dbt (as the asset runs them), keeping dbt's
    run_results to look at the tests."""
    with warehouse.writer_lock():
        plan = prepare_build(warehouse, bronze)
        with environment(**plan.env):
            invocation = DbtCliResource(project_dir=warehouse_dbt_project).cli(
                ["build", "--selector", "ci"], target_path=dbt_target_path(warehouse))
            invocation.wait()
            results = invocation.get_artifact("run_results.json")
        publish_build(warehouse, plan, ["build", "--selector", "ci"])
    return results


def rows_of(con, table: str) -> list[tuple]:
    columns = [c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_schema = 'main' and table_name = ? "
        "order by ordinal_position", [table]).fetchall() if c not in VOLATILE]
    select = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f"select {select} from main.{table} order by all").fetchall()


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    root = tmp_path_factory.mktemp("dbt")
    bronze = root / "bronze"
    land_first_batch(bronze)
    incremental = Warehouse.in_folder(root / "incremental")
    build_warehouse(incremental, bronze, ["build", "--exclude", NOT_TESTS])
    land_second_batch(bronze)
    # The full refresh of the same bronze into another file runs meanwhile, in its own process.
    full = Warehouse.in_folder(root / "full")
    full_refresh = subprocess.Popen([sys.executable, "-c", FULL_REFRESH, str(root / "full"), str(bronze), NOT_TESTS],
                                    cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        results = build_with_results(incremental, bronze)
    finally:
        output, _ = full_refresh.communicate()
    assert full_refresh.returncode == 0, output[-5000:]
    return incremental, full, results


@pytest.fixture(scope="module")
def con(warehouses):
    connection = warehouses[0].connect_read_only()
    yield connection
    connection.close()


def test_units_are_converted_to_si_and_days_cut_at_kst_midnight(con):
    rows = con.execute(
        "select source_tag, reading_ts_utc, value_si, si_unit, unit_status, reading_date_kst, reading_ts_kst "
        "from fct_sensor_readings where company_id = ? and reading_ts_utc between ? and ? order by all",
        [COS, utc(2026, 10, 4, 14, 59, 59), utc(2026, 10, 4, 15)]).fetchall()
    assert [(r[0], r[2], r[3], r[5]) for r in rows] == [
        ("압력", pytest.approx(200 * 6.894757293168361), "kPa", date(2026, 10, 4)),  # replaced by the 2nd batch
        ("온도(°F)", pytest.approx(100.0), "degC", date(2026, 10, 4)),
        ("온도(°F)", pytest.approx(20.0), "degC", date(2026, 10, 5)),
    ]
    assert rows[2][6] == datetime(2026, 10, 5, 0, 0)
    assert {r[4] for r in rows} == {"ok"}


def test_re_exports_are_never_duplicated_and_the_later_ingest_wins(con):
    assert con.execute("select count(*) - count(distinct row(company_id, equipment_id, source_tag, reading_ts_utc, "
                       "sequence_id, reading_occurrence)) from fct_sensor_readings").fetchall() == [(0,)]
    # distinct (company, equipment, tag, time) in bronze: 5 of the first batch + 4 new ones
    assert con.execute("select count(*) from fct_sensor_readings").fetchall() == [(9,)]
    winner = con.execute(
        "select value_raw, source_file from fct_sensor_readings where source_tag = '온도(°F)' and reading_ts_utc = ?",
        [utc(2026, 10, 4, 15)]).fetchall()
    assert winner == [(68.0, f"{COS}/sensors/2026-10-04_re.csv")]


def test_late_rows_for_an_old_day_arrive_incrementally(con):
    assert con.execute("select reading_date_kst, value_si from fct_sensor_readings where reading_ts_utc = ?",
                       [utc(2026, 10, 3, 1)]).fetchall() == [(date(2026, 10, 3), pytest.approx(0.0))]
    hourly = con.execute(
        "select readings, min_value_si, max_value_si, avg_value_si, stddev_value_si from fct_sensor_readings_hourly "
        "where sensor_id = 'E1:온도(°F)' and hour_utc = ?", [utc(2026, 10, 5, 6)]).fetchall()
    assert hourly == [(2, pytest.approx(30.0), pytest.approx(40.0), pytest.approx(35.0),
                       pytest.approx(math.sqrt(50)))]


def test_incremental_build_equals_a_full_refresh_row_for_row(warehouses):
    incremental, full, _ = warehouses
    a, b = incremental.connect_read_only(), full.connect_read_only()
    try:
        for table in MARTS:
            rows = rows_of(a, table)
            assert rows == rows_of(b, table), table
        assert rows_of(a, "fct_sensor_readings_hourly")
    finally:
        a.close()
        b.close()


def test_the_second_build_took_only_the_new_ingest_batches(warehouses, con):
    compiled = {r["unique_id"].split(".")[-1]: r.get("compiled_code") or "" for r in warehouses[2]["results"]}
    assert "already_loaded" in compiled["fct_sensor_readings"]  # rendered only by is_incremental()
    assert "touched" in compiled["fct_sensor_readings_hourly"]
    # rows of load 1 that nothing replaced keep load number 1 (the 15:00 TEMP row kept its winner)
    assert con.execute("select _load_seq, count(*) from fct_sensor_readings group by 1 order by 1").fetchall() == [
        (1, 4), (2, 5)]
    # the ledger: 3 files of the first ingest, 4 of the second
    assert con.execute("select load_seq, count(*), sum(rows_in_bronze) from intermediate.int_sensor_reading_batches "
                       "group by 1 order by 1").fetchall() == [(1, 3, 6), (2, 4, 6)]


def test_oee_factors_of_a_hand_made_equipment_day(con):
    row = con.execute(
        "select planned_hours, run_hours, ideal_units_per_hour, availability, performance, quality, oee "
        "from mart_oee_daily where company_id = ? and equipment_id = 'E1' and date_kst = ?",
        [COS, date(2026, 10, 5)]).fetchall()
    availability, performance, quality = 11 / 16, 960 / (11 * 100), 940 / 960
    assert row == [(pytest.approx(16.0), pytest.approx(11.0), pytest.approx(100.0), pytest.approx(availability),
                    pytest.approx(performance), pytest.approx(quality),
                    pytest.approx(availability * performance * quality))]
    # E9 only raised an alarm (12:00 KST to midnight) and made no lot: availability 0, no performance
    assert con.execute("select planned_hours, availability, performance, quality, oee from mart_oee_daily "
                       "where equipment_id = 'E9'").fetchall() == [(pytest.approx(12.0), 0.0, None, None, None)]


def test_defect_labels_map_to_standard_codes(con):
    codes = con.execute("select lot_id, result, defect_code, defect_name_ko, lot_key is not null "
                        "from fct_quality_inspections order by source_row").fetchall()
    assert codes == [("LOT-A", "fail", "FOREIGN_MATTER", "이물", True), ("LOT-B", "fail", "BUBBLE", "기포", True),
                     ("LOT-B", "pass", None, None, True), ("LOT-ZZZ", "fail", "SCRATCH", "스크래치", True),
                     ("LOT-B", "fail", "OTHER", "기타", True)]
    weekly = con.execute("select inspections, defects, defect_rate, top1_defect_code, top1_defects "
                         "from mart_defects_weekly where company_id = ?", [COS]).fetchall()
    # 5 inspections, 4 failures with four different codes; ties are broken by code order
    assert weekly == [(5, 4, pytest.approx(0.8), "BUBBLE", 1)]


def test_dimensions_and_freshness(con):
    assert con.execute("select region_name_ko, industry_name_ko, industry_division_code, programme_group_ko, "
                       "current_stage, current_stage_name_ko from dim_company where company_id = ?", [COS]).fetchall() == [
        ("청주시", "화장품 제조업", "20", "융합바이오", "collection", "데이터 수집")]
    assert con.execute("select day_name_ko, iso_week from dim_date where date_kst = ?",
                       [date(2026, 10, 5)]).fetchall() == [("월요일", 41)]
    assert con.execute("select equipment_id from dim_equipment order by 1").fetchall() == [("E1",), ("E9",)]
    freshness = con.execute(
        "select rows, files, files_quarantined, rows_rejected, last_event_kst from mart_company_data_freshness "
        "where company_id = ? and dataset = ?", [COS, "quality_inspections"]).fetchall()
    assert freshness == [(5, 1, 1, 8, datetime(2026, 10, 5, 14, 4))]


def test_facts_carry_the_shift_of_their_company(con):
    shifts = con.execute("select company_id, shift_code, pattern, crosses_midnight from dim_shift").fetchall()
    assert sorted(shifts) == sorted([(BAT, "A", "company", False), (BAT, "B", "company", False),
                                     (BAT, "C", "company", True), (COS, "DAY", "default", False),
                                     (COS, "NIGHT", "default", True)])
    # LOT-A starts 08:00 KST, LOT-B 13:00 KST: both on the day shift of 10-05
    assert con.execute("select lot_id, shift_code, shift_date_kst from fct_production_lots order by lot_id").fetchall() == [
        ("LOT-A", "DAY", date(2026, 10, 5)), ("LOT-B", "DAY", date(2026, 10, 5))]
    # BAT's alarm at 12:00 KST is crew A's
    assert con.execute("select shift_code, shift_date_kst from fct_equipment_events where company_id = ?",
                       [BAT]).fetchall() == [("A", date(2026, 10, 4))]
    # 23:00 and 00:00 KST are both the night shift that began on 10-04
    hourly = con.execute("select hour_kst, shift_code, shift_date_kst from fct_sensor_readings_hourly "
                         "where company_id = ? and tag_code = 'PRES'", [COS]).fetchall()
    assert hourly == [(datetime(2026, 10, 4, 23), "NIGHT", date(2026, 10, 4))]
    midnight = con.execute("select shift_code, shift_date_kst from fct_sensor_readings_hourly "
                           "where company_id = ? and hour_kst = ?", [COS, datetime(2026, 10, 5)]).fetchall()
    assert set(midnight) == {("NIGHT", date(2026, 10, 4))}
    assert con.execute("select count(*) from fct_quality_inspections where shift_code is null").fetchone() == (0,)


def test_defects_by_shift(con):
    # LOT-A (400 units, 8 defective) and LOT-B (560, 12) start on the day shift of 10-05; all five
    # inspections (14:00-14:04 KST) are in it too, four of them failed
    rows = con.execute("select company_id, line_id, shift_date_kst, shift_code, shift_name_ko, lots, units_produced, "
                       "units_defective, unit_defect_rate, inspections, failed_inspections, inspection_defect_rate "
                       "from mart_defects_by_shift").fetchall()
    assert rows == [(COS, "L1", date(2026, 10, 5), "DAY", "주간", 2, 960.0, 20.0, pytest.approx(20 / 960), 5, 4,
                     pytest.approx(0.8))]


def test_the_catalog_columns_are_those_of_the_connections_snapshot(warehouses, tmp_path):
    """The stale-model check reads the DuckLake's own column tables (information_schema loads every
    table first): the same columns as information_schema, and those of the snapshot read."""
    shutil.copytree(warehouses[0].catalog_file.parent, tmp_path / "copy", ignore=shutil.ignore_patterns(".dbt-target"))
    copy = Warehouse.in_folder(tmp_path / "copy")
    before = copy.published_snapshot()

    con = copy.connect_writer()
    try:
        con.execute("alter table main.fct_energy_daily add column note varchar")
        con.execute("alter table main.fct_sensor_readings_hourly drop column shift_code")
        con.execute("create table ops.scratch (a int)")
        con.execute("drop table ops.scratch")
        copy.publish(con, "tests: columns added, dropped; a table made and dropped")
    finally:
        con.close()
    with copy.connect_read_only() as now, copy.connect_read_only(before) as then:
        columns_now, columns_then = table_columns(now), table_columns(then)
        assert columns_now == information_schema_columns(now) and columns_then == information_schema_columns(then)
    assert "note" in columns_now[("main", "fct_energy_daily")] and "note" not in columns_then[("main", "fct_energy_daily")]
    assert "shift_code" in columns_then[("main", "fct_sensor_readings_hourly")]
    assert "shift_code" not in columns_now[("main", "fct_sensor_readings_hourly")]
    assert ("ops", "scratch") not in columns_now and ("main", "fct_sensor_readings") in columns_now


def test_a_fact_table_older_than_its_model_is_rebuilt_in_full(warehouses, tmp_path):
    """A warehouse built before hourly aggregates had shifts: the next build notices the missing
    column and rebuilds in full, so history gets shifts too (not nulls)."""
    built = warehouses[0]
    shutil.copytree(built.catalog_file.parent, tmp_path / "old", ignore=shutil.ignore_patterns(".dbt-target"))
    old = Warehouse.in_folder(tmp_path / "old")
    manifest = warehouse_dbt_project.manifest_path
    con = old.connect_writer()
    try:
        con.execute("alter table main.fct_sensor_readings_hourly drop column shift_code")
        old.publish(con, "tests: a warehouse from before hourly shifts")  # what readers had, then
        assert stale_incremental_models(con, manifest) == ["fct_sensor_readings_hourly"]
    finally:
        con.close()
    with built.connect_read_only() as con:
        assert stale_incremental_models(con, manifest) == []

    result = build_warehouse(old, built.catalog_file.parent.parent / "bronze")
    assert result.dbt_args == ["build", "--full-refresh"]
    with old.connect_read_only() as con:
        hours, with_shift = con.execute("select count(*), count(shift_code) from fct_sensor_readings_hourly").fetchone()
        assert stale_incremental_models(con, manifest) == []
    assert hours > 0 and with_shift == hours


def test_a_key_a_build_inserts_twice_fails_its_key_test(warehouses, tmp_path):
    """The key test of a delete+insert model (tests/generic/primary_key.sql) reads only the rows
    the build inserted (DuckLake's insertions since the build's preparation; the delete took every
    older row with those keys): a build that re-inserts a key passes, one that inserts a key twice
    fails."""
    built = warehouses[0]
    shutil.copytree(built.catalog_file.parent, tmp_path / "copy", ignore=shutil.ignore_patterns(".dbt-target"))
    copy, bronze = Warehouse.in_folder(tmp_path / "copy"), built.catalog_file.parent.parent / "bronze"
    key_test = ["test", "--select", "fct_equipment_events,test_name:primary_key"]
    with copy.connect_read_only() as con:
        first, second = (key for (key,) in con.execute(
            "select event_key from main.fct_equipment_events order by event_key limit 2").fetchall())

    def build_inserting(sql: str, target: Path) -> None:
        plan = prepare_build(copy, bronze)  # commits the preparation, as every build does
        con = copy.connect_writer()
        try:
            con.execute(sql)
        finally:
            con.close()
        with environment(**plan.env):
            run_dbt(key_test, target_path=target)

    def replaced(key: str, times: int) -> str:  # delete+insert of one key, as an incremental build does
        return (f"begin; create temp table again as select * from main.fct_equipment_events where event_key = '{key}'; "
                f"delete from main.fct_equipment_events where event_key = '{key}'; "
                + "insert into main.fct_equipment_events select * from again; " * times + "commit")

    build_inserting(replaced(first, 1), tmp_path / "again")
    compiled = next((tmp_path / "again" / "compiled").rglob("primary_key_fct_equipment_even*.sql")).read_text()
    assert "ducklake_table_insertions('warehouse', 'main', 'fct_equipment_events'" in compiled, compiled

    with pytest.raises(WarehouseBuildFailed, match="primary_key_fct_equipment_events_"):
        build_inserting(replaced(second, 2), tmp_path / "twice")


def test_every_object_in_the_warehouse_answers_a_fresh_read_only_connection(warehouses):
    con = warehouses[0].connect_read_only()
    try:
        objects = con.execute("select table_schema, table_name from information_schema.tables "
                              "where table_catalog = current_database()").fetchall()
        schemas = {schema for schema, _ in objects}
        assert {"bronze", "reference", "staging", "intermediate", "main"} <= schemas
        for schema, name in objects:
            con.execute(f'select * from "{schema}"."{name}" limit 1').fetchall()
    finally:
        con.close()


def test_dbt_tests_ran_warning_on_the_orphan_inspection(warehouses):
    results = warehouses[2]["results"]
    by_status = {}
    for result in results:
        by_status.setdefault(result["status"], []).append(result["unique_id"])
    assert not by_status.get("error") and not by_status.get("fail"), by_status
    warned = by_status.get("warn", [])
    assert any("relationships_fct_quality_inspections_lot_key" in w for w in warned), warned
    assert any("plausible_range" in w for w in warned), warned  # 1950 degC > 1800, in the newest batch
    assert sum(1 for r in results if r["unique_id"].startswith("unit_test.")) >= 2
    assert len(by_status.get("pass", [])) > 50
    json.dumps(results)  # plain JSON artifact
