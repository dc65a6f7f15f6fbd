"""One company's bad rows never stop the warehouse of the others.

Blank label cells of one company are written straight to bronze (as if ingest had let them
through): the error-severity tests on fct_quality_inspections fail on that company's rows only,
so the batch of that file is held back - named with its file and rows, recorded in
ops.held_back_batches - while every other company, and the same company's other files, are
built and published. After the file is retracted and re-ingested (a new batch), the next build
brings its rows in and releases the hold.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

from deltalake import DeltaTable, write_deltalake

from orchestration.ingest.bronze_schemas import REGISTRY_SCHEMAS, bronze_schema
from orchestration.warehouse.build import build_warehouse_isolated
from orchestration.warehouse.ducklake import Warehouse
from orchestration.warehouse.isolation import held_now

UTC = timezone.utc
GOOD, BAD = "CJ-COS-01", "ES-FOD-01"
T1 = datetime(2026, 10, 6, 1, 0, tzinfo=UTC)
BAD_FILE = f"{BAD}/qc/20261005.csv"
BLANK_LINES = (4, 7)  # data lines of BAD_FILE whose 판정 cell is blank


def append(bronze, name: str, rows: list[dict], schema: pa.Schema) -> None:
    write_deltalake(str(bronze / name), pa.Table.from_pylist(rows, schema=schema), mode="append",
                    partition_by=["company_id"], schema_mode="merge")


def inspections(company: str, file: str, blanks=(), run_id: str = "t") -> list[dict]:
    return [{"company_id": company, "line_id": "L1", "lot_id": f"LOT-{i}", "inspected_at": T1 + timedelta(minutes=i),
             "characteristic": "중량", "measured_value": 10.0, "lower_spec": 9.0, "upper_spec": 11.0, "unit": "g",
             "result": None if line in blanks else ("fail" if i % 4 == 0 else "pass"), "defect_type": None,
             "_source_row": line, "_source_file": file, "_source_hash": f"sha-{file}", "_ingested_at": T1,
             "_ingest_run_id": run_id}
            for i, line in enumerate(range(2, 10))]


def readings(company: str, file: str) -> list[dict]:
    return [{"company_id": company, "line_id": "L1", "equipment_id": "E1", "source_tag": "온도", "tag": "TEMP",
             "value": 20.0 + i, "unit": "degC", "reading_ts": T1 + timedelta(minutes=i), "_source_row": i + 2,
             "_source_file": file, "_source_hash": f"sha-{file}", "_ingested_at": T1, "_ingest_run_id": "t"}
            for i in range(6)]


def land(bronze) -> None:
    append(bronze, "companies", [
        {"company_id": c, "name_ko": n, "name_en": n, "region": "cheongju", "industry": "10", "size_band": "small",
         "cohort_year": 2026, "registry_loaded_at": T1} for c, n in ((GOOD, "굿"), (BAD, "배드"))],
        REGISTRY_SCHEMAS["companies"])
    for company in (GOOD, BAD):
        append(bronze, "sensor_readings", readings(company, f"{company}/sensors/20261005.csv"),
               bronze_schema("sensor_readings"))
    append(bronze, "quality_inspections", inspections(GOOD, f"{GOOD}/qc/20261005.csv")
           + inspections(BAD, BAD_FILE, blanks=BLANK_LINES), bronze_schema("quality_inspections"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("isolation")
    bronze = root / "bronze"
    land(bronze)
    warehouse = Warehouse.in_folder(root / "warehouse")
    return bronze, warehouse, build_warehouse_isolated(warehouse, bronze)


def test_every_other_company_is_built_and_published(built):
    _, warehouse, outcome = built
    assert outcome.attempts == 2 and list(outcome.held) == [BAD]
    with warehouse.connect_read_only() as con:
        assert con.execute("select company_id, count(*) from fct_quality_inspections group by 1").fetchall() == [(GOOD, 8)]
        # the held company's other file (its sensor readings) is not held: only the failing file is
        assert con.execute("select company_id, count(*) from fct_sensor_readings group by 1 order by 1"
                           ).fetchall() == [(GOOD, 6), (BAD, 6)]
        # the company itself is still known to the warehouse (its registry entry is not held)
        assert con.execute("select count(*) from dim_company").fetchone()[0] == 2


def test_the_held_company_is_named_with_its_file_and_rows(built):
    _, warehouse, outcome = built
    line = outcome.summary()
    assert "\n" not in line and BAD in line and BAD_FILE in line and "rows 4, 7" in line
    assert "not_null_fct_quality_inspections_result" in line
    with warehouse.connect_read_only() as con:
        pipeline_line = held_now(con)  # what `make pipeline` prints after the build
        held = con.execute("select company_id, table_name, source_file, source_hash, ingest_run_id, rows_held, "
                           "failed_tests, released_at from ops.held_back_batches order by table_name").fetchall()
    assert pipeline_line and BAD in pipeline_line and BAD_FILE in pipeline_line and GOOD not in pipeline_line
    assert held == [(BAD, "quality_inspections", BAD_FILE, f"sha-{BAD_FILE}", "t", 8,
                     "not_null_fct_quality_inspections_result", None)]
    # bronze keeps the rows, untouched
    assert DeltaTable(str(built[0] / "quality_inspections")).to_pyarrow_dataset().count_rows() == 16


def test_a_later_build_keeps_the_hold_without_failing_again(built):
    bronze, warehouse, _ = built
    again = build_warehouse_isolated(warehouse, bronze)
    assert again.attempts == 1 and again.held == {}
    with warehouse.connect_read_only() as con:
        assert con.execute("select count(*) from fct_quality_inspections where company_id = ?", [BAD]).fetchone() == (0,)
        assert con.execute("select count(*) from ops.held_back_batches where released_at is null").fetchone() == (1,)


def test_after_the_fix_the_company_comes_back(built):
    bronze, warehouse, _ = built
    # what retract + re-ingest does to bronze: the file's rows deleted, the corrected rows appended by a new run
    DeltaTable(str(bronze / "quality_inspections")).delete(f"_source_file = '{BAD_FILE}'")
    append(bronze, "quality_inspections", inspections(BAD, BAD_FILE, run_id="t2"), bronze_schema("quality_inspections"))
    again = build_warehouse_isolated(warehouse, bronze)
    assert again.held == {} and again.attempts == 1
    with warehouse.connect_read_only() as con:
        assert con.execute("select company_id, count(*) from fct_quality_inspections group by 1 order by 1"
                           ).fetchall() == [(GOOD, 8), (BAD, 8)]
        assert con.execute("select company_id, count(*) from fct_sensor_readings group by 1 order by 1"
                           ).fetchall() == [(GOOD, 6), (BAD, 6)]
        assert con.execute("select count(*) from ops.held_back_batches where released_at is null").fetchone() == (0,)
        assert held_now(con) is None


def test_the_dagster_warehouse_asset_publishes_the_others_and_says_so(tmp_path):
    import dagster as dg
    from dagster_dbt import DbtCliResource

    from orchestration.assets.warehouse import warehouse_models
    from orchestration.resources import LakeResource, WarehouseResource
    from orchestration.warehouse.dbt_project import dbt_executable, warehouse_dbt_project

    lake = tmp_path / "lake"
    land(lake / "bronze")
    warehouse = Warehouse.in_folder(lake / "warehouse")
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [warehouse_models], instance=instance, raise_on_error=False,
        resources={"dbt": DbtCliResource(project_dir=warehouse_dbt_project, dbt_executable=dbt_executable()),
                   "lake": LakeResource(root=str(lake)),
                   "warehouse": WarehouseResource(catalog=warehouse.catalog, data_path=warehouse.data_path)})
    assert result.success
    said = [e.user_message for e in instance.all_logs(result.run_id) if "published without" in (e.user_message or "")]
    assert len(said) == 1 and BAD in said[0] and BAD_FILE in said[0]
    failed_checks = [c for c in result.get_asset_check_evaluations() if not c.passed
                     and c.severity == dg.AssetCheckSeverity.ERROR]
    assert failed_checks == []  # the checks shown are those of the published build
    snapshots = {m.metadata["warehouse_snapshot_id"].value for m in result.get_asset_materialization_events()
                 for m in [m.materialization]}
    assert snapshots == {warehouse.published_snapshot()}
    with warehouse.connect_read_only() as con:
        assert con.execute("select distinct company_id from fct_quality_inspections").fetchall() == [(GOOD,)]
        # each table's page counts what was published (the good company's rows only); views none
        published = con.execute("select count(*) from fct_quality_inspections").fetchone()[0]
    pages = {e.materialization.asset_key.to_user_string(): e.materialization.metadata
             for e in result.get_asset_materialization_events()}
    assert pages["warehouse/fct_quality_inspections"]["dagster/row_count"].value == published > 0
    assert "dagster/row_count" not in pages["warehouse/stg_quality_inspections"]


def test_a_partial_dagster_build_never_counts_as_a_build_of_the_whole_warehouse(tmp_path):
    """Automation materialises a few warehouse assets (the registry's) before anything else; the
    next build of the whole warehouse must still build every other node, not take the partial
    build's inputs for a whole one's (the 10-minute soak's warehouse job failed on seeds and
    dimensions no build had made: a subset's assets definition has only the selected keys)."""
    import dagster as dg
    from dagster_dbt import DbtCliResource

    from orchestration.assets.warehouse import warehouse_models
    from orchestration.resources import LakeResource, WarehouseResource
    from orchestration.warehouse.dbt_project import dbt_executable, warehouse_dbt_project

    lake = tmp_path / "lake"
    land(lake / "bronze")
    warehouse = Warehouse.in_folder(lake / "warehouse")
    resources = {"dbt": DbtCliResource(project_dir=warehouse_dbt_project, dbt_executable=dbt_executable()),
                 "lake": LakeResource(root=str(lake)),
                 "warehouse": WarehouseResource(catalog=warehouse.catalog, data_path=warehouse.data_path)}
    instance = dg.DagsterInstance.ephemeral()
    registry_only = dg.materialize([warehouse_models], instance=instance, resources=resources,
                                   selection=dg.AssetSelection.assets(dg.AssetKey(["warehouse", "stg_companies"])))
    assert registry_only.success
    assert dg.materialize([warehouse_models], instance=instance, resources=resources, raise_on_error=False).success
    with warehouse.connect_read_only() as con:
        assert con.execute("select count(*) from dim_shift").fetchone()[0] > 0
        assert con.execute("select count(*) from reference.defect_types").fetchone()[0] > 0
        assert con.execute("select count(*) from fct_sensor_readings").fetchone()[0] > 0


def offences_of_failed_test(con, test_name: str, metadata: dict) -> dict:
    """What isolation finds behind one failed test of main_facts.fct_lots: (company, test named) ->
    (rows, files with their first rows)."""
    from orchestration.warehouse.isolation import failed_offences

    model = {"name": "fct_lots", "schema": "main_facts", "alias": "fct_lots", "resource_type": "model"}
    test = {"name": test_name, "resource_type": "test", "attached_node": "model.m.fct_lots", "test_metadata": metadata}
    manifest = {"nodes": {"model.m.fct_lots": model, "test.m.t": test}}
    failed = {"results": [{"unique_id": "test.m.t", "status": "fail"}]}
    return {(o.company_id, o.test): (o.rows, o.files) for o in failed_offences(con, failed, manifest)}


def lots_table(columns: str, rows: str):
    import duckdb

    con = duckdb.connect()
    con.execute("create schema main_facts")
    con.execute(f"create table main_facts.fct_lots as select * from (values {rows}) as t({columns})")
    return con


def test_a_models_required_columns_test_names_each_empty_column_of_each_company():
    """One not_null_columns test covers a model's required columns; a hold names the column the
    company's rows left empty, with their file and rows, as a test of that column alone would."""
    con = lots_table("company_id, line_id, quantity, source_file, source_row",
                     "('A', 'L1', null, 'A/lots.csv', 2), ('A', null, 5, 'A/lots.csv', 3), "
                     "('B', null, 7, 'B/로트.csv', 9), ('B', 'L2', 8, 'B/로트.csv', 10)")
    test = ("not_null_columns_fct_lots_line_id__quantity",
            {"name": "not_null_columns", "kwargs": {"columns": ["line_id", "quantity"]}})

    assert offences_of_failed_test(con, *test) == {("A", "not_null_fct_lots_line_id"): (1, {"A/lots.csv": [3]}),
                                                   ("B", "not_null_fct_lots_line_id"): (1, {"B/로트.csv": [9]}),
                                                   ("A", "not_null_fct_lots_quantity"): (1, {"A/lots.csv": [2]})}

    # a row of no company cannot be held back: the build fails instead
    con.execute("insert into main_facts.fct_lots values (null, 'L1', null, 'x.csv', 4)")
    assert offences_of_failed_test(con, *test) == {}


def test_a_models_key_test_names_the_repeated_key_and_each_empty_column():
    """One primary_key test covers a model's key and required columns; a hold names a repeated key
    as the unique test of that key would, and an empty column as its not_null test would."""
    con = lots_table("company_id, lot_key, line_id, source_file, source_row",
                     "('A', 'k1', 'L1', 'A/lots.csv', 2), ('A', 'k2', 'L1', 'A/lots.csv', 3), "
                     "('B', 'k2', 'L2', 'B/로트.csv', 9), ('B', 'k3', null, 'B/로트.csv', 10), "
                     "('B', 'k4', 'L2', 'B/로트.csv', 11)")

    assert offences_of_failed_test(con, "primary_key_fct_lots_line_id__lot_key", {
        "name": "primary_key", "kwargs": {"key": "lot_key", "columns": ["line_id"]}}) == {
        ("A", "unique_fct_lots_lot_key"): (1, {"A/lots.csv": [3]}),
        ("B", "unique_fct_lots_lot_key"): (1, {"B/로트.csv": [9]}),
        ("B", "not_null_fct_lots_line_id"): (1, {"B/로트.csv": [10]})}
