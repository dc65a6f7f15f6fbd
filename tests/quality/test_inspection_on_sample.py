"""End to end on the project's own generator: planted defects -> ingest -> warehouse -> inspection.

Each defect the generator planted (its manifest says where, in UTC) must come out as an issue of
the right dimension on the right equipment and tag, within one sampling interval of the planted
time range; the same company generated without defects must score >= 99 on every dimension.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from deltalake import write_deltalake

from orchestration.quality import DIMENSIONS, inspect_company, load_quality_config

REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "clients"
SAMPLING = 300
DAYS = 2

# The generator's defect kind -> (issue types accepted, dimension)
EXPECTED = {
    "gap": ({"gap"}, "completeness"),
    "missing_values": ({"missing_values"}, "completeness"),
    "stuck": ({"stuck"}, "validity"),
    "spike": ({"spike"}, "validity"),
    "out_of_range": ({"out_of_range"}, "validity"),
    "duplicate": ({"duplicate"}, "uniqueness"),
    "late_file": ({"late_file"}, "timeliness"),
}


def _land_files_on_time(landing: Path, manifest: dict) -> None:
    """Give every export the landing time a collection agent would: 20 minutes after the end of
    the day it covers (files the generator made late keep the time it gave them)."""
    late = {f for d in manifest["defects"] if d["kind"] == "late_file" for f in d["files"]}
    for entry in manifest["files"]:
        if entry["path"] in late:
            continue
        path = landing / entry["path"]
        stamp = "".join(ch for ch in Path(entry["path"]).stem if ch.isdigit())[:8]
        if len(stamp) != 8:
            continue
        day_end = pd.Timestamp(datetime.strptime(stamp, "%Y%m%d"), tz="Asia/Seoul") + pd.Timedelta(days=1)
        landed = (day_end + pd.Timedelta(minutes=20)).timestamp()
        os.utime(path, (landed, landed))


def _build(root: Path, company: str, defects) -> tuple[Path, dict]:
    from orchestration.ingest.landing import discover_landing
    from orchestration.ingest.mapping import load_mapping
    from orchestration.lakehouse.bronze import BronzeLake
    from orchestration.lakehouse.landing_to_bronze import file_sha256, ingest_company
    from orchestration.lakehouse.registry import load_registry, registry_tables
    from orchestration.sample_clients import generate_sample
    from orchestration.warehouse.build import build_warehouse
    from orchestration.warehouse.ducklake import Warehouse

    landing, bronze = root / "landing", root / "bronze"
    generate_sample(landing, seed=5, days=DAYS, sampling_seconds=SAMPLING, companies=[company], defects=defects)
    manifest = json.loads((root / "sample_manifest.json").read_text(encoding="utf-8"))
    _land_files_on_time(landing, manifest)
    companies = load_registry(CLIENTS / "registry.yaml")
    for name, table in registry_tables(companies).items():
        write_deltalake(str(bronze / name), table, mode="overwrite", schema_mode="overwrite")
    known = {c.company_id for c in companies}
    mapping_file = CLIENTS / "mappings" / f"{company}.yaml"
    files = [f for f in discover_landing(landing, known).files if f.company_id == company]
    ingest_company(company, files, mapping=load_mapping(mapping_file), bronze=BronzeLake(bronze),
                   quarantine_root=root / "quarantine", run_id="quality-test",
                   mapping_version=file_sha256(mapping_file))
    warehouse = Warehouse.in_folder(root / "warehouse")
    build_warehouse(warehouse, bronze)
    return warehouse, manifest


def _company_with_tags(*tags: str) -> tuple[str, str]:
    """A registered company whose first equipment has all the tags; (company_id, the mapping's layout)."""
    import yaml

    registry = yaml.safe_load((CLIENTS / "registry.yaml").read_text(encoding="utf-8"))
    for entry in registry["companies"]:
        mapping = yaml.safe_load((CLIENTS / "mappings" / f"{entry['company_id']}.yaml").read_text(encoding="utf-8"))
        spec = next(d for d in mapping["datasets"] if d["dataset"] == "sensor_readings")
        mapped = spec.get("sensors") or spec.get("tags") or {}
        have = {v["tag"] for v in mapped.values()}
        if set(tags) <= have:
            return entry["company_id"], spec.get("layout", "wide")
    pytest.fail(f"no registered company has sensors for {tags}")


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    from orchestration.sample_clients import SAMPLE_START, PlantedDefect

    company, _ = _company_with_tags("TEMP", "PRES")
    day0 = datetime.combine(SAMPLE_START, datetime.min.time())
    at = lambda day, hour: day0 + pd.Timedelta(days=day, hours=hour)  # noqa: E731 (KST wall clock)
    defects = [
        PlantedDefect("gap", company, "TEMP", at(0, 2), hours=3),
        PlantedDefect("missing_values", company, "PRES", at(0, 9), hours=2),
        PlantedDefect("stuck", company, "PRES", at(0, 14), hours=2),
        PlantedDefect("spike", company, "TEMP", at(1, 3), hours=2),
        PlantedDefect("out_of_range", company, "TEMP", at(1, 8), hours=1),
        PlantedDefect("duplicate", company, "PRES", at(1, 12), hours=1),
        PlantedDefect("late_file", company, "TEMP", at(1, 0), hours=30),
    ]
    root = tmp_path_factory.mktemp("dq_sample") / "lake"
    warehouse, manifest = _build(root, company, defects)
    with warehouse.transaction("tests: quality inspection") as tx:
        result = inspect_company(tx.con, load_quality_config(company, CLIENTS / "quality.yaml"))
    return company, manifest, result


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    company, _ = _company_with_tags("TEMP", "PRES")
    root = tmp_path_factory.mktemp("dq_sample_clean") / "lake"
    warehouse, _ = _build(root, company, [])
    with warehouse.transaction("tests: quality inspection") as tx:
        return company, inspect_company(tx.con, load_quality_config(company, CLIENTS / "quality.yaml"))


def test_every_planted_defect_is_found_where_it_was_planted(planted_run):
    company, manifest, result = planted_run
    issues = result.issues
    step = pd.Timedelta(seconds=SAMPLING)
    planted = [d for d in manifest["defects"] if d["company_id"] == company]
    assert len(planted) == 7
    for defect in planted:
        types, dimension = EXPECTED[defect["kind"]]
        candidates = issues[issues.issue_type.isin(types) & (issues.dimension == dimension)]
        if defect.get("equipment_id"):
            candidates = candidates[(candidates.equipment_id == defect["equipment_id"])
                                    & (candidates.source_tag == defect["source_tag"])
                                    & (candidates.tag_code == defect["tag"])]
        start = pd.Timestamp(defect["start_utc"])
        # the manifest's end is exclusive (window start + hours); the last affected reading is one step earlier
        end = pd.Timestamp(defect["end_utc"]) - step
        if defect["kind"] == "spike":
            moments = [pd.Timestamp(t) for t in defect["timestamps_utc"]]
            for moment in moments:
                hit = candidates[(abs(pd.to_datetime(candidates.start_utc) - moment) <= step)]
                assert len(hit) >= 1, f"spike at {moment} not found in\n{candidates}\n{issues}"
            continue
        if defect["kind"] == "late_file":
            hit = candidates[candidates.message_en.str.contains(defect["files"][0], regex=False)]
            assert len(hit) == 1, f"late file {defect['files']} not found in\n{issues}"
            continue
        hit = candidates[(abs(pd.to_datetime(candidates.start_utc) - start) <= step)
                         & (abs(pd.to_datetime(candidates.end_utc) - end) <= step)]
        assert len(hit) >= 1, f"{defect} not found; candidates:\n{candidates}\nall issues:\n{issues}"


def test_planted_defects_lower_their_dimension_scores(planted_run):
    _, _, result = planted_run
    for dimension in ("completeness", "validity", "uniqueness", "timeliness"):
        assert result.scores[dimension] < 100, dimension


def test_clean_sample_scores_at_least_99_on_every_dimension(clean_run):
    _, result = clean_run
    assert result.issues.empty, result.issues
    low = result.daily[result.daily.score < 99]
    assert low.empty, low
    assert all(result.scores[d] >= 99 for d in (*DIMENSIONS, "overall")), result.scores
