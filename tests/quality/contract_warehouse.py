"""A small warehouse in the shape of the warehouse contract, built by hand with planted defects.

Independent of dbt: the tables are written straight from pandas frames, so the quality tests
know exactly what is in them and can compute expected numbers on their own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import contextlib

import duckdb
import numpy as np
import pandas as pd

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
KST = timezone(timedelta(hours=9))
COMPANY = "TS-TEST-01"
DAY1 = datetime(2026, 11, 2, tzinfo=KST)  # a Monday, KST midnight
DAYS = 2
STEP = 60  # seconds
SENSORS = [  # equipment, source tag, standard tag, unit, base value
    ("MIX-01", "T-03", "TEMP", "degC", 60.0),
    ("MIX-01", "P-01", "PRES", "kPa", 300.0),
    ("OVEN-02", "T-01", "TEMP", "degC", 180.0),
]


@dataclass
class Planted:
    """What the builder planted, in UTC, for the tests to compare with."""

    gap: tuple[str, list[str], datetime, datetime] | None = None  # equipment, tags, first, last missing reading
    missing_values: tuple[str, str, datetime, datetime] | None = None
    stuck: tuple[str, str, datetime, datetime] | None = None
    spike: tuple[str, str, datetime] | None = None
    out_of_range: tuple[str, str, datetime, datetime] | None = None
    duplicates: tuple[str, str, int] | None = None  # equipment, tag, duplicated rows
    late_file: str | None = None
    orphan_lots: list[str] = field(default_factory=list)
    rejected_rows: int = 0


def _utc(dt: datetime) -> pd.Timestamp:
    return pd.Timestamp(dt).tz_convert("UTC")


def _md5(*parts) -> str:
    return hashlib.md5("|".join(str(p) for p in parts).encode()).hexdigest()


def _connect(path, opened: contextlib.ExitStack):
    """A plain DuckDB file (the inspection's own tests), or the warehouse DuckLake in one transaction
    (the Dagster asset tests), committed when `opened` closes."""
    from orchestration.warehouse.ducklake import Warehouse

    if isinstance(path, Warehouse):
        return opened.enter_context(path.transaction("tests: contract warehouse")).con
    con = duckdb.connect(str(path))
    opened.callback(con.close)
    return con


def build_contract_warehouse(path, *, defects: bool) -> Planted:
    rng = np.random.default_rng(11)
    planted = Planted()
    times = pd.date_range(_utc(DAY1), periods=DAYS * 86400 // STEP, freq=f"{STEP}s")
    frames = []
    for equipment, tag, std_tag, unit, base in SENSORS:
        values = base + 5 * np.sin(np.arange(len(times)) / 90.0) + rng.normal(0, 0.5, len(times))
        frames.append(pd.DataFrame({"equipment_id": equipment, "source_tag": tag, "tag": std_tag, "unit": unit,
                                    "value": values.round(3), "reading_ts": times}))
    readings = pd.concat(frames, ignore_index=True)
    readings["line_id"] = "LINE-A"

    def at(day: int, hour: int, minute: int = 0) -> pd.Timestamp:
        return _utc(DAY1 + timedelta(days=day, hours=hour, minutes=minute))

    if defects:
        # gap: the whole OVEN-02 is silent 02:00-04:59 KST on day 1 (180 readings)
        g0, g1 = at(0, 2), at(0, 4, 59)
        readings = readings[~((readings.equipment_id == "OVEN-02") & readings.reading_ts.between(g0, g1))]
        planted.gap = ("OVEN-02", ["T-01"], g0, g1)
        # missing values: MIX-01:P-01 empty 10:00-10:59 KST day 1 while T-03 keeps reporting
        m0, m1 = at(0, 10), at(0, 10, 59)
        readings = readings[~((readings.source_tag == "P-01") & readings.reading_ts.between(m0, m1))]
        planted.missing_values = ("MIX-01", "P-01", m0, m1)
        # stuck: MIX-01:T-03 frozen at 61.234 08:00-08:59 KST day 2
        s0, s1 = at(1, 8), at(1, 8, 59)
        mask = (readings.source_tag == "T-03") & readings.reading_ts.between(s0, s1)
        readings.loc[mask, "value"] = 61.234
        planted.stuck = ("MIX-01", "T-03", s0, s1)
        # spike: one OVEN-02:T-01 reading +80 at 12:00 KST day 2 (still plausible: 260 degC < 400)
        sp = at(1, 12)
        readings.loc[(readings.source_tag == "T-01") & (readings.reading_ts == sp), "value"] += 80
        planted.spike = ("OVEN-02", "T-01", sp)
        # out of range: MIX-01:P-01 at 400 MPa for 10 readings 15:00-15:09 KST day 2 (max 300 MPa)
        o0, o1 = at(1, 15), at(1, 15, 9)
        readings.loc[(readings.source_tag == "P-01") & readings.reading_ts.between(o0, o1), "value"] = 400000.0
        planted.out_of_range = ("MIX-01", "P-01", o0, o1)

    readings = readings.sort_values(["equipment_id", "source_tag", "reading_ts"]).reset_index(drop=True)
    day_kst = readings.reading_ts.dt.tz_convert("Asia/Seoul").dt.date
    readings["_source_file"] = [f"{COMPANY}/sensors/{eq}_{d:%Y%m%d}.csv" for eq, d in zip(readings.equipment_id, day_kst)]
    # a wide export: one row per timestamp and equipment, every sensor a column of it
    readings["_source_row"] = readings.groupby("_source_file").reading_ts.rank(method="dense").astype("int64") + 1
    bronze = readings.copy()
    if defects:
        # duplicates: 5 MIX-01:T-03 rows written twice into the same file (day 1, 20:00 KST)
        dup = bronze[(bronze.source_tag == "T-03") & bronze.reading_ts.between(at(0, 20), at(0, 20, 4))]
        bronze = pd.concat([bronze, dup], ignore_index=True)
        planted.duplicates = ("MIX-01", "T-03", len(dup))

    # landing: each daily file lands 30 min after its day ends; one file lands 30 h late
    files = bronze.groupby("_source_file").reading_ts.max().reset_index()
    files["file_modified_at"] = files.reading_ts + pd.Timedelta(minutes=30)
    if defects:
        late = f"{COMPANY}/sensors/OVEN-02_{DAY1 + timedelta(days=1):%Y%m%d}.csv"
        files.loc[files._source_file == late, "file_modified_at"] += pd.Timedelta(hours=30)
        planted.late_file = late

    opened = contextlib.ExitStack()
    con = _connect(path, opened)
    con.execute("set TimeZone = 'UTC'")
    for schema in ("bronze", "main", "reference"):
        con.execute(f"create schema if not exists {schema}")
    ingested = pd.Timestamp("2026-11-05 00:00", tz="UTC")
    bronze = bronze.assign(company_id=COMPANY, _source_hash=bronze._source_file.map(lambda f: _md5(f)),
                           _ingested_at=ingested, _ingest_run_id="run-1", _handover_seq=1)
    con.register("b", bronze)
    con.execute("""create table bronze.sensor_readings as select company_id, line_id, equipment_id, source_tag, tag,
                   value, unit, reading_ts::timestamptz as reading_ts, _source_row::bigint as _source_row, _source_file,
                   _source_hash, _ingested_at::timestamptz as _ingested_at, _ingest_run_id,
                   _handover_seq::bigint as _handover_seq from b""")
    con.execute(f"create table main.dim_tag as select * from read_csv('{SEEDS / 'tag_dictionary.csv'}', header = true)")
    unit_status = np.where(readings.unit.isin(["degC", "kPa"]), "ok", "unknown_unit")
    fct = readings.assign(company_id=COMPANY, unit_status=unit_status)
    con.register("f", fct)
    con.execute("""
        create table main.fct_sensor_readings as
        select company_id,
               'SITE-1' as site_id, line_id, equipment_id, equipment_id || ':' || source_tag as sensor_id, source_tag,
               tag as tag_code, value as value_raw, unit as unit_raw, value as value_si,
               case tag when 'TEMP' then 'degC' else 'kPa' end as si_unit, unit_status,
               reading_ts::timestamptz as reading_ts_utc, timezone('Asia/Seoul', reading_ts::timestamptz) as reading_ts_kst,
               cast(timezone('Asia/Seoul', reading_ts::timestamptz) as date) as reading_date_kst,
               _source_file as source_file, _source_row::bigint as source_row, md5(_source_file) as source_hash,
               timestamptz '2026-11-05 00:00:00+00' as ingested_at, 1::bigint as _handover_seq
        from f""")

    # production lots, inspections, events: 4 lots a day on LINE-A
    lots, inspections, events = [], [], []
    for d in range(DAYS):
        for k in range(4):
            start = at(d, 6 + 4 * k)
            lot_id = f"L{d}{k}"
            lots.append({"lot_id": lot_id, "start": start, "end": start + pd.Timedelta(hours=3), "quantity": 100.0,
                         "defect_quantity": 2.0, "file": f"{COMPANY}/mes/lots_{d}.csv"})
            inspections.append({"lot_id": lot_id, "at": start + pd.Timedelta(hours=3, minutes=10), "value": 10.0,
                                "result": "pass", "file": f"{COMPANY}/qc/qc_{d}.csv"})
            events.append({"equipment_id": "MIX-01", "ts": start, "event_type": "run", "file": f"{COMPANY}/ev/ev_{d}.csv"})
    if defects:
        for lot_id in ("X-404", "X-405"):
            inspections.append({"lot_id": lot_id, "at": at(1, 22), "value": 9.0, "result": "fail",
                                "file": f"{COMPANY}/qc/qc_1.csv"})
        planted.orphan_lots = ["X-404", "X-405"]
    lots, inspections, events = pd.DataFrame(lots), pd.DataFrame(inspections), pd.DataFrame(events)
    for name, frame in (("lots", lots), ("insp", inspections), ("ev", events)):
        con.register(name, frame)
    con.execute(f"""
        create table main.fct_production_lots as
        select md5(concat_ws('|', '{COMPANY}', lot_id)) as lot_key, '{COMPANY}' as company_id, 'SITE-1' as site_id,
               'LINE-A' as line_id, 'MIX-01' as equipment_id, lot_id, 'P-1' as product_code,
               "start"::timestamptz as start_ts_utc, "end"::timestamptz as end_ts_utc,
               timezone('Asia/Seoul', "start"::timestamptz) as start_ts_kst, timezone('Asia/Seoul', "end"::timestamptz) as end_ts_kst,
               cast(timezone('Asia/Seoul', "start"::timestamptz) as date) as production_date_kst, quantity, defect_quantity,
               quantity - defect_quantity as good_quantity, file as source_file, 2::bigint as source_row from lots""")
    con.execute(f"""
        create table bronze.production_lots as
        select '{COMPANY}' as company_id, 'LINE-A' as line_id, 'MIX-01' as equipment_id, lot_id, 'P-1' as product_code,
               "start"::timestamptz as start_ts, "end"::timestamptz as end_ts, quantity, defect_quantity,
               2::bigint as _source_row, file as _source_file, md5(file) as _source_hash,
               timestamptz '2026-11-05 00:00:00+00' as _ingested_at, 'run-1' as _ingest_run_id, 1::bigint as _handover_seq
        from lots""")
    con.execute(f"""
        create table main.fct_quality_inspections as
        select md5(concat_ws('|', '{COMPANY}', lot_id, 'thickness', "at")) as inspection_key,
               md5(concat_ws('|', '{COMPANY}', lot_id)) as lot_key, '{COMPANY}' as company_id, 'LINE-A' as line_id,
               lot_id, "at"::timestamptz as inspected_at_utc, timezone('Asia/Seoul', "at"::timestamptz) as inspected_at_kst,
               'thickness' as characteristic, value as measured_value, 9.5 as lower_spec, 10.5 as upper_spec,
               'mm' as unit, result, result = 'fail' as is_defect, null::varchar as defect_type_raw,
               null::varchar as defect_code, null::varchar as defect_name_ko, null::varchar as defect_name_en,
               file as source_file, 2::bigint as source_row from insp""")
    con.execute(f"""
        create table bronze.quality_inspections as
        select '{COMPANY}' as company_id, 'LINE-A' as line_id, lot_id, "at"::timestamptz as inspected_at,
               'thickness' as characteristic, value as measured_value, 9.5 as lower_spec, 10.5 as upper_spec,
               'mm' as unit, result, null::varchar as defect_type, 2::bigint as _source_row, file as _source_file,
               md5(file) as _source_hash, timestamptz '2026-11-05 00:00:00+00' as _ingested_at,
               'run-1' as _ingest_run_id, 1::bigint as _handover_seq from insp""")
    con.execute(f"""
        create table main.fct_equipment_events as
        select md5(concat_ws('|', '{COMPANY}', equipment_id, ts)) as event_key, '{COMPANY}' as company_id,
               'LINE-A' as line_id, equipment_id, ts::timestamptz as event_ts_utc,
               timezone('Asia/Seoul', ts::timestamptz) as event_ts_kst, event_type, 'E0' as event_code,
               '가동 시작' as message, file as source_file, 2::bigint as source_row from ev""")
    con.execute(f"""
        create table bronze.equipment_events as
        select '{COMPANY}' as company_id, 'LINE-A' as line_id, equipment_id, ts::timestamptz as event_ts, event_type,
               'E0' as event_code, '가동 시작' as message, 2::bigint as _source_row, file as _source_file,
               md5(file) as _source_hash, timestamptz '2026-11-05 00:00:00+00' as _ingested_at,
               'run-1' as _ingest_run_id, 1::bigint as _handover_seq from ev""")

    # landing files: sensor files as computed above; the others land 30 min after their last event
    other = pd.concat([
        lots.groupby("file")["end"].max().rename("last").reset_index().assign(dataset="production_lots"),
        inspections.groupby("file")["at"].max().rename("last").reset_index().assign(dataset="quality_inspections"),
        events.groupby("file")["ts"].max().rename("last").reset_index().assign(dataset="equipment_events"),
    ])
    landing = pd.concat([
        pd.DataFrame({"source_file": files._source_file, "dataset": "sensor_readings",
                      "file_modified_at": files.file_modified_at}),
        pd.DataFrame({"source_file": other.file, "dataset": other.dataset,
                      "file_modified_at": other["last"] + pd.Timedelta(minutes=30)}),
    ], ignore_index=True)
    rejections = pd.DataFrame(columns=["source_file", "dataset", "row_number", "column_name", "reason", "message"])
    if defects:
        bad_file = f"{COMPANY}/sensors/MIX-01_{DAY1:%Y%m%d}.csv"
        rejections = pd.DataFrame({
            "source_file": bad_file, "dataset": "sensor_readings", "row_number": [7, 8, 9],
            "column_name": "T-03", "reason": "unparseable_value", "message": "'###' is not a number"})
        planted.rejected_rows = 3
    landing["rows_rejected"] = landing.source_file.map(rejections.groupby("source_file").size()).fillna(0).astype(int)
    landing["status"] = np.where(landing.rows_rejected > 0, "partial", "ingested")
    con.register("landing", landing)
    con.execute(f"""
        create table main.fct_landing_files as
        select '{COMPANY}' as company_id, source_file, md5(source_file) as source_hash, dataset, status,
               100::bigint as rows_landed, rows_rejected::bigint as rows_rejected,
               file_modified_at::timestamptz as file_modified_at,
               timestamptz '2026-11-05 00:00:00+00' as ingested_at, null::varchar as unmapped_columns from landing""")
    con.execute(f"""
        create table bronze.ingest_log as
        select '{COMPANY}' as company_id, source_file, md5(source_file) as source_hash, dataset, status,
               100::bigint as rows_landed, rows_rejected::bigint as rows_rejected, null::varchar as unmapped_columns,
               'm1' as mapping_version, 1000::bigint as file_size_bytes, file_modified_at::timestamptz as file_modified_at,
               timestamptz '2026-11-05 00:00:00+00' as ingested_at, 'run-1' as ingest_run_id, 1::bigint as _handover_seq
        from landing""")
    con.register("rj", rejections)
    con.execute(f"""
        create table bronze.ingest_rejections as
        select '{COMPANY}' as company_id, source_file::varchar as source_file, md5(source_file::varchar) as source_hash,
               dataset::varchar as dataset, row_number::bigint as row_number, column_name::varchar as column_name,
               reason::varchar as reason, message::varchar as message,
               timestamptz '2026-11-05 00:00:00+00' as quarantined_at, 'run-1' as ingest_run_id,
               1::bigint as _handover_seq from rj""")
    con.execute(f"""
        create table main.dim_company as
        select '{COMPANY}' as company_id, '테스트정밀(주)' as name_ko, 'Test Precision Co., Ltd.' as name_en,
               'cheongju' as region_code, '청주시' as region_name_ko, 'Cheongju' as region_name_en,
               'auto_parts' as industry_code, '자동차부품' as industry_name_ko, 'Auto parts' as industry_name_en,
               'small' as size_band, 2026 as cohort_year, 'quality' as current_stage, '품질' as current_stage_name_ko""")
    opened.close()
    return planted
