"""Per-company access: a company's export holds its rows only, and nothing in it reaches the others'."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.access.company_export import export_company
from orchestration.warehouse.ducklake import Warehouse


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    """A warehouse in the published layout: facts and dimensions per company, a KPI per company,
    and a regional benchmark without company_id (which must never reach one company)."""
    file = Warehouse.in_folder(tmp_path / "warehouse")
    with file.transaction("tests: company export") as tx:
        con = tx.con
        con.execute("create schema kpi")
        con.execute("create table main.dim_company as select * from (values ('A', '에이'), ('B', '비')) t(company_id, name_ko)")
        con.execute("create table main.fct_sensor_readings as select case when i % 3 = 0 then 'A' else 'B' end as company_id, "
                    "i as reading_id, i * 1.5 as value_si from range(300) t(i)")
        con.execute("create table kpi.company_defect_rate as select * from (values ('A', 0.02), ('B', 0.07)) t(company_id, rate)")
        con.execute("create table kpi.regional_benchmark as select 'cheongju' as region, 0.045 as mean_rate")
        con.execute("create view main.v_readings as select * from main.fct_sensor_readings")
    return file


def test_an_export_holds_exactly_one_company_and_cannot_reach_the_others(warehouse, tmp_path):
    with warehouse.connect_read_only() as source:
        export = export_company("A", tmp_path / "exports", source)
    assert export.tables == {"kpi.company_defect_rate": 1, "main.dim_company": 1, "main.fct_sensor_readings": 100,
                             "main.v_readings": 100}
    assert export.left_out == ["kpi.regional_benchmark"]

    con = duckdb.connect(str(export.path), read_only=True)
    tables = con.execute("select table_schema || '.' || table_name from information_schema.tables "
                         "where table_catalog = current_database() order by 1").fetchall()
    for (name,) in tables:
        others = con.execute(f"select count(*) from {name} where company_id is distinct from 'A'").fetchone()[0]
        assert others == 0, name
    # the benchmark mixing all companies is not there, and no object points back at the central file
    with pytest.raises(duckdb.CatalogException):
        con.execute("select * from kpi.regional_benchmark")
    assert con.execute("select count(*) from duckdb_views() where not internal").fetchone()[0] == 0
    assert [d for (d,) in con.execute("select database_name from duckdb_databases() where not internal").fetchall()] \
        == ["warehouse"]
    assert oct(export.path.stat().st_mode & 0o777) == "0o640"
