"""The whole lakehouse on a small generated sample: raw files -> bronze -> warehouse -> KPIs.

Expected numbers are computed here straight from the landing files with pandas, following each
client's mapping by hand, independently of the ingestion code.
"""

from __future__ import annotations

import collections
import fnmatch
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from orchestration.lakehouse.registry import load_registry
from orchestration.warehouse.ducklake import Warehouse

REPO = Path(__file__).resolve().parent.parent
CLIENTS = REPO / "clients"


def read_export(path: Path, spec: dict) -> pd.DataFrame:
    header = int(spec.get("header_row", 1)) - 1
    if spec.get("format", "csv") == "xlsx":
        return pd.read_excel(path, sheet_name=spec.get("sheet") or 0, header=header, dtype=str, engine="openpyxl")
    encoding = spec.get("encoding", "utf-8")
    return pd.read_csv(path, sep=spec.get("delimiter", ","), header=header, dtype=str,
                       encoding="utf-8-sig" if encoding in ("utf-8", "auto") else encoding)


def files_of(landing: Path, company: str, spec: dict) -> list[Path]:
    root = landing / company
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and fnmatch.fnmatch(p.relative_to(root).as_posix(), spec["files"]))


def expected_counts(landing: Path) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = collections.defaultdict(lambda: collections.Counter())
    for mapping_file in sorted((CLIENTS / "mappings").glob("*.yaml")):
        mapping = yaml.safe_load(mapping_file.read_text(encoding="utf-8"))
        company = mapping["company_id"]
        for spec in mapping["datasets"]:
            for path in files_of(landing, company, spec):
                frame = read_export(path, spec)
                if spec["dataset"] == "sensor_readings":
                    if spec.get("layout", "wide") == "wide":
                        cells = frame[[c for c in spec["sensors"] if c in frame.columns]]
                        counts[company]["readings"] += int(cells.notna().sum().sum())
                    else:
                        counts[company]["readings"] += int(frame[spec["value_column"]].notna().sum())
                elif spec["dataset"] == "quality_inspections":
                    result = frame[spec["columns"]["result"]].str.strip()
                    fail_labels = {k for k, v in spec["result_values"].items() if v == "fail"}
                    counts[company]["inspections"] += len(frame)
                    counts[company]["failed"] += int(result.isin(fail_labels).sum())
                elif spec["dataset"] == "production_lots":
                    counts[company]["lots"] += len(frame)
    return counts


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory, small_sample):
    import shutil

    from orchestration.pipeline import DEMO_MARKER, run_pipeline, where_to_look

    lake = tmp_path_factory.mktemp("e2e") / "lake"
    shutil.copytree(small_sample, lake / "landing")
    (lake / DEMO_MARKER).touch()  # the demo runs only in a demo lake
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DEMO_LAKE_ROOT", str(lake))
        env.delenv("WAREHOUSE_CATALOG", raising=False)
        env.delenv("WAREHOUSE_DATA_PATH", raising=False)

        outcome = run_pipeline()
        yield lake, outcome, where_to_look(outcome)


def test_kpis_equal_counts_taken_from_the_landing_files(pipeline_run):
    lake, _, _ = pipeline_run
    expected = expected_counts(lake / "landing")
    con = Warehouse.in_folder(lake / "warehouse").connect_read_only()

    registry = load_registry(CLIENTS / "registry.yaml")
    by_region_industry = collections.Counter((c.region, c.industry) for c in registry)
    onboarded = {(r, i): n for r, i, n in con.execute(
        "select region_code, industry_code, companies from kpi.companies_onboarded").fetchall()}
    assert onboarded == dict(by_region_industry)

    volume = {c: (r, l) for c, r, l in con.execute(
        "select company_id, sensor_readings, production_lots from kpi.company_data_volume").fetchall()}
    assert volume == {c: (expected[c]["readings"], expected[c]["lots"]) for c in expected}

    defects = {c: (n, f, rate) for c, n, f, rate in con.execute(
        "select company_id, inspections, failed_inspections, inspection_defect_rate from kpi.company_defect_rate"
    ).fetchall()}
    for company, counts in expected.items():
        n, failed, rate = defects[company]
        assert (n, failed) == (counts["inspections"], counts["failed"]), company
        assert rate == pytest.approx(counts["failed"] / counts["inspections"])
    assert sum(c["failed"] for c in expected.values()) > 0, "the sample should contain some defects"


def test_every_warehouse_object_answers_a_fresh_connection(pipeline_run):
    lake, _, _ = pipeline_run
    con = Warehouse.in_folder(lake / "warehouse").connect_read_only()
    objects = con.execute(
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_catalog = current_database()"
    ).fetchall()
    assert len(objects) > 15
    kinds = {kind for _, _, kind in objects}
    failures = []
    for schema, name, _ in objects:
        try:
            con.execute(f'select * from "{schema}"."{name}" limit 1').fetchall()
        except duckdb.Error as error:
            failures.append(f"{schema}.{name}: {error}")
    assert failures == [], kinds


def test_lineage_and_outputs_are_where_the_summary_says(pipeline_run):
    lake, outcome, summary = pipeline_run
    assert str(lake / "warehouse" / "catalog.sqlite") in summary
    assert (lake / "reports" / "kpi" / "index.html").read_text(encoding="utf-8").count("참여기업") >= 1
    con = Warehouse.in_folder(lake / "warehouse").connect_read_only()
    features = con.execute("select count(*), count(distinct lot_key) from features.lot_sensor_features").fetchall()[0]
    lots = con.execute("select count(*) from fct_production_lots").fetchall()[0][0]
    assert features[0] > 0 and 0 < features[1] <= lots
    # every standard reading can be traced back to a landing file that exists
    sources = [r[0] for r in con.execute("select distinct source_file from fct_sensor_readings").fetchall()]
    assert sources and all((lake / "landing" / s).is_file() for s in sources)


def test_every_company_with_labelled_units_has_an_ai_result_and_report(pipeline_run):
    """make pipeline trains, scores and reports for every sample company with labelled units; with a
    demo's few dozen lots the honest verdict is not demonstrable, and the report says why."""
    lake, outcome, summary = pipeline_run
    con = Warehouse.in_folder(lake / "warehouse").connect_read_only()
    labelled = {r[0] for r in con.execute(
        "select distinct company_id from features.production_units where is_defect is not null").fetchall()}
    results = dict(con.execute("select company_id, reason_ko from ml.model_results").fetchall())
    assert labelled and set(results) == labelled
    for company in labelled:
        html = (lake / "reports" / "ai" / f"{company}.html").read_text(encoding="utf-8")
        assert results[company] in html
    assert str(lake / "reports" / "ai") in summary
