"""Real export shapes end to end through the warehouse: the ingest's real-export fixtures
(KAMP-like per-shot die casting, 5 s extruder PLC, date-only press, minute melting tank, CNC
without clock, MES work orders) are ingested and built; every reading in the file is a reading in
fct_sensor_readings, labels and events sit beside them, row counts reconcile per file and entry,
and retract + re-ingest after a mapping fix leaves the warehouse equal to a clean ingest.

Expected counts and values come from the fixtures' own rows (what the test wrote), not from
the ingest or the warehouse.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))
from real_exports import ALL_EXPORTS, COMPANY, NOW, Lake, kst_to_utc, melting_tank, number  # noqa: E402

from orchestration.ingest.bronze_schemas import REGISTRY_SCHEMAS  # noqa: E402
from orchestration.ingest.retract import main as retract  # noqa: E402
from orchestration.warehouse.build import build_warehouse  # noqa: E402
from orchestration.warehouse.ducklake import Warehouse  # noqa: E402

SENSOR_COLUMNS = {"kamp_shots": 15, "press_log": 3, "melt_log": 3}


def register(lake: Lake) -> None:
    write_deltalake(str(lake.root / "bronze" / "companies"), pa.Table.from_pylist([
        {"company_id": COMPANY, "name_ko": "(주)리얼다이캐스트", "name_en": "Real Diecast", "region": "jincheon",
         "industry": "2432", "size_band": "small", "cohort_year": 2026, "registry_loaded_at": NOW}],
        schema=REGISTRY_SCHEMAS["companies"]), mode="overwrite")


def build(lake: Lake):
    warehouse = Warehouse.in_folder(lake.root / "warehouse")
    build_warehouse(warehouse, lake.root / "bronze")
    return warehouse


@pytest.fixture(scope="module")
def every_export(tmp_path_factory):
    exports = {make.__name__: make() for make in ALL_EXPORTS}
    lake = Lake(tmp_path_factory.mktemp("real") / "lake", list(exports.values()))
    lake.ingest()
    register(lake)
    warehouse = build(lake)
    con = warehouse.connect_read_only()
    yield exports, con
    con.close()


def test_every_reading_in_the_files_is_a_reading_in_the_warehouse(every_export):
    exports, con = every_export
    counts = dict(con.execute("select dataset_entry, count(*) from fct_sensor_readings group by 1").fetchall())
    press, melt, kamp = exports["press_date_only"], exports["melting_tank"], exports["kamp_die_casting"]
    assert counts["press_log"] == len(press.rows) * SENSOR_COLUMNS["press_log"]  # 3,000 rows on two dates
    assert counts["melt_log"] == len(melt.rows) * SENSOR_COLUMNS["melt_log"]  # ~10 rows a minute
    # the per-shot table: rows with a junk date are rejected; sentinel and blank cells are no reading
    notes = kamp.notes
    assert counts["kamp_shots"] == ((len(kamp.rows) - len(notes["junk"])) * SENSOR_COLUMNS["kamp_shots"]
                                    - len(notes["sentinels"]) - len(notes["blanks"]))
    # every entry: the warehouse holds every reading bronze landed (nothing collapsed)
    files = con.execute("select dataset_entry, readings_landed, readings_in_warehouse from fct_landing_files "
                        "where dataset = 'sensor_readings'").fetchall()
    assert len(files) == 5 and all(landed == kept and kept == counts[entry] for entry, landed, kept in files)


def test_rows_reconcile_per_file_and_entry(every_export):
    _, con = every_export
    rows = con.execute("select source_file, dataset_entry, status, source_rows, rows_landed, rows_rejected "
                       "from fct_landing_files").fetchall()
    assert len(rows) >= 9  # one file read by four entries counts four times
    assert all(source == landed + rejected for _, _, _, source, landed, rejected in rows), rows
    kamp = {entry: (status, rejected) for file, entry, status, _, _, rejected in rows if "kamp" in file}
    assert set(kamp) == {"kamp_shots", "kamp_results", "kamp_states", "kamp_lots"}
    assert kamp["kamp_shots"] == ("partial", 2)  # the 1900 and 2068 dates


def test_spot_values_lot_and_shot_identity(every_export):
    exports, con = every_export
    melt = exports["melting_tank"]
    for row in random.Random(5).sample(melt.rows, 15):
        got = con.execute("select value_si, lot_id, reading_ts_utc from fct_sensor_readings "
                          "where dataset_entry = 'melt_log' and source_row = ? and tag_code = 'TEMP'",
                          [row["_line"]]).fetchall()
        assert got == [(pytest.approx(float(row["용해온도(℃)"])), row["배치번호"],
                        kst_to_utc(dt.datetime.strptime(row["측정시간"], "%Y-%m-%d %H:%M")))]
    press = exports["press_date_only"]
    for row in random.Random(6).sample(press.rows, 10):  # 유압 in kgf/cm2 -> kPa
        got = con.execute("select value_si from fct_sensor_readings where dataset_entry = 'press_log' "
                          "and source_row = ? and source_tag = '유압'", [row["_line"]]).fetchall()
        assert got == [(pytest.approx(float(row["유압"]) * 98.0665),)]
    kamp = exports["kamp_die_casting"]
    row = next(r for r in kamp.rows[300:] if r["_line"] not in kamp.notes["junk"])
    got = con.execute("select sequence_id, lot_id, value_si, unit_status from fct_sensor_readings "
                      "where dataset_entry = 'kamp_shots' and source_row = ? and source_tag = 'cast_pressure'",
                      [row["_line"]]).fetchall()
    assert got == [(row["count"], row["count"], pytest.approx(float(row["cast_pressure"]) * 1000), "ok")]
    # a die-casting pressure of ~62 MPa is plausible now (the tag's range reaches 300 MPa)
    assert con.execute("select count(*) from fct_sensor_readings r join dim_tag t using (tag_code) "
                       "where r.dataset_entry = 'kamp_shots' and (value_si > plausible_max or value_si < plausible_min)"
                       ).fetchone() == (0,)


def test_labels_and_events_sit_beside_the_readings(every_export):
    exports, con = every_export
    kamp, melt = exports["kamp_die_casting"], exports["melting_tank"]
    accepted = [r for r in kamp.rows if r["_line"] not in kamp.notes["junk"]]
    inspections = dict(con.execute("select result, count(*) from fct_quality_inspections where company_id = ? "
                                   "and source_file like '%kamp%' group by 1", [COMPANY]).fetchall())
    assert inspections == {"fail": sum(r["passorfail"] == "1" for r in accepted),
                           "pass": sum(r["passorfail"] == "0" for r in accepted)}
    assert con.execute("select count(*) from fct_quality_inspections where source_file like '%용해로%'").fetchone() == (
        len(melt.rows),)
    events = dict(con.execute("select event_type, count(*) from fct_equipment_events where source_file like '%kamp%' "
                              "group by 1").fetchall())
    assert sum(events.values()) == len(accepted) and events["stop"] == sum(r["working"] == "정지" for r in accepted)
    # one lot per shot, so readings join to their shot's inspection through lot_id
    joined = con.execute("""
        select count(distinct r.lot_id) from fct_sensor_readings r
        join fct_quality_inspections q on q.company_id = r.company_id and q.lot_id = r.lot_id
        where r.dataset_entry = 'kamp_shots'""").fetchone()[0]
    assert joined == len(accepted)


def warehouse_content(warehouse: Warehouse) -> dict[str, list]:
    """The facts' rows without the columns that name a run, its time or a build batch."""
    volatile = {"ingested_at", "_load_seq", "_bronze_version", "file_modified_at"}
    out = {}
    with warehouse.connect_read_only() as con:
        for table in ("fct_sensor_readings", "fct_quality_inspections", "fct_landing_files"):
            columns = [c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = 'main' and table_name = ? "
                "order by ordinal_position", [table]).fetchall() if c not in volatile]
            out[table] = con.execute(f"select {', '.join(columns)} from main.{table} order by all").fetchall()
    return out


def test_retract_and_reingest_leaves_the_warehouse_equal_to_a_clean_ingest(tmp_path):
    export = melting_tank(minutes=30)
    export.rows[7]["품질판정"] = ""  # a blank label: rejected under both mappings
    new_mapping = export.mapping
    export.mapping = new_mapping.replace("투입중량: {tag: WEIGHT, unit: kg}", "투입중량: {tag: WEIGHT, unit: g}")
    fixed = Lake(tmp_path / "fixed", [export])
    fixed.ingest()
    register(fixed)
    before = build(fixed)
    with before.connect_read_only() as con:  # the wrong unit reached the warehouse: grams, 1000x too light
        assert con.execute("select distinct unit_raw from fct_sensor_readings where source_tag = '투입중량'"
                           ).fetchall() == [("g",)]

    fixed.mapping_file.write_text(fixed.mapping_file.read_text(encoding="utf-8").replace(export.mapping, new_mapping),
                                  encoding="utf-8")
    assert retract([COMPANY, export.relative.split("/", 1)[1], "--reingest", "--reason", "투입중량 is in kg",
                    "--lake-root", str(fixed.root), "--clients-dir", str(fixed.root)]) == 0
    after = build(fixed)

    export.mapping = new_mapping
    clean = Lake(tmp_path / "clean", [export])
    clean.ingest()
    register(clean)
    assert warehouse_content(after) == warehouse_content(build(clean))


def test_work_orders_and_their_shipments(every_export):
    exports, con = every_export
    mes = exports["mes_work_orders"]
    shipped = {r["작업지시번호"]: [number(r[f"{n}차출하수량"]) for n in range(1, 11) if r[f"{n}차출하일"]] for r in mes.rows}
    assert con.execute("select count(*) from fct_work_orders").fetchone() == (len(mes.rows),)
    assert con.execute("select count(*) from fct_shipments").fetchone() == (sum(len(q) for q in shipped.values()),)
    for row in random.Random(7).sample(mes.rows, 10):
        order = row["작업지시번호"]
        got = con.execute("select quantity, quantity_unit, shipments, shipped_quantity, remaining_quantity, "
                          "cast(ordered_at_kst as date) from fct_work_orders where order_id = ?", [order]).fetchall()
        total = sum(shipped[order])
        assert got == [(number(row["지시수량"]), "ea", len(shipped[order]), pytest.approx(total),
                        pytest.approx(number(row["지시수량"]) - total), dt.date.fromisoformat(row["지시일"]))]
