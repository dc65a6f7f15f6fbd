"""Exactly once under real operation: uploads still being written, and ingests racing in separate
processes. Every check compares bronze and the ledger with a clean run of the final files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from deltalake import DeltaTable
from test_exactly_once import COMPANY, REPO, bronze_fingerprint, company_files, run_ingest

from orchestration.ingest.landing import discover_landing
from orchestration.lakehouse.bronze import LOG_TABLE


def ledger(lake: Path) -> list[dict]:
    path = lake / "bronze" / LOG_TABLE
    return DeltaTable(str(path)).to_pyarrow_table().to_pylist() if path.exists() else []


def clean_run(lake: Path, tmp_path: Path) -> tuple[dict, list[dict]]:
    clean = tmp_path / "clean"
    shutil.copytree(lake / "landing", clean / "landing")
    run_ingest(clean)
    return bronze_fingerprint(clean), ledger(clean)


def ledger_keys(rows: list[dict]) -> Counter:
    return Counter((r["source_file"], r["source_hash"], r["status"]) for r in rows)


WRITER = textwrap.dedent(
    """
    import sys, time
    target, source, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    data = open(source, "rb").read()
    step = max(1, len(data) // 12)
    handle = open(target, "ab")
    for start in range(0, len(data), step):
        if mode == "reopen":   # an uploader that re-opens the file for every chunk (resumable SFTP/HTTP)
            handle = open(target, "ab")
        handle.write(data[start:start + step]); handle.flush()
        if mode == "reopen":
            handle.close()
        time.sleep(0.25)
    handle.close()
    print("DONE", flush=True)
    """
)


@pytest.mark.parametrize("mode", ["held_open", "reopen"])
def test_file_appended_while_ingest_runs_lands_once_as_its_final_version(lake, tmp_path, monkeypatch, mode):
    """A writer process appends a sensor export in 12 chunks over ~3 s while ingest scans again and
    again (settle time 1 s): nothing of the growing file lands, then the final file lands once."""
    clean_bronze, clean_ledger = clean_run(lake, tmp_path)
    monkeypatch.setenv("LANDING_SETTLE_SECONDS", "1")
    time.sleep(1.1)  # the sample files have settled
    growing = max(company_files(lake), key=lambda p: p.stat().st_size)
    final = tmp_path / "final.bin"
    shutil.move(growing, final)
    run_ingest(lake, run_id="before")  # the other files land now

    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(growing), str(final), mode],
                              stdout=subprocess.PIPE, text=True)
    rel = growing.relative_to(lake / "landing").as_posix()
    seen_waiting = False
    while writer.poll() is None:
        report = run_ingest(lake, run_id="during")
        assert rel not in {f.source_file for f in report.files if f.status != "changed"}, "took a growing file"
        seen_waiting |= rel in {w.file for w in discover_landing(lake / "landing", {COMPANY}).waiting}
        time.sleep(0.1)
    assert writer.stdout.read().strip() == "DONE"
    assert seen_waiting
    assert growing.read_bytes() == final.read_bytes()
    time.sleep(1.2)  # the settle time passes
    run_ingest(lake, run_id="after")
    assert bronze_fingerprint(lake) == clean_bronze
    assert ledger_keys(ledger(lake)) == ledger_keys(clean_ledger)


RACER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path[:0] = [{tests!r}, {lakehouse!r}]
    from test_exactly_once import run_ingest, COMPANY, CLIENTS
    from orchestration.ingest.landing import discover_landing
    from orchestration.ingest.mapping import load_mapping
    from orchestration.lakehouse.bronze import BronzeLake
    from orchestration.lakehouse.landing_to_bronze import ingest_company
    lake, only, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    files = [f for f in discover_landing(lake / "landing", {{COMPANY}}).files
             if f.company_id == COMPANY and (only == "*" or f.relative_path.endswith("/" + only))]
    mapping = load_mapping(CLIENTS / "mappings" / f"{{COMPANY}}.yaml")
    print("READY", flush=True)
    while not go.exists():
        time.sleep(0.005)
    report = ingest_company(COMPANY, files, mapping=mapping, bronze=BronzeLake(lake / "bronze"),
                            quarantine_root=lake / "quarantine", run_id=sys.argv[4])
    print("STATUSES", ",".join(sorted(f.status for f in report.files)), flush=True)
    """
)


def race(lake: Path, tmp_path: Path, selections: list[str]) -> list[str]:
    """Start one ingest process per selection, let them all scan the landing area, then release
    them at the same moment; their file statuses."""
    go = tmp_path / "go"
    script = RACER.format(tests=str(REPO / "tests"), lakehouse=str(REPO / "tests" / "lakehouse"))
    children = [subprocess.Popen([sys.executable, "-c", script, str(lake), only, str(go), f"racer{i}"],
                                 stdout=subprocess.PIPE, text=True, cwd=REPO) for i, only in enumerate(selections)]
    for child in children:
        assert child.stdout.readline().strip() == "READY"
    go.touch()
    outputs = []
    for child in children:
        out, _ = child.communicate(timeout=300)
        assert child.returncode == 0, out
        outputs.append(out.strip().removeprefix("STATUSES "))
    return outputs


def test_two_processes_ingesting_the_same_files_at_once_land_them_once(lake, tmp_path):
    clean_bronze, clean_ledger = clean_run(lake, tmp_path)
    outputs = race(lake, tmp_path, ["*", "*"])
    assert bronze_fingerprint(lake) == clean_bronze
    assert ledger_keys(ledger(lake)) == ledger_keys(clean_ledger)
    statuses = [set(o.split(",")) for o in outputs]
    assert {"already_ingested"} in statuses, outputs  # the second one found the first one's work


def test_same_content_under_two_names_at_the_same_moment_lands_once(lake, tmp_path):
    original = company_files(lake)[0]
    copy = original.with_name(f"{original.stem}_재전송{original.suffix}")  # re-sent under a new name
    shutil.copyfile(original, copy)
    only_two = tmp_path / "two"
    (only_two / "landing" / COMPANY).mkdir(parents=True)
    for path in (original, copy):  # a landing area with just these two files
        target = only_two / "landing" / path.relative_to(lake / "landing")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    single = tmp_path / "single"
    target = single / "landing" / original.relative_to(lake / "landing")
    target.parent.mkdir(parents=True)
    shutil.copyfile(original, target)
    run_ingest(single)

    outputs = race(only_two, tmp_path, [original.name, copy.name])
    assert sorted(outputs) == ["duplicate", "ingested"] or sorted(outputs) == ["duplicate", "partial"], outputs
    # whichever name won, its rows landed once (the lineage names the winner)
    assert {k: n for k, (n, _) in bronze_fingerprint(only_two).items()} == \
        {k: n for k, (n, _) in bronze_fingerprint(single).items()}
    statuses = Counter(r["status"] for r in ledger(only_two))
    assert statuses["duplicate"] == 1 and statuses["ingested"] + statuses["partial"] == 1, statuses
