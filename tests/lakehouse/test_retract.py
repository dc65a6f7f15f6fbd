"""Retract + re-ingest after a mapping fix leaves bronze as a clean ingest under the new mapping."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.compute as pc
from deltalake import DeltaTable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))
from real_exports import Lake, melting_tank  # noqa: E402

from orchestration.ingest.bronze_schemas import DATASETS  # noqa: E402
from orchestration.ingest.retract import main as retract  # noqa: E402
from orchestration.lakehouse.bronze import LOG_TABLE, REJECTIONS_TABLE  # noqa: E402

RUN_COLUMNS = {"_ingested_at", "_ingest_run_id", "quarantined_at", "ingest_run_id"}


def content(lake: Lake) -> dict[str, list]:
    """Every bronze table's rows, without the columns that name the run or its time."""
    out = {}
    for name in (*DATASETS, REJECTIONS_TABLE):
        path = lake.root / "bronze" / name
        if not path.exists():
            continue
        table = DeltaTable(str(path)).to_pyarrow_table()
        rows = [{k: v for k, v in r.items() if k not in RUN_COLUMNS} for r in table.to_pylist()]
        out[name] = sorted(rows, key=repr)
    return {name: rows for name, rows in out.items() if rows}


def export_with_old_and_new_mapping():
    export = melting_tank(minutes=30)
    export.rows[7]["품질판정"] = ""  # a blank label: rejected under both mappings
    old = export.mapping.replace("투입중량: {tag: WEIGHT, unit: kg}", "투입중량: {tag: WEIGHT, unit: g}")
    assert old != export.mapping
    return export, old


def test_retract_and_reingest_after_a_mapping_fix_equals_a_clean_ingest(tmp_path):
    export, old_mapping = export_with_old_and_new_mapping()
    new_mapping = export.mapping
    export.mapping = old_mapping
    lake = Lake(tmp_path / "fixed", [export])
    lake.ingest()
    assert {r["unit"] for r in lake.rows("sensor_readings", "melt_log") if r["source_tag"] == "투입중량"} == {"g"}
    lake.mapping_file.write_text(lake.mapping_file.read_text(encoding="utf-8").replace(old_mapping, new_mapping),
                                 encoding="utf-8")

    code = retract(["REAL-01", export.relative.split("/", 1)[1], "--reingest", "--reason", "unit of 투입중량 is kg",
                    "--lake-root", str(lake.root), "--clients-dir", str(lake.root)])
    assert code == 0

    export.mapping = new_mapping
    clean = Lake(tmp_path / "clean", [export])
    clean.ingest()
    assert content(lake) == content(clean)
    assert {r["unit"] for r in lake.rows("sensor_readings", "melt_log") if r["source_tag"] == "투입중량"} == {"kg"}

    # the delete is a logged Delta commit; the ledger keeps the history and the file stays in landing
    history = DeltaTable(str(lake.root / "bronze" / "sensor_readings")).history()
    delete = next(h for h in history if h["operation"] == "DELETE")
    assert delete.get("source_file") == export.relative and "kg" in delete.get("reason", "")
    log = lake.table(LOG_TABLE)
    statuses = [r["status"] for r in log.sort_by("ingested_at").to_pylist() if r["dataset_entry"] == "melt_log"]
    assert statuses == ["ingested", "retracted", "ingested"]
    assert (lake.landing / export.relative).exists()

    # exactly once still holds after the re-ingest
    again = lake.ingest(run_id="again")
    assert {f.status for f in again.files} == {"already_ingested"}
    assert content(lake) == content(clean)


def test_retract_without_reingest_removes_every_row_of_the_file(tmp_path):
    export, _ = export_with_old_and_new_mapping()
    lake = Lake(tmp_path, [export])
    lake.ingest()
    assert retract(["REAL-01", export.relative, "--lake-root", str(lake.root), "--clients-dir", str(lake.root)]) == 0
    for name in ("sensor_readings", "quality_inspections", REJECTIONS_TABLE):
        table = lake.table(name)
        column = "_source_file" if "_source_file" in table.column_names else "source_file"
        assert pc.sum(pc.equal(table[column], export.relative)).as_py() in (None, 0), name
    # a retracted file is new again to the next ingest
    report = lake.ingest(run_id="next")
    assert {f.status for f in report.files} == {"ingested", "partial"}
    assert retract(["REAL-01", "nope.csv", "--lake-root", str(lake.root), "--clients-dir", str(lake.root)]) == 1


def test_dagster_ingest_job_config_retract_files_reingests_them(lake):
    """`retract_files` on ingest_company_job's asset: the matching files are retracted, then ingested
    again in the same run; bronze ends as it was, the ledger shows both steps."""
    import dagster as dg

    from orchestration.assets.ingest import company_landing_files
    from orchestration.lakehouse.registry import load_registry
    from orchestration.partitions import company_partitions
    from orchestration.resources import LakeResource

    clients = Path(__file__).resolve().parents[2] / "clients"
    company = load_registry(clients / "registry.yaml")[0].company_id
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(company_partitions.name, [company])

    def run(config: dict):
        return dg.materialize([company_landing_files], partition_key=company, instance=instance,
                              resources={"lake": LakeResource(root=str(lake), clients_dir=str(clients))},
                              run_config={"ops": {"company_landing_files": {"config": config}}})

    assert run({}).success
    readings = lake / "bronze" / "sensor_readings"
    before = DeltaTable(str(readings)).to_pyarrow_table().drop_columns(["_ingested_at", "_ingest_run_id"])
    target = sorted(set(before["_source_file"].to_pylist()))[0]
    assert run({"retract_files": target.split("/", 1)[1]}).success
    after = DeltaTable(str(readings)).to_pyarrow_table().drop_columns(["_ingested_at", "_ingest_run_id"])
    assert sorted(map(repr, after.to_pylist())) == sorted(map(repr, before.to_pylist()))
    log = DeltaTable(str(lake / "bronze" / LOG_TABLE)).to_pyarrow_table().sort_by("ingested_at").to_pylist()
    assert [r["status"] for r in log if r["source_file"] == target] == ["ingested", "retracted", "ingested"]
    assert any(h["operation"] == "DELETE" for h in DeltaTable(str(readings)).history())


def test_a_mapping_change_alone_does_not_reland_but_says_how_to(tmp_path):
    export, old_mapping = export_with_old_and_new_mapping()
    new_mapping = export.mapping
    export.mapping = old_mapping
    lake = Lake(tmp_path, [export])
    lake.ingest()
    before = content(lake)
    lake.mapping_file.write_text(lake.mapping_file.read_text(encoding="utf-8").replace(old_mapping, new_mapping),
                                 encoding="utf-8")
    report = lake.ingest(run_id="after-edit")
    assert content(lake) == before  # nothing landed twice
    assert {f.status for f in report.files} == {"already_ingested"}
    assert all("retract" in f.first_problem and "--reingest" in f.first_problem for f in report.files)


# ---------------------------------------------------------------- one version of a re-exported file

def superseded(lake: Lake) -> set[str]:
    """Versions the warehouse leaves out, read as its filter reads the ledger (macros/superseded_versions.sql)."""
    return {r["supersedes"] for r in lake.table(LOG_TABLE).to_pylist()
            if r["supersedes"] and r["status"] in ("ingested", "partial")}


def readings_per_version(lake: Lake) -> dict[str, int]:
    table = lake.table("sensor_readings")
    out: dict[str, int] = {}
    for digest in table["_source_hash"].to_pylist():
        out[digest] = out.get(digest, 0) + 1
    return out


def test_retracting_one_version_relinks_the_supersedes_chain(tmp_path):
    """A client re-exports one file twice (v1 -> v2 -> v3). Retracting v2 removes only its rows, and
    v3 now supersedes v1; retracting v3 makes v1 current again, and a new v4 supersedes v1."""
    import datetime as dt
    import hashlib

    from real_exports import NOW, COMPANY

    from orchestration.ingest.landing import discover_landing
    from orchestration.ingest.mapping import load_mapping
    from orchestration.lakehouse.bronze import BronzeLake
    from orchestration.lakehouse.landing_to_bronze import ingest_company
    from orchestration.lakehouse.retraction import retract_file

    exports = [melting_tank(minutes=m) for m in (20, 30, 40, 50)]
    lake = Lake(tmp_path, exports[:1])
    path = lake.landing / exports[0].relative
    bronze = BronzeLake(lake.root / "bronze")

    def land(step: int):
        files = [f for f in discover_landing(lake.landing, {COMPANY}).files if f.company_id == COMPANY]
        return ingest_company(COMPANY, files, mapping=load_mapping(lake.mapping_file), bronze=bronze,
                              quarantine_root=lake.root / "quarantine", run_id=f"v{step}",
                              now=NOW + dt.timedelta(minutes=step))

    versions = []
    for step, export in enumerate(exports[:3], start=1):
        export.write(lake.landing)
        versions.append(hashlib.sha256(path.read_bytes()).hexdigest())
        land(step)
    v1, v2, v3 = versions
    assert len(set(versions)) == 3
    assert superseded(lake) == {v1, v2}
    before = readings_per_version(lake)
    assert set(before) == {v1, v2, v3}

    cli = ["REAL-01", exports[0].relative, "--lake-root", str(lake.root), "--clients-dir", str(lake.root)]
    assert retract(cli + ["--version", v2[:12], "--reason", "v2 was a test export"]) == 0
    assert readings_per_version(lake) == {v1: before[v1], v3: before[v3]}
    assert superseded(lake) == {v1}  # v3 now supersedes v1; v2 supersedes nothing
    log = lake.table(LOG_TABLE).to_pylist()
    assert {r["supersedes"] for r in log if r["source_hash"] == v3} == {v1}
    assert {r["supersedes"] for r in log if r["source_hash"] == v2} == {None}
    assert {r["source_hash"] for r in log if r["status"] == "retracted"} == {v2}
    delete = next(h for h in DeltaTable(str(lake.root / "bronze" / "sensor_readings")).history()
                  if h["operation"] == "DELETE")
    assert delete.get("versions") == v2 and delete.get("reason") == "v2 was a test export"

    retract_file(COMPANY, exports[0].relative, bronze=bronze, quarantine_root=lake.root / "quarantine",
                 run_id="r3", version=v3, now=NOW + dt.timedelta(minutes=5))
    assert readings_per_version(lake) == {v1: before[v1]}
    assert superseded(lake) == set()  # v1 is the file's current version again

    exports[3].write(lake.landing)
    v4 = hashlib.sha256(path.read_bytes()).hexdigest()
    land(6)
    assert {r["supersedes"] for r in lake.table(LOG_TABLE).to_pylist() if r["source_hash"] == v4} == {v1}
    assert superseded(lake) == {v1}

    # a version that is not one of the file's, or too short a prefix, is refused with the versions listed
    assert retract(cli + ["--version", "deadbeef"]) == 1
    assert retract(cli + ["--version", v1[:4]]) == 1
    assert readings_per_version(lake) == {v1: before[v1], v4: readings_per_version(lake)[v4]}
