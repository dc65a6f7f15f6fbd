"""A reader process queries the warehouse throughout 20 builds - incremental ones, full refreshes,
one that holds a bad company's file back and a failing one - and never gets an error or an
inconsistent answer: every read is one published snapshot, and the bad rows never reach it."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from deltalake import DeltaTable
from test_dbt_models import COS, T3, append, land_first_batch, reading, utc

from orchestration.ingest.bronze_schemas import bronze_schema
from orchestration.warehouse.build import WarehouseBuildFailed, build_warehouse
from orchestration.warehouse.ducklake import Warehouse

REPO = Path(__file__).resolve().parents[2]
# After the first (whole) build, the builds redo what readers of the sensor facts depend on.
SENSOR_FACTS = ["--select", "+fct_sensor_readings_hourly", "--exclude", "resource_type:unit_test"]
BAD_VALUE = -12345.0  # the failing build's row (a company nobody registered): must never be read

READER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from orchestration.warehouse.ducklake import Warehouse, current_snapshot
    warehouse, stop = Warehouse.in_folder(sys.argv[1]), Path(sys.argv[2])
    while not stop.exists():
        try:
            con = warehouse.connect_read_only()
            snapshot = current_snapshot(con)
            readings, bad = con.execute(
                "select count(*), count(*) filter (where value_raw = ?) from main.fct_sensor_readings",
                [float(sys.argv[3])]).fetchone()
            hourly = con.execute("select coalesce(sum(readings), 0) from main.fct_sensor_readings_hourly").fetchone()[0]
            con.close()
            print(json.dumps({"snapshot": snapshot, "readings": readings, "hourly": int(hourly), "bad": bad}), flush=True)
        except Exception as error:
            print(json.dumps({"error": repr(error)}), flush=True)
        time.sleep(0.5)  # an analyst's pace: reading flat out took a core from the builds
""")


def new_reading(bronze: Path, n: int, company: str | None = COS, value: float | None = None) -> None:
    """One more file of one reading (the n-th minute of 10-06 UTC)."""
    folder = company or "unknown"
    append(bronze, "sensor_readings", [reading(company, "E1", "온도(°F)", "TEMP", value if value is not None else 50.0 + n,
                                               "degF", utc(2026, 10, 6, 0, n), f"{folder}/sensors/extra-{n}.csv", 2, T3)],
           bronze_schema("sensor_readings"))


@pytest.mark.timeout(1500)
def test_a_reader_through_twenty_builds_sees_only_whole_published_snapshots(tmp_path):
    bronze = tmp_path / "bronze"
    warehouse = Warehouse.in_folder(tmp_path / "warehouse")
    land_first_batch(bronze)
    build_warehouse(warehouse, bronze, ["build", "--exclude", "resource_type:unit_test"])
    published = {warehouse.published_snapshot(): 5}  # snapshot -> readings in fct_sensor_readings

    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(tmp_path / "warehouse"), str(stop), str(BAD_VALUE)],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    failed = 0
    try:
        expected = 5
        for build in range(2, 21):
            if build == 10:  # a company nobody registered: isolation holds its file, the rest is published
                new_reading(bronze, build, company="NOBODY-00", value=BAD_VALUE)
                result = build_warehouse(warehouse, bronze, ["build", *SENSOR_FACTS])
                published[result.snapshot_id] = expected
                continue
            if build == 11:  # a row of no company at all: no company to hold back, the build fails
                new_reading(bronze, build, company=None, value=BAD_VALUE)
                with pytest.raises(WarehouseBuildFailed, match="not_null") as failure:
                    build_warehouse(warehouse, bronze, ["build", *SENSOR_FACTS])
                failed += 1
                # the log the failure names is there, and tells of the failing test
                log = Path(str(failure.value).rsplit("(log: ", 1)[1].rstrip(")"))
                assert log.parent == warehouse.catalog_file.parent / ".dbt-target"
                assert re.search(r"FAIL \d+ not_null", log.read_text(encoding="utf-8"))
                # the data engineer takes the bad file back out of bronze; the next build retakes the rest
                DeltaTable(str(bronze / "sensor_readings")).delete("company_id is null")
                continue
            new_reading(bronze, build)
            expected += 1
            full = ["--full-refresh"] if build % 6 == 0 else []
            result = build_warehouse(warehouse, bronze, ["build", *full, *SENSOR_FACTS])
            published[result.snapshot_id] = expected
    finally:
        stop.touch()
        output, _ = reader.communicate(timeout=120)
    reads = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    errors = [r["error"] for r in reads if "error" in r]
    assert errors == []
    assert failed == 1 and len(published) == 19
    assert len(reads) >= 20 and len({r["snapshot"] for r in reads}) >= 5, "the reader read during the builds"
    inconsistent = [r for r in reads if r["bad"] or r["readings"] != r["hourly"]
                    or published.get(r["snapshot"]) != r["readings"]]
    assert inconsistent == []
    with warehouse.connect_read_only() as con:
        assert con.execute("select count(*), count(*) filter (where company_id = 'NOBODY-00') "
                           "from fct_sensor_readings").fetchone() == (expected, 0)

    # scripts read the same published snapshot through the command line, as CSV with a header
    env = {**os.environ, "WAREHOUSE_CATALOG": warehouse.catalog, "WAREHOUSE_DATA_PATH": warehouse.data_path}
    out = subprocess.run([sys.executable, "-m", "orchestration.warehouse", "query",
                          "select company_id, count(*) as readings, 'a,b' as note from fct_sensor_readings "
                          "group by 1 order by 1"], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert list(csv.reader(io.StringIO(out.stdout))) == [["company_id", "readings", "note"],
                                                         ["CJ-COS-01", str(expected - 2), "a,b"],
                                                         ["JC-BAT-01", "2", "a,b"]]
    # it runs typed SQL: DuckDB checks the signature of any extension it loads
    checked = subprocess.run([sys.executable, "-m", "orchestration.warehouse", "query",
                              "select current_setting('allow_unsigned_extensions') as unsigned_allowed"],
                             cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert checked.stdout.lower().split() == ["unsigned_allowed", "false"]
    refused = subprocess.run([sys.executable, "-m", "orchestration.warehouse", "query", "delete from fct_sensor_readings"],
                             cwd=REPO, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "read-only" in refused.stderr

    # a DuckDB CLI or BI tool runs what `attach-sql` prints (README) in a bare DuckDB session
    statements = subprocess.run([sys.executable, "-m", "orchestration.warehouse", "attach-sql"],
                                cwd=REPO, env=env, capture_output=True, text=True, check=True)
    with duckdb.connect() as bare:
        for statement in statements.stdout.split(";\n"):
            if statement.strip():
                bare.execute(statement)
        assert bare.execute("select count(*) from fct_sensor_readings").fetchone() == (expected,)
        assert bare.execute("select current_setting('parquet_metadata_cache')").fetchone() == (True,)
        with pytest.raises(duckdb.Error, match="read-only|read only"):
            bare.execute("delete from fct_sensor_readings")
