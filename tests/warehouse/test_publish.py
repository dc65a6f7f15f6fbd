"""Analysts can query the warehouse while it is rebuilt: no lock errors, no half-built state."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import duckdb
import pytest

from orchestration.warehouse.publish import WarehouseFile, WarehouseNotBuilt

READER = textwrap.dedent(
    """
    import json, sys, time, duckdb
    path, seconds = sys.argv[1], float(sys.argv[2])
    seen, errors, queries = set(), [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            con = duckdb.connect(path, read_only=True)
            # a build writes `generation` then 50 rows of that generation into `facts`; a reader
            # must see both tables from the same build
            gen = con.execute("select max(generation) from generation").fetchall()[0][0]
            rows = con.execute("select count(*), min(generation), max(generation) from facts").fetchall()[0]
            con.close()
            queries += 1
            if rows != (50, gen, gen):
                errors.append(f"half-built state: generation {gen}, facts {rows}")
            seen.add(gen)
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}")
    print(json.dumps({"queries": queries, "generations": sorted(seen), "errors": errors[:5]}))
    """
)


def _build_generation(build_path, generation: int) -> None:
    con = duckdb.connect(str(build_path))
    con.execute("create or replace table generation as select ? as generation", [generation])
    con.execute("create or replace table facts as select ? as generation, range as i from range(50)", [generation])
    # make each build take a while, as a real dbt build does, holding the write lock on the copy
    con.execute("create or replace table ballast as select range as i, random() as r from range(300000)")
    con.close()


def test_readers_never_see_a_lock_error_or_half_built_warehouse(tmp_path):
    warehouse = WarehouseFile(tmp_path / "warehouse" / "manufacturing.duckdb")
    with warehouse.rebuild() as build:
        _build_generation(build, 0)

    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(warehouse.path), "6"], stdout=subprocess.PIPE, text=True
    )
    generations = 0
    while reader.poll() is None and generations < 40:
        generations += 1
        with warehouse.rebuild() as build:
            _build_generation(build, generations)
    report = json.loads(reader.communicate(timeout=60)[0])

    assert report["errors"] == []
    assert report["queries"] > 20
    assert len(report["generations"]) >= 2, "the reader should have seen several published builds"


def test_failed_build_leaves_the_published_warehouse_untouched(tmp_path):
    warehouse = WarehouseFile(tmp_path / "manufacturing.duckdb")
    with warehouse.rebuild() as build:
        _build_generation(build, 1)
    with pytest.raises(RuntimeError, match="dbt failed"):
        with warehouse.rebuild() as build:
            _build_generation(build, 2)
            raise RuntimeError("dbt failed")
    con = warehouse.connect_read_only()
    assert con.execute("select max(generation) from facts").fetchall()[0][0] == 1
    con.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".build.lock", "manufacturing.duckdb"]


def test_reading_before_the_first_build_says_what_to_do(tmp_path):
    with pytest.raises(WarehouseNotBuilt, match="materialise the warehouse"):
        WarehouseFile(tmp_path / "none.duckdb").connect_read_only()
