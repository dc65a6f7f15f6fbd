"""Every distinct measurement reaches the warehouse: exports that repeat a timestamp on many rows
(a press log with a date only, a melting-tank log at minute resolution with ~10 rows a minute, a
per-shot table keyed by its shot counter) keep every row in fct_sensor_readings and the hourly
aggregate; a re-sent file adds none; incremental builds equal a full rebuild.

The bronze rows are written here by hand, in the shapes the ingest lands those exports, so the
expected counts are simple arithmetic on the rows written.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from orchestration.ingest.bronze_schemas import REGISTRY_SCHEMAS, bronze_schema
from orchestration.lakehouse.bronze import INGEST_LOG_SCHEMA
from orchestration.warehouse.build import build_warehouse
from orchestration.warehouse.ducklake import Warehouse

UTC = timezone.utc
COMPANY = "CJ-PRS-01"
T1 = datetime(2026, 10, 6, 1, 0, tzinfo=UTC)
T2 = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)
PRESS_ROWS, TANK_MINUTES, TANK_ROWS_PER_MINUTE, SHOTS = 1200, 30, 10, 240
TAGS = (("가압력", "PRES", "MPa"), ("온도", "TEMP", "degC"))

# The bronze columns of the issue-10 contract, whether or not this checkout's ingest writes them yet.
CONTRACT_COLUMNS = (("sequence_id", pa.string()), ("lot_id", pa.string()), ("_dataset_entry", pa.string()),
                    ("_mapping_version", pa.string()))


LEDGER_COLUMNS = (("dataset_entry", pa.string()), ("source_rows", pa.int64()), ("bronze_rows", pa.int64()),
                  ("duplicate_of", pa.string()))


def with_columns(schema: pa.Schema, columns) -> pa.Schema:
    for name, type_ in columns:
        if name not in schema.names:
            schema = schema.append(pa.field(name, type_))
    return schema


def sensor_schema() -> pa.Schema:
    return with_columns(bronze_schema("sensor_readings"), CONTRACT_COLUMNS)


def readings(file: str, equipment: str, times: list[datetime], ingested_at: datetime, *, sequences=None,
             lots=None) -> list[dict]:
    """One wide export: a row per timestamp, one reading per tag column (rows numbered from line 2)."""
    rows = []
    for index, ts in enumerate(times):
        for column, tag, unit in TAGS:
            rows.append({
                "company_id": COMPANY, "line_id": "L1", "equipment_id": equipment, "source_tag": column, "tag": tag,
                "value": float(index % 97) + (1.0 if tag == "PRES" else 0.5), "unit": unit, "reading_ts": ts,
                "sequence_id": sequences[index] if sequences else None, "lot_id": lots[index] if lots else None,
                "_source_row": index + 2, "_source_file": file, "_source_hash": f"sha-{Path(file).stem.split('_')[0]}",
                "_ingested_at": ingested_at, "_ingest_run_id": "t", "_dataset_entry": "sensor_readings",
                "_mapping_version": "m1"})
    return rows


def press_log(file: str, ingested_at: datetime) -> list[dict]:
    # 프레스 로그: the export writes the date only, so all 1,200 strokes carry 00:00 KST
    return readings(file, "PRS-01", [datetime(2026, 10, 4, 15, tzinfo=UTC)] * PRESS_ROWS, ingested_at)


def tank_log(file: str, start: datetime, ingested_at: datetime) -> list[dict]:
    # 용해로 로그: minute resolution, ten rows in every minute
    times = [start + timedelta(minutes=m) for m in range(TANK_MINUTES) for _ in range(TANK_ROWS_PER_MINUTE)]
    return readings(file, "TANK-01", times, ingested_at)


def shot_table(file: str, ingested_at: datetime) -> list[dict]:
    # per-shot table: two shots in most seconds, told apart by the shot counter (count column)
    start = datetime(2026, 10, 5, 0, tzinfo=UTC)
    times = [start + timedelta(seconds=i // 2) for i in range(SHOTS)]
    return readings(file, "DC-01", times, ingested_at, sequences=[str(5000 + i) for i in range(SHOTS)],
                    lots=[f"SHOT-{5000 + i}" for i in range(SHOTS)])


def append(bronze: Path, name: str, rows: list[dict], schema: pa.Schema) -> None:
    write_deltalake(str(bronze / name), pa.Table.from_pylist(rows, schema=schema), mode="append",
                    partition_by=["company_id"], schema_mode="merge")


def log(file: str, source_rows: int, at: datetime, rejected: int = 0) -> dict:
    """The ledger row of a wide export of `source_rows` data rows, two sensor columns each."""
    return {"company_id": COMPANY, "source_file": file, "source_hash": f"sha-{Path(file).stem.split('_')[0]}",
            "dataset": "sensor_readings", "dataset_entry": "sensor_readings", "status": "partial" if rejected else "ingested",
            "source_rows": source_rows, "rows_landed": source_rows - rejected, "rows_rejected": rejected,
            "bronze_rows": 2 * (source_rows - rejected), "duplicate_of": None, "unmapped_columns": None,
            "mapping_version": "m1", "file_size_bytes": 100, "file_modified_at": at - timedelta(minutes=5),
            "ingested_at": at, "ingest_run_id": "t"}


def log_schema() -> pa.Schema:
    return with_columns(INGEST_LOG_SCHEMA, LEDGER_COLUMNS)


PRESS, TANK1, TANK2, SHOTS_FILE = (f"{COMPANY}/press/20261005.csv", f"{COMPANY}/tank/20261005.csv",
                                   f"{COMPANY}/tank/20261006.csv", f"{COMPANY}/shots/20261005.csv")
RESENT = f"{COMPANY}/press/20261005_resent.csv"  # same content (hash), another name, a day later


def land_first(bronze: Path) -> int:
    append(bronze, "companies", [
        {"company_id": COMPANY, "name_ko": "청주프레스(주)", "name_en": "Cheongju Press", "region": "cheongju",
         "industry": "25", "size_band": "small", "cohort_year": 2026, "registry_loaded_at": T1}],
        REGISTRY_SCHEMAS["companies"])
    batch = press_log(PRESS, T1) + tank_log(TANK1, datetime(2026, 10, 5, 1, tzinfo=UTC), T1) + shot_table(SHOTS_FILE, T1)
    append(bronze, "sensor_readings", batch, sensor_schema())
    append(bronze, "ingest_log", [log(PRESS, PRESS_ROWS, T1), log(TANK1, TANK_MINUTES * TANK_ROWS_PER_MINUTE, T1),
                                  log(SHOTS_FILE, SHOTS, T1)], log_schema())
    return len(batch)


def land_second(bronze: Path) -> int:
    batch = press_log(RESENT, T2) + tank_log(TANK2, datetime(2026, 10, 6, 1, tzinfo=UTC), T2)
    append(bronze, "sensor_readings", batch, sensor_schema())
    # the second tank file had 7 more rows, rejected by the ingest (blank values)
    append(bronze, "ingest_log", [log(RESENT, PRESS_ROWS, T2),
                                  log(TANK2, TANK_MINUTES * TANK_ROWS_PER_MINUTE + 7, T2, rejected=7)], log_schema())
    return len(batch)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("identity")
    bronze = root / "bronze"
    first = land_first(bronze)
    warehouse = Warehouse.in_folder(root / "incremental")
    build_warehouse(warehouse, bronze)
    with warehouse.connect_read_only() as con:
        after_first = con.execute("select count(*) from fct_sensor_readings").fetchone()[0]
    second = land_second(bronze)
    build_warehouse(warehouse, bronze)
    full = Warehouse.in_folder(root / "full")
    build_warehouse(full, bronze, ["build", "--full-refresh", "--exclude", "resource_type:test resource_type:unit_test"])
    return {"warehouse": warehouse, "full": full, "first": first, "second": second, "after_first": after_first}


@pytest.fixture(scope="module")
def con(built):
    connection = built["warehouse"].connect_read_only()
    yield connection
    connection.close()


def test_every_row_of_the_first_exports_is_a_reading(built):
    # 1,200 date-only strokes + 300 tank rows + 240 shots, two tags each: nothing collapsed
    assert built["first"] == 2 * (PRESS_ROWS + TANK_MINUTES * TANK_ROWS_PER_MINUTE + SHOTS)
    assert built["after_first"] == built["first"]


def test_a_re_sent_file_adds_no_reading_and_the_later_ingest_wins(built, con):
    new_tank_readings = 2 * TANK_MINUTES * TANK_ROWS_PER_MINUTE
    assert con.execute("select count(*) from fct_sensor_readings").fetchone()[0] == built["first"] + new_tank_readings
    press = con.execute("select source_file, count(*), count(distinct reading_occurrence) from fct_sensor_readings "
                        "where equipment_id = 'PRS-01' group by 1").fetchall()
    assert press == [(RESENT, 2 * PRESS_ROWS, PRESS_ROWS)]


def test_readings_keep_their_file_order_and_shot_identity(con):
    # the 7th stroke of the day (index 6) is source line 8, its value (6 % 97) + 1 MPa = 7 MPa = 7000 kPa
    assert con.execute("select source_row, value_si from fct_sensor_readings where equipment_id = 'PRS-01' "
                       "and tag_code = 'PRES' and reading_occurrence = 7").fetchall() == [(8, pytest.approx(7000.0))]
    shots = con.execute("select count(*), count(distinct sequence_id), count(distinct lot_id), min(lot_id) "
                        "from fct_sensor_readings where equipment_id = 'DC-01' and tag_code = 'TEMP'").fetchone()
    assert shots == (SHOTS, SHOTS, SHOTS, "SHOT-5000")


def test_the_hourly_aggregate_counts_every_reading(con):
    total = con.execute("select count(*) from fct_sensor_readings").fetchone()[0]
    assert con.execute("select sum(readings) from fct_sensor_readings_hourly").fetchone()[0] == total
    # the tank's first hour: 30 minutes x 10 rows of one tag
    assert con.execute("select readings from fct_sensor_readings_hourly where equipment_id = 'TANK-01' "
                       "and tag_code = 'TEMP' and hour_utc = ?", [datetime(2026, 10, 5, 1, tzinfo=UTC)]
                       ).fetchall() == [(TANK_MINUTES * TANK_ROWS_PER_MINUTE,)]


def test_incremental_builds_equal_a_full_rebuild(built):
    from test_incremental_day import assert_same_marts

    assert_same_marts(built["warehouse"], built["full"])


def test_landing_files_reconcile_rows_and_readings(con):
    files = con.execute(
        "select source_file, status, source_rows, rows_landed, rows_rejected, readings_landed, readings_in_warehouse "
        "from fct_landing_files order by source_file").fetchall()
    tank = TANK_MINUTES * TANK_ROWS_PER_MINUTE
    assert files == [
        (PRESS, "ingested", PRESS_ROWS, PRESS_ROWS, 0, 2 * PRESS_ROWS, 0),  # every reading re-sent by RESENT
        (RESENT, "ingested", PRESS_ROWS, PRESS_ROWS, 0, 2 * PRESS_ROWS, 2 * PRESS_ROWS),
        (SHOTS_FILE, "ingested", SHOTS, SHOTS, 0, 2 * SHOTS, 2 * SHOTS),
        (TANK1, "ingested", tank, tank, 0, 2 * tank, 2 * tank),
        (TANK2, "partial", tank + 7, tank, 7, 2 * tank, 2 * tank),
    ]
    assert all(source == landed + rejected for _, _, source, landed, rejected, _, _ in files)
    # readings in the warehouse = readings landed - true duplicates (the re-sent press log)
    landed, kept = con.execute(
        "select sum(readings_landed), sum(readings_in_warehouse) from fct_landing_files").fetchone()
    assert kept == con.execute("select count(*) from fct_sensor_readings").fetchone()[0]
    assert landed - kept == 2 * PRESS_ROWS


def test_a_column_bronze_gains_reaches_the_facts_at_the_next_build(tmp_path):
    """A bronze table an older ingest wrote lacks the columns newer ingests write, until Delta's
    schema evolution adds them. The build reads which columns bronze has from the Delta schema it
    records at each preparation (ops.bronze_columns), so the daily build after the first ingest
    that writes shot counters takes them, and a per-shot table keeps every shot."""
    bronze = tmp_path / "bronze"
    older = pa.schema([field for field in sensor_schema() if field.name not in ("sequence_id", "lot_id")])
    append(bronze, "companies", [
        {"company_id": COMPANY, "name_ko": "청주프레스(주)", "name_en": "Cheongju Press", "region": "cheongju",
         "industry": "25", "size_band": "small", "cohort_year": 2026, "registry_loaded_at": T1}],
        REGISTRY_SCHEMAS["companies"])
    append(bronze, "sensor_readings", press_log(PRESS, T1), older)
    append(bronze, "ingest_log", [log(PRESS, PRESS_ROWS, T1)], log_schema())
    warehouse = Warehouse.in_folder(tmp_path / "warehouse")
    build_warehouse(warehouse, bronze)
    with warehouse.connect_read_only() as con:
        before = {c for (c,) in con.execute(
            "select column_name from ops.bronze_columns where table_name = 'sensor_readings'").fetchall()}

    append(bronze, "sensor_readings", shot_table(SHOTS_FILE, T2), sensor_schema())
    append(bronze, "ingest_log", [log(SHOTS_FILE, SHOTS, T2)], log_schema())
    day = build_warehouse(warehouse, bronze)
    with warehouse.connect_read_only() as con:
        after = {c for (c,) in con.execute(
            "select column_name from ops.bronze_columns where table_name = 'sensor_readings'").fetchall()}
        shots = con.execute("select count(distinct sequence_id), count(*) from fct_sensor_readings "
                            "where source_file = ?", [SHOTS_FILE]).fetchone()
        press = con.execute("select count(sequence_id), count(*) from fct_sensor_readings where source_file = ?",
                            [PRESS]).fetchone()

    assert "sequence_id" not in before and {"sequence_id", "lot_id"} <= after
    assert day.dbt_args[:2] == ["build", "--exclude"]  # a daily build, not a rebuild
    assert shots == (SHOTS, 2 * SHOTS)
    assert press == (0, 2 * PRESS_ROWS)
