"""A client re-sends a landing file under the same name with other content (a corrected export
with fewer rows): the warehouse keeps only the latest version's rows, in an incremental build as
in a full rebuild, while bronze keeps both versions as they landed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from deltalake import DeltaTable

from orchestration.ingest.retract import main as retract
from orchestration.lakehouse.landing_to_bronze import ingest_landing
from orchestration.sample_clients import generate_sample
from orchestration.warehouse.build import build_warehouse
from orchestration.warehouse.ducklake import Warehouse

REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "clients"
COMPANY = "CJ-COS-01"  # wide CP949 sensor export: 5 sensors per row
SENSORS_PER_ROW = 5
DROPPED = 10  # data lines the corrected version no longer has


def ingest(lake: Path) -> None:
    ingest_landing(lake / "landing", CLIENTS, lake / "bronze", lake / "quarantine", companies=[COMPANY])


def readings_of(warehouse: Warehouse, source_file: str) -> list[tuple]:
    with warehouse.connect_read_only() as con:
        return con.execute("select source_hash, count(*) from fct_sensor_readings where source_file = ? "
                           "group by 1", [source_file]).fetchall()


def test_only_the_latest_version_of_a_re_sent_file_is_in_the_warehouse(tmp_path):
    lake = tmp_path / "lake"
    generate_sample(lake / "landing", seed=5, start=date(2026, 11, 2), days=1, sampling_seconds=600,
                    companies=[COMPANY])
    sensor_file = next((lake / "landing" / COMPANY / "sensors").glob("*.csv"))
    relative = str(sensor_file.relative_to(lake / "landing"))
    warehouse = Warehouse.in_folder(lake / "warehouse")
    ingest(lake)
    build_warehouse(warehouse, lake / "bronze")
    [(first_hash, first_count)] = readings_of(warehouse, relative)

    lines = sensor_file.read_bytes().split(b"\r\n")
    data_end = len(lines) - 1 if lines[-1] == b"" else len(lines)
    corrected = lines[:data_end - DROPPED] + lines[data_end:]
    sensor_file.write_bytes(b"\r\n".join(corrected))
    ingest(lake)
    log = DeltaTable(str(lake / "bronze" / "ingest_log")).to_pandas()
    second = log[(log.source_file == relative) & (log.supersedes == first_hash)]
    assert len(second) == 1 and second.iloc[0].status == "ingested"
    second_hash = second.iloc[0].source_hash

    build_warehouse(warehouse, lake / "bronze")
    assert readings_of(warehouse, relative) == [(second_hash, first_count - DROPPED * SENSORS_PER_ROW)]
    # bronze keeps both versions as they landed
    bronze = DeltaTable(str(lake / "bronze" / "sensor_readings")).to_pandas(columns=["_source_file", "_source_hash"])
    assert set(bronze[bronze._source_file == relative]._source_hash) == {first_hash, second_hash}

    full = Warehouse.in_folder(lake / "warehouse_full")
    build_warehouse(full, lake / "bronze", ["build", "--full-refresh"])
    assert readings_of(full, relative) == readings_of(warehouse, relative)
    with warehouse.connect_read_only() as inc, full.connect_read_only() as ful:
        hourly = "select sensor_id, hour_utc, readings from fct_sensor_readings_hourly order by all"
        assert inc.execute(hourly).fetchall() == ful.execute(hourly).fetchall()

    # the client says the correction was wrong: retracting the new version makes the first one
    # current again, and the next build (incremental by default) brings its readings back
    assert retract([COMPANY, relative.split("/", 1)[1], "--version", second_hash, "--lake-root", str(lake),
                    "--clients-dir", str(CLIENTS)]) == 0
    result = build_warehouse(warehouse, lake / "bronze")
    assert result.plan.retracted_since_last_build and "--full-refresh" in result.dbt_args
    assert readings_of(warehouse, relative) == [(first_hash, first_count)]
    assert not build_warehouse(warehouse, lake / "bronze").plan.retracted_since_last_build  # once, not every build


def rows_by_version(warehouse: Warehouse, dataset: str, source_file: str) -> list[tuple]:
    with warehouse.connect_read_only() as con:
        return con.execute(f"select source_hash, count(*) from intermediate.int_{dataset}__deduplicated "
                           "where source_file = ? group by 1",
                           [source_file]).fetchall()


def test_re_sent_event_and_inspection_files_leave_only_their_latest_rows(tmp_path):
    """The deduplicated events and inspections take only the bronze files added since their last
    build; a corrected re-export of each (fewer rows, same name) still leaves exactly the new
    version's rows, as a full rebuild does."""
    lake = tmp_path / "lake"
    generate_sample(lake / "landing", seed=6, start=date(2026, 11, 2), days=2, sampling_seconds=600,
                    companies=[COMPANY])
    warehouse = Warehouse.in_folder(lake / "warehouse")
    ingest(lake)
    build_warehouse(warehouse, lake / "bronze")
    resent = {"equipment_events": sorted((lake / "landing" / COMPANY / "events").glob("*.csv"))[0],
              "quality_inspections": sorted((lake / "landing" / COMPANY / "qc").glob("*.csv"))[0]}
    before = {}
    for dataset, path in resent.items():
        relative = str(path.relative_to(lake / "landing"))
        [(first_hash, first_count)] = rows_by_version(warehouse, dataset, relative)
        before[dataset] = (relative, first_hash, first_count)
        lines = path.read_bytes().rstrip(b"\r\n").split(b"\n")
        path.write_bytes(b"\n".join(lines[:-DROPPED]) + b"\n")  # the last data lines are gone
    ingest(lake)

    build_warehouse(warehouse, lake / "bronze")
    with warehouse.connect_read_only() as con:
        bounds = dict(con.execute("select table_name, ingested_from from ops.bronze_new_rows").fetchall())
        first_ingest = con.execute("select min(ingested_at) from intermediate.int_equipment_events__deduplicated").fetchall()[0][0]
        # where the removed rows began is recorded, for the unit features to recompute after it
        removed = dict(con.execute("select table_name, count(*) from ops.removed_history where company_id = ? "
                                   "and earliest_ts_utc is not null and bronze_version > 0 group by 1",
                                   [COMPANY]).fetchall())
    assert set(removed) == {"equipment_events", "quality_inspections"}
    for bronze_table in ("equipment_events", "quality_inspections"):
        assert bounds[bronze_table] is not None and bounds[bronze_table] > first_ingest, bronze_table
    full = Warehouse.in_folder(lake / "warehouse_full")
    build_warehouse(full, lake / "bronze", ["build", "--full-refresh"])
    for dataset, (relative, first_hash, first_count) in before.items():
        [(latest_hash, latest_count)] = rows_by_version(warehouse, dataset, relative)
        assert latest_hash != first_hash and latest_count == first_count - DROPPED, dataset
        assert rows_by_version(full, dataset, relative) == [(latest_hash, latest_count)], dataset
        with warehouse.connect_read_only() as inc, full.connect_read_only() as ful:
            # every column but the bronze version each build took a row at
            every_row = f"select * exclude (_bronze_version) from fct_{dataset} order by all"
            assert inc.execute(every_row).fetchall() == ful.execute(every_row).fetchall(), dataset
