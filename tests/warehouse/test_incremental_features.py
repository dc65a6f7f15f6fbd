"""Incremental builds of the ML feature models give the same feature tables as a full rebuild.

The real path at small size: two clients (one sending lots, one a KAMP-style per-shot table),
two days built, then a new day together with the sensor and event files of a day before the
history (a late upload: readings and events in the past, no units for them yet), then that day's
production lots and inspections (new windows over readings already built, labels of units already
built, history features of every later unit), then a stop the event log missed, sent afterwards
for the middle of a lot already built. A full rebuild of the same bronze is compared with
it, every feature table row for row.
"""

from __future__ import annotations

from datetime import date, timedelta, timezone
from pathlib import Path

import shutil

import duckdb

from orchestration.lakehouse.landing_to_bronze import ingest_landing
from orchestration.sample_clients import generate_sample
from orchestration.warehouse.build import build_warehouse
from orchestration.warehouse.connection import connect
from orchestration.warehouse.ducklake import Warehouse

REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "clients"
START = date(2026, 11, 2)
COMPANIES = ["CJ-COS-01", "JC-DCS-03"]  # lots; shots
# The rows of each feature table are identified by these columns.
KEYS = {
    "production_units": ["unit_key"],
    "unit_sensor_window_features": ["unit_key", "source_tag"],
    "unit_equipment_state": ["unit_key"],
    "unit_history_features": ["unit_key"],
    "equipment_hourly_features": ["company_id", "sensor_id", "hour_utc"],
}


def arrive(lake: Path, start: date, days: int, seed: int, folders: tuple[str, ...] | None = None) -> None:
    """Sample days land (only the files under `folders` of each client's landing, if given) and are ingested."""
    staged = lake.parent / f"staged-{start}"
    if not staged.exists():
        generate_sample(staged, seed=seed, start=start, days=days, sampling_seconds=600, companies=COMPANIES)
    for file in staged.rglob("*.*"):
        relative = file.relative_to(staged)
        if len(relative.parts) > 2 and (folders is None or relative.parts[1] in folders):
            (lake / "landing" / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, lake / "landing" / relative)
    ingest_landing(lake / "landing", CLIENTS, lake / "bronze", lake / "quarantine", companies=COMPANIES)


def differing_rows(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int, int]:
    """(rows, rows only in one of the two builds, rows whose values differ) of features.`table`.
    Doubles agree to 1e-9 relative: a mean summed in another order may differ in its last bits,
    as two full builds may. Columns named `_…` record which load a row was computed in."""
    columns = [(c, t) for c, t in con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = 'inc' "
        "and table_schema = 'features' and table_name = ? order by ordinal_position", [table]).fetchall()
        if not c.startswith("_")]
    keys = KEYS[table]
    on = " and ".join(f"i.{k} = f.{k}" for k in keys)
    unequal = " or ".join(
        f"abs(i.{c} - f.{c}) > 1e-9 * greatest(abs(i.{c}), abs(f.{c})) or (i.{c} is null) <> (f.{c} is null)"
        if t == "DOUBLE" else f"i.{c} is distinct from f.{c}"
        for c, t in columns if c not in keys)
    rows, one_sided, differing = con.execute(f"""
        select count(*), count(*) filter (where i.{keys[0]} is null or f.{keys[0]} is null),
               count(*) filter (where i.{keys[0]} is not null and f.{keys[0]} is not null and ({unequal}))
        from inc.features.{table} as i full join ful.features.{table} as f on {on}""").fetchall()[0]
    return rows, one_sided, differing


def send_missed_stop(lake: Path, warehouse: Warehouse) -> tuple[str, int]:
    """A late CP949 event file of CJ-COS-01 with one stop in the middle of one of its built lots;
    returns the lot's unit_key and its stop count before."""
    with warehouse.connect_read_only() as reader:
        unit_key, equipment, line, start, end, stops = reader.execute("""
            select u.unit_key, u.equipment_id, u.line_id, u.start_ts_utc, u.end_ts_utc, s.stop_events
            from features.production_units as u join features.unit_equipment_state as s using (unit_key)
            where u.company_id = 'CJ-COS-01' and u.unit_kind = 'lot' and u.equipment_id is not null
            order by u.end_ts_utc, u.unit_key limit 1""").fetchall()[0]
    middle_kst = (start + (end - start) / 2).astimezone(timezone(timedelta(hours=9)))
    events = lake / "landing" / "CJ-COS-01" / "events"
    header = sorted(events.glob("*.csv"))[0].read_bytes().split(b"\n")[0].rstrip(b"\r")
    row = f"{middle_kst:%Y.%m.%d %H:%M:%S},{equipment},{line},정지,S900,누락된 정지 (추가 전송)".encode("cp949")
    (events / "설비이력_추가전송.csv").write_bytes(header + b"\r\n" + row + b"\r\n")
    ingest_landing(lake / "landing", CLIENTS, lake / "bronze", lake / "quarantine", companies=COMPANIES)
    return unit_key, stops


def test_features_built_day_by_day_and_after_a_late_upload_equal_a_full_rebuild(tmp_path):
    lake = tmp_path / "lake"
    warehouse = Warehouse.in_folder(lake / "warehouse")
    arrive(lake, START, 2, seed=21)
    build_warehouse(warehouse, lake / "bronze")
    arrive(lake, START + timedelta(days=2), 1, seed=22)
    late = START - timedelta(days=1)  # a day before the history, uploaded late: readings and events first
    arrive(lake, late, 1, seed=23, folders=("sensors", "events", "shots"))
    build_warehouse(warehouse, lake / "bronze")
    arrive(lake, late, 1, seed=23, folders=("mes", "qc"))  # then its lots and inspections
    build_warehouse(warehouse, lake / "bronze")
    # a stop the client's event log missed, sent afterwards for the middle of a lot already built:
    # only that lot's state changes (and the history of the units after it)
    unit_key, stops_before = send_missed_stop(lake, warehouse)
    build_warehouse(warehouse, lake / "bronze")
    with warehouse.connect_read_only() as reader:
        assert reader.execute("select stop_events from features.unit_equipment_state where unit_key = ?",
                              [unit_key]).fetchall() == [(stops_before + 1,)]
    full = Warehouse.in_folder(lake / "full")
    build_warehouse(full, lake / "bronze", ["build", "--full-refresh"])

    con = connect()
    con.execute(warehouse.attach_statement(alias="inc", snapshot=warehouse.published_snapshot()))
    con.execute(full.attach_statement(alias="ful", snapshot=full.published_snapshot()))
    kinds = dict(con.execute("select unit_kind, count(*) from ful.features.production_units group by all").fetchall())
    assert kinds.get("lot", 0) > 0 and kinds.get("shot", 0) > 0
    late_units = con.execute("select count(*) from inc.features.production_units where start_ts_utc < ?",
                             [START]).fetchall()[0][0]
    assert late_units > 0  # the late day's units are there
    differences = {table: counts for table in KEYS if (counts := differing_rows(con, table))[1:] != (0, 0)}
    assert differences == {}, "table: (rows, only in one build, differing values)"
    for table in KEYS:
        assert differing_rows(con, table)[0] > 0, table
    # the windows ledger knows every current unit with the window the full build sees
    assert con.execute("""
        select count(*) from (
            select unit_key, window_fingerprint, end_ts_utc from inc.features.unit_window_versions
            where window_fingerprint is not null
            except all
            select unit_key, window_fingerprint, end_ts_utc from ful.features.unit_window_versions)""").fetchall() == [(0,)]
