"""Incremental warehouse builds give the same marts as a full rebuild, and overlapping re-exports
never duplicate readings.

Runs the real path: generated client exports -> ingest -> bronze Delta -> dbt build into the
DuckLake (bronze read in place).
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.lakehouse.landing_to_bronze import ingest_landing
from orchestration.lakehouse.registry import load_registry
from orchestration.sample_clients import generate_sample
from orchestration.warehouse.build import build_warehouse
from orchestration.warehouse.connection import connect
from orchestration.warehouse.ducklake import Warehouse

REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "clients"
START = date(2026, 11, 2)
# Three clients with different export shapes keep the test quick while covering wide, long and xlsx.
COMPANIES = [c.company_id for c in load_registry(CLIENTS / "registry.yaml")][:3]


def ingest(lake: Path) -> None:
    ingest_landing(lake / "landing", CLIENTS, lake / "bronze", lake / "quarantine", companies=COMPANIES)


def user_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table and view analysts see in the marts schema."""
    return [name for (name,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'main' order by 1").fetchall()]


def comparable_columns(con, table: str) -> list[str]:
    # `_load_seq` numbers warehouse loads and `_bronze_version` is the bronze version a load took a
    # row at, so they differ between one build and two by design.
    return [c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_catalog = 'inc' and table_schema = 'main' "
        "and table_name = ? order by ordinal_position", [table]).fetchall() if c not in ("_load_seq", "_bronze_version")]


def assert_same_marts(incremental: Warehouse, full: Warehouse) -> None:
    con = connect()
    con.execute(incremental.attach_statement(alias="inc", snapshot=incremental.published_snapshot()))
    con.execute(full.attach_statement(alias="ful", snapshot=full.published_snapshot()))
    inc_tables = [n for (n,) in con.execute(
        "select table_name from information_schema.tables where table_catalog = 'inc' and table_schema = 'main'").fetchall()]
    ful_tables = [n for (n,) in con.execute(
        "select table_name from information_schema.tables where table_catalog = 'ful' and table_schema = 'main'").fetchall()]
    assert sorted(inc_tables) == sorted(ful_tables)
    assert "fct_sensor_readings" in inc_tables
    differences = {}
    for table in inc_tables:
        columns = ", ".join(f'"{c}"' for c in comparable_columns(con, table))
        only_inc, only_full = (con.execute(
            f"select count(*) from (select {columns} from {a}.main.{table} except all select {columns} from {b}.main.{table})"
        ).fetchall()[0][0] for a, b in (("inc", "ful"), ("ful", "inc")))
        rows = con.execute(f"select count(*) from inc.main.{table}").fetchall()[0][0]
        if only_inc or only_full:
            differences[table] = (rows, only_inc, only_full)
    assert differences == {}, "table: (rows, only in incremental, only in full rebuild)"


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """Days 1..3 ingested and built into a warehouse."""
    lake = tmp_path_factory.mktemp("history") / "lake"
    generate_sample(lake / "landing", seed=11, start=START, days=3, sampling_seconds=600, companies=COMPANIES)
    ingest(lake)
    build_warehouse(Warehouse.in_folder(lake / "warehouse"), lake / "bronze")
    return lake


def test_day_n_plus_one_incremental_equals_full_rebuild(history, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(history, lake)
    warehouse = Warehouse.in_folder(lake / "warehouse")
    con = warehouse.connect_read_only()
    before = con.execute("select count(*), max(reading_date_kst) from fct_sensor_readings").fetchall()[0]
    con.close()

    generate_sample(lake / "landing", seed=12, start=START + timedelta(days=3), days=1, sampling_seconds=600,
                    companies=COMPANIES)
    ingest(lake)
    build_warehouse(warehouse, lake / "bronze")

    full = Warehouse.in_folder(lake / "full")
    build_warehouse(full, lake / "bronze", ["build", "--full-refresh"])

    con = warehouse.connect_read_only()
    after = con.execute("select count(*), max(reading_date_kst) from fct_sensor_readings").fetchall()[0]
    con.close()
    assert after[0] > before[0] and after[1] == before[1] + timedelta(days=1)
    assert_same_marts(warehouse, full)


def test_late_data_for_an_old_day_is_picked_up(history, tmp_path):
    """A file for day 1 that lands after day 3 was built (a late upload) reaches the facts."""
    lake = tmp_path / "lake"
    shutil.copytree(history, lake)
    company = COMPANIES[0]
    late = tmp_path / "late"
    generate_sample(late / "landing", seed=99, start=START - timedelta(days=1), days=1, sampling_seconds=600,
                    companies=[company])
    shutil.copytree(late / "landing" / company, lake / "landing" / company, dirs_exist_ok=True)
    ingest(lake)
    warehouse = Warehouse.in_folder(lake / "warehouse")
    build_warehouse(warehouse, lake / "bronze")
    full = Warehouse.in_folder(lake / "full")
    build_warehouse(full, lake / "bronze", ["build", "--full-refresh"])

    con = warehouse.connect_read_only()
    late_rows = con.execute("select count(*) from fct_sensor_readings where company_id = ? and reading_date_kst = ?",
                            [company, START - timedelta(days=1)]).fetchall()[0][0]
    con.close()
    assert late_rows > 0
    assert_same_marts(warehouse, full)


def test_overlapping_reexport_does_not_duplicate_readings(history, tmp_path):
    """A client re-exports a range it already sent (under a new file name, with one value corrected):
    the overlapping readings appear once, carrying the re-export's values."""
    lake = tmp_path / "lake"
    shutil.copytree(history, lake)
    company = COMPANIES[0]
    mapping = yaml.safe_load((CLIENTS / "mappings" / f"{company}.yaml").read_text(encoding="utf-8"))
    spec = next(s for s in mapping["datasets"] if s["dataset"] == "sensor_readings")
    day = START + timedelta(days=1)
    original = lake / "landing" / company / spec["files"].replace("*", day.strftime("%Y%m%d"))
    assert original.is_file(), f"the generator names daily files after the date: {original}"

    warehouse = Warehouse.in_folder(lake / "warehouse")
    con = warehouse.connect_read_only()
    readings_before = con.execute("select count(*) from fct_sensor_readings where company_id = ?", [company]).fetchall()[0][0]
    con.close()

    # A re-export regenerated with another seed: same timestamps, sensors and layout, other values.
    again = tmp_path / "again"
    generate_sample(again / "landing", seed=12345, start=day, days=1, sampling_seconds=600, companies=[company])
    regenerated = again / "landing" / company / spec["files"].replace("*", day.strftime("%Y%m%d"))
    reexport = original.with_name(original.name.replace(day.strftime("%Y%m%d"), f"reexport-{day:%Y%m%d}"))
    assert reexport != original
    shutil.copyfile(regenerated, reexport)
    ingest(lake)
    build_warehouse(warehouse, lake / "bronze")

    con = warehouse.connect_read_only()
    readings_after, duplicated = con.execute(
        "select count(*), count(*) - count(distinct (equipment_id, source_tag, reading_ts_utc)) "
        "from fct_sensor_readings where company_id = ?", [company]).fetchall()[0]
    from_reexport = con.execute(
        "select count(*) from fct_sensor_readings where company_id = ? and source_file like ?",
        [company, f"%{reexport.name}"]).fetchall()[0][0]
    con.close()
    assert duplicated == 0
    assert readings_after == readings_before
    assert from_reexport > 0  # the later export wins for the overlapping readings


def test_ingests_committed_in_the_opposite_order_of_their_clocks_are_both_taken(history, tmp_path):
    """Two ingest runs of a new day: A's started later but committed first and was built; B's
    started earlier (its rows carry an older ingest time than anything A wrote) and committed
    after that build. A max-watermark on ingest time would skip B for ever; the batch ledger
    takes it at the next build, exactly once."""
    from datetime import datetime, timezone

    from orchestration.ingest.landing import discover_landing
    from orchestration.ingest.mapping import load_mapping
    from orchestration.lakehouse.bronze import BronzeLake
    from orchestration.lakehouse.landing_to_bronze import ingest_company

    lake = tmp_path / "lake"
    shutil.copytree(history, lake)
    first, second = COMPANIES[0], COMPANIES[1]
    generate_sample(lake / "landing", seed=13, start=START + timedelta(days=3), days=1, sampling_seconds=600,
                    companies=[first, second])
    scan = discover_landing(lake / "landing", {first, second})

    def ingest_one(company: str, now: datetime, run_id: str):
        mapping = CLIENTS / "mappings" / f"{company}.yaml"
        return ingest_company(company, [f for f in scan.files if f.company_id == company],
                              mapping=load_mapping(mapping), bronze=BronzeLake(lake / "bronze"),
                              quarantine_root=lake / "quarantine", run_id=run_id, now=now)

    ingest_one(first, datetime.now(timezone.utc), "run-late-clock")
    warehouse = Warehouse.in_folder(lake / "warehouse")
    build_warehouse(warehouse, lake / "bronze")
    # an earlier clock than A's, still after the day it ingests (ingest rejects readings from its future)
    landed = ingest_one(second, datetime.combine(START + timedelta(days=4), datetime.min.time(), timezone.utc),
                        "run-early-clock").rows_landed()
    assert landed > 0
    build_warehouse(warehouse, lake / "bronze")

    con = warehouse.connect_read_only()
    taken = con.execute("select count(*) from fct_sensor_readings where company_id = ? and reading_date_kst = ?",
                        [second, START + timedelta(days=3)]).fetchall()[0][0]
    ledger = con.execute("select count(*), sum(rows_in_bronze) from intermediate.int_sensor_reading_batches "
                         "where ingest_run_id = 'run-early-clock'").fetchall()[0]
    con.close()
    bronze_rows = connect().execute(
        f"select count(*) from delta_scan('{lake / 'bronze' / 'sensor_readings'}') "
        "where _ingest_run_id = 'run-early-clock'").fetchall()[0][0]
    assert ledger[0] > 0 and ledger[1] == bronze_rows
    assert taken > 0
    full = Warehouse.in_folder(lake / "full")
    build_warehouse(full, lake / "bronze", ["build", "--full-refresh"])
    assert_same_marts(warehouse, full)


def test_a_day_of_content_rebuilds_what_it_feeds_and_a_registry_change_what_the_registry_feeds(history, tmp_path):
    """Each dbt node costs a DuckLake transaction, so a daily build leaves alone what did not
    change: the registry (not written again when unchanged), the seeds and the dimensions built
    from them. A staging view is made again only when what it is compiled from changed (here: the
    lake was copied, so bronze is elsewhere, even with no new rows), not for new rows. A changed
    registry entry reaches its dimension at the next build through the view as it was, and either
    way the warehouse equals a full rebuild."""
    from deltalake import DeltaTable

    lake = tmp_path / "lake"
    shutil.copytree(history, lake)
    clients = tmp_path / "clients"
    shutil.copytree(CLIENTS, clients)
    warehouse = Warehouse.in_folder(lake / "warehouse")
    registry_version = DeltaTable(str(lake / "bronze" / "companies")).version()
    work_orders_version = DeltaTable(str(lake / "bronze" / "work_orders")).version()
    # the copied lake's first build, with nothing new in bronze, points the views at its own bronze
    moved = {r.node.name for r in build_warehouse(warehouse, lake / "bronze").results}
    assert "stg_sensor_readings" in moved
    con = warehouse.connect_read_only()
    definition = con.execute("select sql from duckdb_views() where view_name = 'stg_sensor_readings'").fetchall()[0][0]
    con.close()
    assert str((lake / "bronze").resolve()) in definition and str(history) not in definition

    generate_sample(lake / "landing", seed=21, start=START + timedelta(days=3), days=1, sampling_seconds=600,
                    companies=COMPANIES)
    ingest_landing(lake / "landing", clients, lake / "bronze", lake / "quarantine", companies=COMPANIES)
    assert DeltaTable(str(lake / "bronze" / "companies")).version() == registry_version
    day = build_warehouse(warehouse, lake / "bronze")
    built = {r.node.name for r in day.results}
    assert day.dbt_args[:2] == ["build", "--exclude"] and "dim_company" in day.dbt_args[2].split()
    assert {"fct_sensor_readings", "int_sensor_reading_batches", "mart_company_data_freshness"} <= built
    assert not {"tag_dictionary", "unit_conversions", "dim_company", "dim_tag", "stg_companies",
                "stg_sensor_readings"} & built
    # no work orders came, and the ledger's new rows supersede no file version: the ledger reaches
    # the work orders only through superseded versions, so they are left as they are
    assert DeltaTable(str(lake / "bronze" / "work_orders")).version() == work_orders_version
    assert not {"fct_work_orders", "fct_shipments"} & built and "fct_landing_files" in built

    registry = yaml.safe_load((clients / "registry.yaml").read_text(encoding="utf-8"))
    renamed = next(c for c in registry["companies"] if c["company_id"] == COMPANIES[0])
    renamed["name_ko"] = renamed["name_ko"] + " (상호 변경)"
    # and it moves to two twelve-hour crews: its events and inspections of every day so far are
    # shifted again (the facts take only new rows otherwise)
    renamed["shifts"] = [{"code": "D", "name_ko": "주간조", "name_en": "Day crew", "start": "07:30", "end": "19:30"},
                         {"code": "N", "name_ko": "야간조", "name_en": "Night crew", "start": "19:30", "end": "07:30"}]
    (clients / "registry.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True, sort_keys=False),
                                           encoding="utf-8")
    ingest_landing(lake / "landing", clients, lake / "bronze", lake / "quarantine", companies=COMPANIES)
    assert DeltaTable(str(lake / "bronze" / "companies")).version() > registry_version
    again = build_warehouse(warehouse, lake / "bronze")
    rebuilt = {r.node.name for r in again.results}
    assert "dim_company" in rebuilt and not {"stg_companies", "stg_sensor_readings"} & rebuilt
    con = warehouse.connect_read_only()
    name = con.execute("select name_ko from dim_company where company_id = ?", [COMPANIES[0]]).fetchall()[0][0]
    shifts = {table: con.execute(f"select list(distinct shift_code order by shift_code), min({at}) from {table} "
                                 "where company_id = ?", [COMPANIES[0]]).fetchall()[0]
              for table, at in (("fct_equipment_events", "event_ts_kst"),
                                ("fct_quality_inspections", "inspected_at_kst"))}
    con.close()
    assert name == renamed["name_ko"]
    for table, (codes, first) in shifts.items():
        assert codes == ["D", "N"] and first.date() == START, table

    full = Warehouse.in_folder(lake / "full")
    build_warehouse(full, lake / "bronze", ["build", "--full-refresh"])
    assert_same_marts(warehouse, full)


def test_the_build_after_a_killed_one_builds_what_it_left_half_done(history, tmp_path):
    """A build killed half-way leaves commits nobody published, and may have dropped a table that
    nothing changed for (dbt drops a seed before it loads it again). The next build builds
    everything instead of leaving out what did not change (the 10-minute soak found the warehouse
    job failing on missing seeds and dimensions after a SIGKILL)."""
    lake = tmp_path / "lake"
    shutil.copytree(history, lake)
    warehouse = Warehouse.in_folder(lake / "warehouse")
    with warehouse.connect_writer() as con:  # what the killed build had committed
        con.execute("drop table reference.defect_types")
        con.execute("drop table main.dim_shift")
    result = build_warehouse(warehouse, lake / "bronze")
    assert result.plan.unchanged is None
    with warehouse.connect_read_only() as con:
        assert con.execute("select count(*) from reference.defect_types").fetchall()[0][0] > 0
        assert con.execute("select count(*) from dim_shift").fetchall()[0][0] > 0
    # and with nothing new after it, the next build leaves everything alone again
    with warehouse.connect_read_only() as con:
        readings = con.execute("select * from fct_sensor_readings order by all").fetchall()
    again = build_warehouse(warehouse, lake / "bronze")
    assert again.plan.unchanged
    # the sensor facts find no batch to take and read no bronze at all (without a range of new
    # batches to prune by, their filter on the ledger scanned every bronze file to find nothing:
    # 6.4 s of such a build at 30 days), and keep every reading
    compiled = {r.node.name: r.node.compiled_code for r in again.results if r.node.resource_type == "model"}
    assert "and false" in compiled["fct_sensor_readings"]
    with warehouse.connect_read_only() as con:
        assert con.execute("select * from fct_sensor_readings order by all").fetchall() == readings
