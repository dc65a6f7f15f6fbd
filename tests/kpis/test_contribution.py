"""Data contributed back: only a consenting company is exported, anonymised, with a data card
whose counts, span and label balance are those of its rows."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import duckdb
import pandas as pd
import pytest

from orchestration.kpis.contribution import consenting_companies, export_contribution, record_published

SECRET_NAMES = ["TS-COS-01", "TS-BAT-02", "(주)오창비밀", "MIXER-SECRET-7", "LINE-SECRET", "PRODUCT-SECRET",
                "export_2026.csv"]


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("set TimeZone = 'UTC'")
    for schema in ("main", "staging", "quality"):
        con.execute(f"create schema if not exists {schema}")
    con.execute("create table main.dim_company as select * from (values ('TS-COS-01', '(주)오창비밀', 'cosmetics'), "
                "('TS-BAT-02', '(주)다른회사', 'battery')) t(company_id, name_ko, industry_code)")
    con.execute("create table main.dim_industry as select * from (values ('cosmetics', '화장품'), ('battery', '이차전지')) "
                "t(industry_code, name_ko)")
    con.execute("create table staging.stg_company_programme as select * from (values ('TS-COS-01', true), "
                "('TS-BAT-02', false)) t(company_id, data_contribution_consent)")
    con.execute("""create table main.fct_production_lots as
        select company_id, 'lot-' || company_id || '-' || i as lot_key, 'LINE-SECRET' as line_id,
               'MIXER-SECRET-7' as equipment_id, 'PRODUCT-SECRET' as product_code,
               timestamptz '2026-11-02 00:00:00+00' + to_hours(i) as start_ts_utc,
               timestamptz '2026-11-02 00:40:00+00' + to_hours(i) as end_ts_utc,
               100.0 as quantity, cast(i % 3 as double) as defect_quantity,
               'export_2026.csv' as source_file
        from (values ('TS-COS-01'), ('TS-BAT-02')) c(company_id), range(40) r(i)""")
    con.execute("""create table main.fct_quality_inspections as
        select company_id, lot_key, start_ts_utc + interval 50 minute as inspected_at_utc, 'VISCOSITY' as characteristic,
               8000.0 + i as measured_value, 7000.0 as lower_spec, 10000.0 as upper_spec, 'mPa.s' as unit,
               case when i % 10 = 0 then 'fail' else 'pass' end as result, i % 10 = 0 as is_defect,
               case when i % 10 = 0 then 'APPEARANCE' end as defect_code
        from (select *, row_number() over (partition by company_id order by lot_key) as i from main.fct_production_lots)""")
    con.execute("""create table main.fct_sensor_readings_hourly as
        select 'TS-COS-01' as company_id, 'MIXER-SECRET-7' as equipment_id, 'TEMP' as tag_code, 'degC' as si_unit,
               timestamptz '2026-11-02 00:00:00+00' + to_hours(i) as hour_utc, 60 as readings,
               72.0 as avg_value_si, 71.0 as min_value_si, 73.0 as max_value_si, 0.5 as stddev_value_si
        from range(24) r(i)""")
    con.execute("create table quality.dq_latest as select 'TS-COS-01' as company_id, 'sensor_readings' as dataset, "
                "date '2026-11-02' as day_kst, 'overall' as dimension, 96.5 as score")
    yield con, tmp_path
    con.close()


def test_only_the_consenting_company_is_exported_anonymised(warehouse):
    con, root = warehouse
    assert consenting_companies(con) == ["TS-COS-01"]
    contribution = export_contribution(con, "TS-COS-01", root / "contrib")
    folder = contribution.path
    assert sorted(p.name for p in (folder / "data").iterdir()) == ["inspections.csv", "lots.csv", "sensor_hourly.csv"]
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8-sig")
            for secret in SECRET_NAMES:
                assert secret not in text, f"{secret} leaked into {path.name}"
    assert "TS-COS-01" not in contribution.dataset_id and contribution.dataset_id.startswith("CBMAI-COSMETICS-")
    assert export_contribution(con, "TS-COS-01", root / "again").dataset_id == contribution.dataset_id  # stable


def test_data_card_describes_the_rows(warehouse):
    con, root = warehouse
    c = export_contribution(con, "TS-COS-01", root / "contrib")
    card = json.loads((c.path / "datacard.json").read_text(encoding="utf-8"))
    lots = pd.read_csv(c.path / "data" / "lots.csv", encoding="utf-8-sig")
    inspections = pd.read_csv(c.path / "data" / "inspections.csv", encoding="utf-8-sig")
    for name, frame in (("lots.csv", lots), ("inspections.csv", inspections)):
        assert card["files"][name]["rows"] == len(frame)
        assert [col["name"] for col in card["files"][name]["columns"]] == list(frame.columns)
    assert len(lots) == 40 and set(lots["equipment"]) == {"E01"} and set(lots["product"]) == {"P01"}
    # label: a lot fails when any of its inspections failed - i % 10 == 0 for i = 1..40: 4 lots
    assert card["label_balance"] == {"column": "lots.csv PassOrFail", "pass": 36, "fail": 4, "fail_ratio": 0.1}
    assert (lots.PassOrFail == "Fail").sum() == 4
    assert card["time_span_kst"] == {"from": "2026-11-02 09:00:00", "to": "2026-11-04 00:40:00"}  # last lot ends 15:40 UTC on the 3rd
    assert card["quality_indices"] == {"overall": 96.5}
    assert card["units_of_tags"] == {"TEMP": "degC"}
    assert "데이터카드" not in card and (c.path / "데이터카드.md").read_text(encoding="utf-8").count("| lot_seq |") == 2


def test_published_datasets_are_recorded_once_each(warehouse):
    con, root = warehouse
    c = export_contribution(con, "TS-COS-01", root / "contrib")
    at = datetime(2026, 11, 30, tzinfo=timezone.utc)
    assert record_published(con, [c], at) == 1
    assert record_published(con, [c], at) == 1  # a re-export replaces its row
    row = con.execute("select dataset_id, lots, label_fail_ratio from contrib.published_datasets").fetchall()
    assert row == [(c.dataset_id, 40, 0.1)]
