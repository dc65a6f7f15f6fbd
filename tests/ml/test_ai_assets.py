"""The AI assets on a warehouse file, as the center runs them: a company's model is trained on its
first weeks, then new days land; scoring writes predictions with the model version for the new
units only, the on-site result once their labels are in, PSI and drift flags; a second scoring run
adds nothing twice; the demonstration report says what was found, and for a company without a
learnable pattern that it is not demonstrable and why. The report opens in headless Chromium."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.assets.ml import ai_demonstration_report, defect_model, equipment_anomalies, unit_scores
from orchestration.ml.features import build_feature_tables
from orchestration.partitions import company_partitions
from orchestration.resources import LakeResource, WarehouseResource
from orchestration.warehouse.ducklake import Warehouse
from orchestration.sample_clients.warehouse_units import UnitSample, load_marts, lot_units

CHROMIUM_FLAGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
                  "--no-first-run", "--disable-extensions"]


def publish(warehouse: Warehouse, *samples: UnitSample) -> None:
    """Stand-in for the dbt build: the marts and feature models in the warehouse, one transaction."""
    with warehouse.transaction("tests: marts and features") as tx:
        load_marts(tx.con, *samples)
        build_feature_tables(tx.con)


def metadata_of(result, node: str) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node(node)[0].metadata.items()}


@pytest.fixture(scope="module")
def demonstrated(tmp_path_factory):
    root = tmp_path_factory.mktemp("ai")
    learnable = lot_units("TEST-LOT-01", units=2400, pattern="inside", seed=31)
    noise = lot_units("TEST-NOISE-02", units=600, pattern=None, fail_normal=0.03, seed=32)
    cut = learnable.lots.end_ts_utc.sort_values().iloc[1800]
    warehouse = Warehouse.in_folder(root / "warehouse")
    resources = {"lake": LakeResource(root=str(root / "lake")),
                 "warehouse": WarehouseResource(catalog=warehouse.catalog, data_path=warehouse.data_path)}
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(company_partitions.name, [learnable.company_id, noise.company_id])

    def run(assets, company):
        return dg.materialize(assets, partition_key=company, resources=resources, instance=instance)

    publish(warehouse, learnable.before(cut), noise)
    runs = {"trained": run([defect_model], learnable.company_id),
            "noise": run([defect_model, unit_scores, ai_demonstration_report], noise.company_id),
            "first_scoring": run([unit_scores], learnable.company_id)}
    publish(warehouse, learnable, noise)  # 600 more lots landed, with their inspections
    runs["scoring"] = run([unit_scores], learnable.company_id)
    runs["again"] = run([unit_scores, equipment_anomalies, ai_demonstration_report], learnable.company_id)
    return {"root": root, "warehouse": warehouse, "learnable": learnable, "noise": noise, "cut": cut, **runs}


def test_training_is_tracked_and_linked(demonstrated):
    metadata = metadata_of(demonstrated["trained"], "ml__defect_model")
    assert metadata["demonstrable"] is True
    assert metadata["mlflow_run"].startswith("http://127.0.0.1:5000/#/experiments/")
    assert metadata["registered_model"] == "defect_prediction_TEST-LOT-01 v1"
    assert (demonstrated["root"] / "lake" / "mlflow" / "mlflow.db").is_file()
    noise = metadata_of(demonstrated["noise"], "ml__defect_model")
    assert noise["demonstrable"] is False
    # the training read a DuckLake snapshot, recorded and pinned for each registered version
    from orchestration.warehouse.snapshots import pinned_snapshots

    with demonstrated["warehouse"].connect_read_only() as con:
        pins = pinned_snapshots(con)
    assert metadata["input_version"]["warehouse"]["snapshot_id"] == metadata["training_snapshot_id"] in pins
    assert metadata["warehouse_snapshot_id"] > metadata["training_snapshot_id"]
    assert noise["registered_model"].endswith(" v1") and noise["training_snapshot_id"] in pins
    assert pins == {metadata["training_snapshot_id"], noise["training_snapshot_id"]}


def test_scoring_new_days_once_with_onsite_results_and_drift(demonstrated):
    sample, cut = demonstrated["learnable"], demonstrated["cut"]
    known = sample.before(cut)
    cutoff = known.lots[known.lots.lot_key.isin(known.inspections.lot_key)].end_ts_utc.max()
    waiting = int((known.lots.end_ts_utc > cutoff).sum())  # lots still waiting for their inspection
    assert metadata_of(demonstrated["first_scoring"], "ml__unit_scores")["scored_units"] == waiting
    assert metadata_of(demonstrated["again"], "ml__unit_scores")["scored_units"] == 0

    con = demonstrated["warehouse"].connect_read_only()
    company = [sample.company_id]
    cutoff_row = con.execute("select model_version, demonstrable, training_cutoff_utc from ml.model_results "
                             "where company_id = ?", company).fetchall()
    assert len(cutoff_row) == 1 and cutoff_row[0][:2] == ("1", True)
    scored = con.execute("""
        select count(*), count(distinct unit_key), bool_and(end_ts_utc > ?), bool_and(model_version = '1')
        from ml.predictions where company_id = ?""", [cutoff_row[0][2], sample.company_id]).fetchall()[0]
    new_units = int((sample.lots.end_ts_utc > pd.Timestamp(cutoff_row[0][2])).sum())
    assert scored == (new_units, new_units, True, True)
    tp, fn, recall = con.execute("select sum(tp), sum(fn), sum(tp) / nullif(sum(tp) + sum(fn), 0) "
                                 "from ml.onsite_daily where company_id = ?", company).fetchall()[0]
    later = sample.lots[sample.lots.end_ts_utc > pd.Timestamp(cutoff_row[0][2])].lot_key
    labelled_defects = int(sample.inspections[sample.inspections.lot_key.isin(later)]
                           .groupby("lot_key").is_defect.any().sum())
    assert tp + fn == labelled_defects and recall >= 0.5
    assert con.execute("select count(distinct feature) from ml.feature_psi where company_id = ?",
                       company).fetchall()[0][0] > 5
    flags = dict(con.execute("select kind, flagged from ml.drift_flags where company_id = ?", company).fetchall())
    assert flags.get("feature_drift") is False  # the same process after training: no drift


def test_report_of_a_demonstrated_company(demonstrated):
    path = demonstrated["root"] / "lake" / "reports" / "ai" / "TEST-LOT-01.html"
    html = path.read_text(encoding="utf-8")
    script = re.search(r'<script src="([^"]*plotly[^"]*)"', html)
    assert script and (path.parent / script.group(1)).is_file()  # the reports' shared plotly.js: opens offline
    assert path.stat().st_size < 1_000_000  # not 4.6 MB of plotly.js inside every page
    assert 'data-demonstrable="true"' in html and "실증 가능" in html
    assert re.search(r"100 LOT 중 불량 [0-9.]+건 중 [0-9.]+건 탐지, 오탐 [0-9.]+건", html)
    assert html.count("Plotly.newPlot") >= 6
    # equipment anomaly detection: every sensor-hour scored, the most unusual listed in the report
    anomalies = metadata_of(demonstrated["again"], "ml__equipment_anomalies")
    assert anomalies["sensor_hours"] > 1000 and 0 < anomalies["anomalous_hours"] <= 0.02 * anomalies["sensor_hours"]
    assert f"{anomalies['anomalous_hours']}개를 이상으로 표시" in html and 'id="anomalies"' in html


def test_company_without_a_pattern_says_it_is_not_demonstrable(demonstrated):
    html = (demonstrated["root"] / "lake" / "reports" / "ai" / "TEST-NOISE-02.html").read_text(encoding="utf-8")
    assert 'data-demonstrable="false"' in html and "아직 실증 불가" in html
    con = demonstrated["warehouse"].connect_read_only()
    reason_ko, = con.execute("select reason_ko from ml.model_results where company_id = 'TEST-NOISE-02'").fetchall()[0]
    assert reason_ko in html


def test_report_in_headless_chromium(demonstrated, tmp_path):
    binary = shutil.which("chromium")
    assert binary, "chromium is not installed (Debian package `chromium`); make test installs it"
    path = demonstrated["root"] / "lake" / "reports" / "ai" / "TEST-LOT-01.html"
    dom = subprocess.run([binary, *CHROMIUM_FLAGS, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=20000",
                          "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    assert re.search(r"<title>[^<]*AI 솔루션 실증 보고서", page)
    con = demonstrated["warehouse"].connect_read_only()
    pr_auc, = con.execute("select pr_auc from ml.model_results where company_id = 'TEST-LOT-01'").fetchall()[0]
    shown = re.search(r'id="pr-auc">([0-9.]+)<', page)
    assert shown and float(shown.group(1)) == pytest.approx(pr_auc, abs=0.0005)
    assert page.count('class="main-svg"') >= 3
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, "\n".join(console)
    shot = demonstrated["root"] / "ai_report.png"
    run = subprocess.run([binary, *CHROMIUM_FLAGS, "--virtual-time-budget=20000", f"--screenshot={shot}",
                          "--window-size=1280,2400", path.as_uri()], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1280, 2400)
    assert len(data) > 50_000
