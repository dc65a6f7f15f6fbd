"""Bronze on an object store: the same ingest assets write the same Delta tables at an `s3://` URI
(configured only through the environment) as in a local folder, exactly once, and upkeep works there."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest
from deltalake import DeltaTable, QueryBuilder

from orchestration.assets.ingest import client_registry, company_landing_files
from orchestration.lakehouse.bronze import LOG_TABLE, REJECTIONS_TABLE
from orchestration.lakehouse.landing_to_bronze import ingest_landing
from orchestration.lakehouse.maintenance import upkeep_bronze
from orchestration.lakehouse.registry import load_registry
from orchestration.lakehouse.storage import storage_options
from orchestration.resources import LakeResource

pytestmark = pytest.mark.scale_out
REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "clients"
COMPANIES = [c.company_id for c in load_registry(CLIENTS / "registry.yaml")][:3]
TABLES = ("sensor_readings", "production_lots", "quality_inspections", "equipment_events", REJECTIONS_TABLE, LOG_TABLE)


def sql(table: DeltaTable, query: str) -> pa.Table:
    """A query on one Delta table as `t` (QueryBuilder: reads with no exit-time abort, see issue 13)."""
    return pa.table(QueryBuilder().register("t", table).execute(query).read_all())


def counts(root: str | Path, options: dict | None = None) -> dict[tuple[str, str], int]:
    """Rows per (table, company), read through delta-rs' own SQL engine (not the ingest code)."""
    found = {}
    for table in TABLES:
        try:
            delta = DeltaTable(f"{root}/{table}", storage_options=options)
        except Exception:  # a table the sample never needs (no rejections, say)
            continue
        rows = sql(delta, "select company_id, count(*) as n from t group by company_id").to_pylist()
        found.update({(table, row["company_id"]): row["n"] for row in rows})
    return found


@pytest.fixture
def s3_lake(s3_server, monkeypatch, lake):
    bucket = s3_server.create_bucket("bronze-on-s3")
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BRONZE_URI", f"s3://{bucket}/bronze")
    return lake


def test_ingest_assets_write_bronze_on_s3_like_a_local_folder(s3_lake, tmp_path):
    lake = s3_lake
    resource = LakeResource(root=str(lake), clients_dir=str(CLIENTS))
    assert resource.bronze == "s3://bronze-on-s3/bronze"
    instance = dg.DagsterInstance.ephemeral()
    assert dg.materialize([client_registry], instance=instance, resources={"lake": resource}).success
    first_day = min(p.stem.rsplit("_", 1)[-1] for p in (lake / "landing").rglob("*.csv"))
    for company in COMPANIES:  # one day first, then the rest: two commits per company partition
        for only_files in (f"*{first_day}*", ""):
            assert dg.materialize([company_landing_files], partition_key=company, instance=instance,
                                  resources={"lake": resource},
                                  run_config={"ops": {"company_landing_files": {"config": {"only_files": only_files}}}},
                                  ).success
    on_s3 = counts(resource.bronze, storage_options())
    assert not (lake / "bronze").exists(), "bronze went to the local folder instead of the object store"

    # the same landing files ingested into a local folder, outside Dagster
    local = tmp_path / "local_bronze"
    ingest_landing(lake / "landing", CLIENTS, local, tmp_path / "quarantine", companies=COMPANIES)
    assert on_s3 == counts(local)
    assert {company for (table, company) in on_s3 if table == "sensor_readings"} == set(COMPANIES)
    registry = DeltaTable(f"{resource.bronze}/companies", storage_options=storage_options())
    assert sql(registry, "select count(*) as n from t")["n"][0].as_py() == len(load_registry(CLIENTS / "registry.yaml"))

    # exactly once on the object store too: a second run of a partition lands nothing
    assert dg.materialize([company_landing_files], partition_key=COMPANIES[0], instance=instance,
                          resources={"lake": resource}).success
    assert counts(resource.bronze, storage_options()) == on_s3

    # weekly upkeep compacts the object store's tables without changing a row
    upkept = upkeep_bronze(resource.bronze_lake(), retention_hours=0)
    by_table = {t.table: t for t in upkept}
    assert set(TABLES) - {REJECTIONS_TABLE} <= set(by_table)
    assert by_table["sensor_readings"].files_after < by_table["sensor_readings"].files_before
    assert counts(resource.bronze, storage_options()) == on_s3
