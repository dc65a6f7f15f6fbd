"""Real client exports land whole and correct from one file, through the real ingest path.

Expected numbers are computed from the values the fixture wrote (`real_exports.Export.rows`),
never from the parser: per file and mapping entry, source rows = rows landed + rows rejected;
readings in bronze = the filled, non-sentinel cells of accepted rows; labels and events beside them.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil

import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable
from real_exports import (
    CNC_START,
    COMPANY,
    KAMP_SENSORS,
    KAMP_SENTINEL,
    Lake,
    cnc_no_clock,
    extruder_plc,
    kamp_die_casting,
    kst_to_utc,
    mapping_yaml,
    melting_tank,
    mes_work_orders,
    number,
    press_date_only,
)

from orchestration.lakehouse.bronze import LOG_TABLE


def assert_reconciles(log: dict, entry: str, source_rows: int, rejected: int):
    row = log[entry]
    assert row["source_rows"] == source_rows, row
    assert row["rows_landed"] + row["rows_rejected"] == row["source_rows"], row
    assert row["rows_rejected"] == rejected, row


def readings_by_cell(rows: list[dict]) -> dict[tuple[int, str], dict]:
    return {(r["_source_row"], r["source_tag"]): r for r in rows}


@pytest.fixture(scope="module")
def kamp_lake(tmp_path_factory):
    export = kamp_die_casting()
    lake = Lake(tmp_path_factory.mktemp("kamp"), [export])
    report = lake.ingest()
    return lake, export, report


def test_kamp_per_shot_table_lands_as_four_datasets_from_one_file(kamp_lake):
    lake, export, report = kamp_lake
    entries = {f.dataset_entry: f.status for f in report.files}
    assert entries == {"kamp_shots": "partial", "kamp_results": "partial", "kamp_states": "partial",
                       "kamp_lots": "partial"}  # partial: the two junk dates
    junk = export.notes["junk"]
    good = [r for r in export.rows if r["_line"] not in junk]
    log = lake.log()
    for entry in entries:
        assert_reconciles(log, entry, len(export.rows), len(junk))
        rejected = lake.rejections(entry)
        assert {(r["row_number"], r["reason"]) for r in rejected} == {(line, "implausible_timestamp") for line in junk}
        assert all(str(junk[r["row_number"]]) in r["message"] for r in rejected)

    # readings: every filled, non-sentinel cell of the accepted rows; none collapsed
    sentinels, blanks = set(export.notes["sentinels"]), set(export.notes["blanks"])
    expected = {(r["_line"], c) for r in good for c in KAMP_SENSORS if (r["_line"], c) not in sentinels | blanks}
    readings = readings_by_cell(lake.rows("sensor_readings", "kamp_shots"))
    assert set(readings) == expected
    assert log["kamp_shots"]["bronze_rows"] == len(expected)
    for r in random.Random(0).sample(good, 25):
        when = kst_to_utc(dt.datetime.strptime(f"{r['date']} {r['time']}", "%Y-%m-%d %H:%M:%S"))
        for column in ("molten_temp", "cast_pressure", "high_section_speed"):
            if (r["_line"], column) in expected:
                got = readings[(r["_line"], column)]
                assert got["value"] == pytest.approx(float(r[column]))
                assert (got["reading_ts"], got["sequence_id"], got["lot_id"]) == (when, r["count"], r["count"])
    assert not any(v["value"] == float(KAMP_SENTINEL) for v in readings.values())

    # labels, events and lots beside the readings, one per accepted shot
    results = {r["_source_row"]: r for r in lake.rows("quality_inspections", "kamp_results")}
    assert {line: r["result"] for line, r in results.items()} == \
        {r["_line"]: "fail" if r["passorfail"] == "1" else "pass" for r in good}
    assert all(results[r["_line"]]["lot_id"] == r["count"] for r in good)
    events = {r["_source_row"]: r["event_type"] for r in lake.rows("equipment_events", "kamp_states")}
    assert events == {r["_line"]: "run" if r["working"] == "가동" else "stop" for r in good}
    lots = lake.rows("production_lots", "kamp_lots")
    assert len(lots) == len(good)
    assert {(x["quantity"], x["quantity_unit"]) for x in lots} == {(1.0, "ea")}
    assert all(x["start_ts"] == x["end_ts"] for x in lots)


def test_resent_copy_is_a_duplicate_of_the_first_file_for_every_entry(kamp_lake, tmp_path):
    lake, export, _ = kamp_lake
    copy_root = tmp_path / "copy"
    shutil.copytree(lake.root, copy_root)
    again = Lake.__new__(Lake)
    again.__dict__.update(lake.__dict__, root=copy_root, landing=copy_root / "landing",
                          mapping_file=copy_root / "mappings" / f"{COMPANY}.yaml")
    original = again.landing / export.relative
    shutil.copyfile(original, original.with_name("재전송_" + original.name))
    before = again.table("sensor_readings").num_rows
    report = again.ingest(run_id="resend")
    duplicates = report.files_with_status("duplicate")
    assert {d.dataset_entry for d in duplicates} == {"kamp_shots", "kamp_results", "kamp_states", "kamp_lots"}
    assert {d.duplicate_of for d in duplicates} == {export.relative}
    assert again.table("sensor_readings").num_rows == before
    logged = [r for r in again.table(LOG_TABLE).to_pylist() if r["status"] == "duplicate"]
    assert {r["duplicate_of"] for r in logged} == {export.relative} and len(logged) == 4


def test_extruder_plc_log_with_blank_labels(tmp_path):
    export = extruder_plc()
    lake = Lake(tmp_path, [export])
    report = lake.ingest()
    blanks = set(export.notes["blank_results"])
    log = lake.log()
    assert_reconciles(log, "extruder_plc", len(export.rows), 0)
    assert_reconciles(log, "extruder_results", len(export.rows), len(blanks))
    assert {(r["row_number"], r["reason"]) for r in lake.rejections("extruder_results")} == \
        {(line, "missing_result") for line in blanks}
    readings = readings_by_cell(lake.rows("sensor_readings", "extruder_plc"))
    assert len(readings) == len(export.rows) * 7  # the readings land whole, labels or not
    for r in random.Random(1).sample(export.rows, 20):
        got = readings[(r["_line"], "용융압력")]
        assert got["value"] == pytest.approx(float(r["용융압력"]))
        assert got["reading_ts"] == kst_to_utc(dt.datetime.strptime(r["일시"], "%Y %m %d %H:%M:%S"))
        assert got["lot_id"] == r["LOT"]
    results = lake.rows("quality_inspections", "extruder_results")
    assert sum(x["result"] == "fail" for x in results) == sum(r["판정"] == "NG" for r in export.rows)
    assert None not in {x["result"] for x in results}
    assert {f.status for f in report.files} == {"ingested", "partial"}


def test_press_log_with_date_only_timestamps_keeps_every_reading(tmp_path):
    export = press_date_only()
    lake = Lake(tmp_path, [export])
    lake.ingest()
    assert_reconciles(lake.log(), "press_log", len(export.rows), 0)
    readings = lake.rows("sensor_readings", "press_log")
    assert len(readings) == len(export.rows) * 3  # thousands per day share one timestamp
    assert len({r["reading_ts"] for r in readings}) == 2
    by_cell = readings_by_cell(readings)
    for r in random.Random(2).sample(export.rows, 20):
        assert by_cell[(r["_line"], "유압")]["value"] == pytest.approx(float(r["유압"]))
        assert by_cell[(r["_line"], "유압")]["reading_ts"] == kst_to_utc(dt.datetime.fromisoformat(r["작업일자"]))


def test_melting_tank_minute_log_with_unicode_header_variant(tmp_path):
    export = melting_tank()
    lake = Lake(tmp_path, [export])
    report = lake.ingest()
    assert_reconciles(lake.log(), "melt_log", len(export.rows), 0)
    readings = readings_by_cell(lake.rows("sensor_readings", "melt_log"))
    assert len(readings) == len(export.rows) * 3  # ℃ in the file matched °C in the mapping
    assert not [f for f in report.files if f.missing_columns]
    for r in random.Random(3).sample(export.rows, 20):
        got = readings[(r["_line"], "용해온도(°C)")]
        assert got["value"] == pytest.approx(float(r["용해온도(℃)"]))
        assert got["lot_id"] == r["배치번호"]
        assert got["reading_ts"] == kst_to_utc(dt.datetime.strptime(r["측정시간"], "%Y-%m-%d %H:%M"))
    results = lake.rows("quality_inspections", "melt_results")
    assert len(results) == len(export.rows)
    assert sum(x["result"] == "fail" for x in results) == sum(r["품질판정"] == "NG" for r in export.rows)


def test_cnc_log_without_clock_gets_relative_time_and_scale(tmp_path):
    export = cnc_no_clock()
    lake = Lake(tmp_path, [export])
    lake.ingest()
    assert_reconciles(lake.log(), "cnc_spindle", len(export.rows), 0)
    readings = readings_by_cell(lake.rows("sensor_readings", "cnc_spindle"))
    assert len(readings) == len(export.rows) * 4
    for i, r in enumerate(export.rows):
        if i % 97:
            continue
        got = readings[(r["_line"], "절삭유온도x10")]
        assert got["value"] == pytest.approx(int(r["절삭유온도x10"]) / 10)
        assert got["reading_ts"] == kst_to_utc(CNC_START + dt.timedelta(milliseconds=100 * i))


def test_mes_work_orders_with_quoted_thousands_and_ten_shipment_columns(tmp_path):
    export = mes_work_orders()
    lake = Lake(tmp_path, [export])
    lake.ingest()
    log = lake.log()
    assert_reconciles(log, "mes_orders", len(export.rows), 0)
    assert_reconciles(log, "mes_shipments", len(export.rows), 0)
    orders = {o["order_id"]: o for o in lake.rows("work_orders", "mes_orders")}
    assert len(orders) == len(export.rows)
    shipments = {(s["order_id"], s["shipment_no"]): s for s in lake.rows("shipments", "mes_shipments")}
    expected = {(r["작업지시번호"], n): r for r in export.rows for n in range(1, 11) if r[f"{n}차출하수량"]}
    assert set(shipments) == set(expected)
    for r in export.rows[:50]:
        order = orders[r["작업지시번호"]]
        assert order["quantity"] == number(r["지시수량"]) and order["quantity_unit"] == "ea"
        assert order["due_at"] == kst_to_utc(dt.datetime.fromisoformat(r["납기일"]))
    for (order_id, n), r in list(expected.items())[:50]:
        assert shipments[(order_id, n)]["quantity"] == number(r[f"{n}차출하수량"])
        assert shipments[(order_id, n)]["shipped_at"] == kst_to_utc(dt.datetime.fromisoformat(r[f"{n}차출하일"]))


def test_historical_backfill_widens_the_window_and_numeric_labels_match(tmp_path):
    """A 1998 export is rejected by default and lands when the entry sets timestamp.not_before;
    labels written 0.0/1.0 match result_values "0"/"1"; a blank run/stop cell is rejected."""
    export = kamp_die_casting(shots=300)
    for row in export.rows:
        row["date"] = row["date"].replace("2019", "1998")
        row["passorfail"] = row["passorfail"] + ".0"
    export.rows[3]["working"] = ""
    lake = Lake(tmp_path / "default", [export])
    lake.ingest()
    assert lake.log()["kamp_shots"]["status"] == "quarantined"  # every row out of the window
    assert [r["reason"] for r in lake.rejections("kamp_shots")] == ["implausible_timestamp"]

    export.mapping = export.mapping.replace('format: "%Y-%m-%d %H:%M:%S"', 'format: "%Y-%m-%d %H:%M:%S", '
                                            'not_before: 1990-01-01')
    wide = Lake(tmp_path / "backfill", [export])
    wide.ingest()
    log = wide.log()
    junk = export.notes["junk"]  # the planted 1900 and 2068 shots stay out of the widened window
    assert_reconciles(log, "kamp_shots", len(export.rows), len(junk))
    results = wide.rows("quality_inspections", "kamp_results")
    assert sum(r["result"] == "fail" for r in results) == \
        sum(r["passorfail"] == "1.0" for r in export.rows if r["_line"] not in junk)
    states = wide.rejections("kamp_states")
    assert {r["reason"] for r in states} == {"missing_event_type", "implausible_timestamp"}
