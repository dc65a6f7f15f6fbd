"""Each landing file lands exactly once: same content twice, re-runs, crashes mid-write."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from orchestration.ingest.bronze_schemas import DATASETS
from orchestration.ingest.landing import discover_landing
from orchestration.ingest.mapping import load_mapping
from orchestration.lakehouse.bronze import LOG_TABLE, BronzeLake
from orchestration.lakehouse.landing_to_bronze import ingest_company
from orchestration.lakehouse.registry import load_registry

REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "clients"
COMPANY = load_registry(CLIENTS / "registry.yaml")[0].company_id


def run_ingest(lake: Path, company: str = COMPANY, run_id: str = "run"):
    known = {c.company_id for c in load_registry(CLIENTS / "registry.yaml")}
    files = [f for f in discover_landing(lake / "landing", known).files if f.company_id == company]
    return ingest_company(company, files, mapping=load_mapping(CLIENTS / "mappings" / f"{company}.yaml"),
                          bronze=BronzeLake(lake / "bronze"), quarantine_root=lake / "quarantine", run_id=run_id)


def bronze_fingerprint(lake: Path) -> dict[str, tuple[int, str]]:
    """Row count and a hash of the content (lineage to file and row included, run ids and
    ingest times excluded) of every bronze dataset table."""
    out = {}
    for dataset in DATASETS:
        path = lake / "bronze" / dataset
        if not path.exists():
            out[dataset] = (0, "")
            continue
        table = DeltaTable(str(path)).to_pyarrow_table()
        table = table.drop_columns(["_ingested_at", "_ingest_run_id"])
        table = table.sort_by([(c, "ascending") for c in ("_source_file", "_source_row", "source_tag")
                               if c in table.column_names])
        digest = hashlib.sha256()
        for column in sorted(table.column_names):
            digest.update(column.encode())
            digest.update(str(table[column].to_pylist()).encode())
        out[dataset] = (table.num_rows, digest.hexdigest())
    return out


def company_files(lake: Path, company: str = COMPANY) -> list[Path]:
    return sorted(p for p in (lake / "landing" / company).rglob("*") if p.is_file())


def test_rerun_adds_nothing(lake):
    first = run_ingest(lake)
    assert first.rows_landed() > 0
    before = bronze_fingerprint(lake)
    again = run_ingest(lake, run_id="again")
    assert again.rows_landed() == 0
    assert {f.status for f in again.files} == {"already_ingested"}
    assert bronze_fingerprint(lake) == before


def test_same_content_under_another_name_is_not_landed_twice(lake):
    run_ingest(lake)
    before = bronze_fingerprint(lake)
    original = company_files(lake)[0]
    copy = original.with_name("재전송_" + original.name)  # re-sent under a Korean name
    shutil.copyfile(original, copy)
    report = run_ingest(lake, run_id="resend")
    assert bronze_fingerprint(lake) == before
    [duplicate] = report.files_with_status("duplicate")
    assert duplicate.source_file.endswith(copy.name)
    assert original.name in duplicate.first_problem
    log = DeltaTable(str(lake / "bronze" / LOG_TABLE)).to_pyarrow_table()
    assert pc.sum(pc.equal(log["status"], "duplicate")).as_py() == 1


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from lakehouse.test_exactly_once import run_ingest
    import orchestration.lakehouse.bronze as bronze
    mode = sys.argv[2]
    if mode == "after-first-commit":
        original = bronze.BronzeLake.append
        def append_then_die(self, name, rows):
            version = original(self, name, rows)
            os.kill(os.getpid(), signal.SIGKILL)  # a crash between two commits
        bronze.BronzeLake.append = append_then_die
    elif mode == "announce":
        original = bronze.BronzeLake.append
        def announce(self, name, rows):
            print("WRITING", name, flush=True)
            return original(self, name, rows)
        bronze.BronzeLake.append = announce
    run_ingest(Path(sys.argv[1]), run_id="crashed")
    print("FINISHED", flush=True)
    """
)


def start_child(lake: Path, mode: str) -> subprocess.Popen:
    script = CHILD.format(tests=str(REPO / "tests"))
    return subprocess.Popen([sys.executable, "-c", script, str(lake), mode], stdout=subprocess.PIPE, text=True,
                            cwd=REPO)


@pytest.fixture
def clean_fingerprint(lake, tmp_path):
    clean = tmp_path / "clean"
    shutil.copytree(lake / "landing", clean / "landing")
    run_ingest(clean)
    return bronze_fingerprint(clean)


def test_killed_between_commits_then_rerun_equals_a_clean_run(lake, clean_fingerprint):
    child = start_child(lake, "after-first-commit")
    child.wait(timeout=300)
    assert child.returncode == -signal.SIGKILL
    partial = bronze_fingerprint(lake)
    assert partial != clean_fingerprint, "the crash should have left the ingest incomplete"
    run_ingest(lake, run_id="rerun")
    assert bronze_fingerprint(lake) == clean_fingerprint


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.3])
def test_killed_while_writing_then_rerun_equals_a_clean_run(lake, clean_fingerprint, delay):
    child = start_child(lake, "announce")
    line = child.stdout.readline()  # blocks until the first Delta write starts
    assert line.startswith("WRITING"), line
    time.sleep(delay)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=60)
    run_ingest(lake, run_id="rerun")
    assert bronze_fingerprint(lake) == clean_fingerprint
