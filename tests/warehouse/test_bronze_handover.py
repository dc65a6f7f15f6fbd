"""Bronze Delta tables reach the warehouse incrementally and exactly."""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from orchestration.ingest.bronze_schemas import CONTENT_SCHEMAS, bronze_schema
from orchestration.lakehouse.bronze import INGEST_LOG_SCHEMA, LOG_TABLE, BronzeLake, rows_of, with_lineage
from orchestration.lakehouse.maintenance import bronze_tables, compact_and_vacuum
from orchestration.resources import LakeResource
from orchestration.upkeep import bronze_upkeep_job
from orchestration.warehouse.bronze_handover import hand_over, next_handover_seq

SCHEMA = bronze_schema("sensor_readings")


def readings(company: str, values: list[float], digest: str) -> pa.Table:
    n = len(values)
    content = pa.table(
        {
            "company_id": [company] * n, "line_id": ["L1"] * n, "equipment_id": ["E1"] * n,
            "source_tag": ["온도"] * n, "tag": ["TEMP"] * n, "value": values, "unit": ["degC"] * n,
            "reading_ts": pa.array([datetime(2026, 11, 2, i, tzinfo=timezone.utc) for i in range(n)],
                                   CONTENT_SCHEMAS["sensor_readings"].field("reading_ts").type),
            "_source_row": list(range(2, n + 2)),
        }
    )
    return with_lineage(content, dataset="sensor_readings", source_file=f"{company}/s.csv", source_hash=digest,
                        ingested_at=datetime.now(timezone.utc), run_id="run")


def handed(con, lake_path):
    return hand_over(con, "sensor_readings", lake_path, SCHEMA, next_handover_seq(con))


def warehouse_rows(con):
    return sorted(con.execute(
        "select company_id, value, _source_hash, _handover_seq from bronze.sensor_readings").fetchall())


def test_only_new_files_are_read_and_each_build_gets_a_higher_sequence(tmp_path):
    lake = BronzeLake(tmp_path / "bronze")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    lake.append("sensor_readings", readings("CJ-A", [1.0, 2.0], "h1"))
    lake.append("sensor_readings", readings("2024", [3.0], "h2"))  # a numeric-looking company id stays text
    first = handed(con, lake.table_path("sensor_readings"))
    assert (first.files_read, first.rows_added, first.full_reload) == (2, 3, False)

    lake.append("sensor_readings", readings("CJ-A", [4.0], "h3"))
    second = handed(con, lake.table_path("sensor_readings"))
    assert (second.files_read, second.rows_added) == (1, 1)
    assert warehouse_rows(con) == [("2024", 3.0, "h2", 1), ("CJ-A", 1.0, "h1", 1), ("CJ-A", 2.0, "h1", 1),
                                   ("CJ-A", 4.0, "h3", 2)]

    unchanged = handed(con, lake.table_path("sensor_readings"))
    assert (unchanged.files_read, unchanged.rows_added) == (0, 0)


def test_rewritten_delta_table_is_reloaded_whole(tmp_path):
    lake = BronzeLake(tmp_path / "bronze")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    lake.append("sensor_readings", readings("CJ-A", [1.0, 2.0], "h1"))
    handed(con, lake.table_path("sensor_readings"))
    write_deltalake(str(lake.table_path("sensor_readings")), readings("CJ-B", [9.0], "h9"),
                    mode="overwrite", partition_by=["company_id"])
    result = handed(con, lake.table_path("sensor_readings"))
    assert result.full_reload
    assert [r[:3] for r in warehouse_rows(con)] == [("CJ-B", 9.0, "h9")]


def test_missing_delta_table_becomes_an_empty_queryable_table(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    result = hand_over(con, "equipment_events", tmp_path / "nothing", bronze_schema("equipment_events"), 1)
    assert result.rows_added == 0
    columns = [row[0] for row in con.execute("describe bronze.equipment_events").fetchall()]
    assert columns == [f.name for f in bronze_schema("equipment_events")] + ["_handover_seq"]


def test_a_column_added_to_bronze_is_added_in_the_warehouse(tmp_path):
    lake = BronzeLake(tmp_path / "bronze")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    lake.append("sensor_readings", readings("CJ-A", [1.0], "h1"))
    handed(con, lake.table_path("sensor_readings"))
    evolved = readings("CJ-A", [2.0], "h2").append_column("site_id", pa.array(["오창"]))
    lake.append("sensor_readings", evolved)
    handed(con, lake.table_path("sensor_readings"))
    assert con.execute("select site_id from bronze.sensor_readings order by value").fetchall() == [(None,), ("오창",)]


def test_compacted_files_are_not_read_again(tmp_path):
    """Weekly upkeep rewrites many small files as one: the same rows, so the next hand-over reads
    nothing, and a later append is still taken incrementally."""
    lake = BronzeLake(tmp_path / "bronze")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for i in range(4):
        lake.append("sensor_readings", readings("CJ-A", [float(i)], f"h{i}"))
    handed(con, lake.table_path("sensor_readings"))
    before = warehouse_rows(con)

    upkept = compact_and_vacuum(lake.table_path("sensor_readings"), retention_hours=0)
    assert (upkept.files_before, upkept.files_after, upkept.files_vacuumed) == (4, 1, 4)
    after_upkeep = handed(con, lake.table_path("sensor_readings"))
    assert (after_upkeep.files_read, after_upkeep.rows_added, after_upkeep.full_reload) == (0, 0, False)
    assert warehouse_rows(con) == before

    lake.append("sensor_readings", readings("CJ-A", [9.0], "h9"))
    later = handed(con, lake.table_path("sensor_readings"))
    assert (later.files_read, later.rows_added, later.full_reload) == (1, 1, False)


def test_compaction_of_rows_not_yet_handed_over_reloads_whole(tmp_path):
    """A compacted file that mixes handed-over and new rows cannot be split by file: reload it all."""
    lake = BronzeLake(tmp_path / "bronze")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    lake.append("sensor_readings", readings("CJ-A", [1.0], "h1"))
    handed(con, lake.table_path("sensor_readings"))
    lake.append("sensor_readings", readings("CJ-A", [2.0], "h2"))
    compact_and_vacuum(lake.table_path("sensor_readings"), retention_hours=0)
    result = handed(con, lake.table_path("sensor_readings"))
    assert result.full_reload and result.rows_added == 2
    assert [r[1] for r in warehouse_rows(con)] == [1.0, 2.0]


def test_bronze_upkeep_job_compacts_every_table(tmp_path):
    lake = BronzeLake(tmp_path / "bronze")
    for i in range(3):
        lake.append("sensor_readings", readings(f"CJ-{i % 2}", [float(i)], f"h{i}"))
        lake.append(LOG_TABLE, rows_of([{"company_id": "CJ-0", "source_file": f"f{i}", "source_hash": f"h{i}",
                                         "status": "ingested"}], INGEST_LOG_SCHEMA))
    content = DeltaTable(str(lake.table_path("sensor_readings"))).to_pyarrow_table().sort_by("value")
    result = bronze_upkeep_job.execute_in_process(
        resources={"lake": LakeResource(root=str(tmp_path), clients_dir=str(tmp_path))})
    assert result.success
    [output] = [event.step_output_data for event in result.all_node_events if event.is_successful_output]
    counts = {key: output.metadata[key].value for key in ("tables", "files_before", "files_after", "files_vacuumed")}
    # the rewritten files stay for the week's retention: readers of the previous version keep working
    assert counts == {"tables": 2, "files_before": 6, "files_after": 3, "files_vacuumed": 0}
    files = {path.name: len(DeltaTable(str(path)).file_uris()) for path in bronze_tables(lake.root)}
    assert files == {LOG_TABLE: 1, "sensor_readings": 2}  # one file per company partition
    assert DeltaTable(str(lake.table_path("sensor_readings"))).to_pyarrow_table().sort_by("value").equals(content)
