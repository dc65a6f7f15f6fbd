"""Completion markers: a client whose mapping says `completion_marker: "{name}.done"` signals that a
file is complete by dropping the marker; the file is taken only then (no settle time), and the
markers themselves are never data, never rejections."""

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
from test_exactly_once import CLIENTS, COMPANY, bronze_fingerprint, company_files

from orchestration.ingest.landing import discover_landing
from orchestration.ingest.mapping import MappingError, load_mapping
from orchestration.lakehouse.bronze import LOG_TABLE, REJECTIONS_TABLE, BronzeLake
from orchestration.lakehouse.landing_to_bronze import ingest_company

MARKER = "{name}.done"


def marker_mapping(tmp_path: Path, marker: str = MARKER) -> Path:
    """The company's real mapping with a top-level completion marker added."""
    path = tmp_path / "clients" / "mappings" / f"{COMPANY}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (CLIENTS / "mappings" / f"{COMPANY}.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("\ndatasets:\n", f'\ncompletion_marker: "{marker}"\ndatasets:\n', 1), encoding="utf-8")
    return path


def scan(lake: Path, mapping_file: Path, settle: float = 0):
    return discover_landing(lake / "landing", {COMPANY}, settle_seconds=settle,
                            mappings={COMPANY: load_mapping(mapping_file)})


def ingest(lake: Path, mapping_file: Path, run_id: str = "run"):
    files = scan(lake, mapping_file).for_company(COMPANY)
    return ingest_company(COMPANY, files, mapping=load_mapping(mapping_file), bronze=BronzeLake(lake / "bronze"),
                          quarantine_root=lake / "quarantine", run_id=run_id)


def table_rows(lake: Path, table: str) -> list[dict]:
    path = lake / "bronze" / table
    return DeltaTable(str(path)).to_pyarrow_table().to_pylist() if path.exists() else []


def drop_marker(data_file: Path) -> Path:
    marker = data_file.with_name(data_file.name + ".done")
    marker.write_bytes(b"")
    return marker


def test_marker_names_are_checked_when_the_mapping_loads(tmp_path):
    for bad, problem in [("done", "needs {name} or {stem}"), ("{name}", "the data file itself"),
                         ("../{name}.done", "without '..'"), ("{name}.{ext}", "only {name} and {stem}"),
                         ("{stem}*.ok", "not a glob")]:
        with pytest.raises(MappingError, match="completion_marker") as error:
            load_mapping(marker_mapping(tmp_path, bad))
        assert problem in str(error.value)
    assert load_mapping(marker_mapping(tmp_path, "{stem}.ok")).datasets[0].completion_marker == "{stem}.ok"


def test_a_file_waits_for_its_marker_and_the_marker_is_never_data(lake, tmp_path):
    mapping_file = marker_mapping(tmp_path)
    data = company_files(lake)
    first = scan(lake, mapping_file)
    assert first.for_company(COMPANY) == []  # settled, but no marker yet
    assert {w.reason for w in first.waiting} == {"waiting_for_marker"}
    assert len(first.waiting) == len(data)
    assert "waiting for its completion marker" in first.waiting[0].message

    marker = drop_marker(data[0])
    upper = data[1].with_name(data[1].name.upper() + ".DONE")  # exported from Windows: names compare caseless
    upper.write_bytes(b"")
    second = scan(lake, mapping_file)
    assert {f.path for f in second.for_company(COMPANY)} == {data[0], data[1]}
    assert set(second.markers) == {p.relative_to(lake / "landing").as_posix() for p in (marker, upper)}
    assert not [r for r in second.rejected if r.file.startswith(COMPANY + "/")]

    # the client re-exports the file after its marker: the old marker no longer vouches for it
    time.sleep(0.05)  # file times tick coarsely (a few ms)
    data[0].write_bytes(data[0].read_bytes())
    third = scan(lake, mapping_file)
    assert data[0] not in {f.path for f in third.for_company(COMPANY)}
    assert "changed after its completion marker" in {w.file: w.message for w in third.waiting}[
        data[0].relative_to(lake / "landing").as_posix()]

    # without the mapping's marker rule (another company's default), settled files are taken as before
    plain = discover_landing(lake / "landing", {COMPANY}, settle_seconds=0)
    assert data[0] in {f.path for f in plain.for_company(COMPANY)}


WRITER = textwrap.dedent(
    """
    import sys, time
    target, source, marker = sys.argv[1], sys.argv[2], sys.argv[3]
    data = open(source, "rb").read()
    step = max(1, len(data) // 12)
    for start in range(0, len(data), step):
        with open(target, "ab") as handle:   # re-opened per chunk: no open handle tells it is incomplete
            handle.write(data[start:start + step])
        time.sleep(0.25)
    time.sleep(0.3)
    open(marker, "wb").close()
    print("DONE", flush=True)
    """
)


def test_slow_upload_is_taken_only_after_its_marker_and_lands_as_a_clean_run(lake, tmp_path):
    """A writer process uploads a file in 12 chunks, re-opening it for each (so only the marker can
    tell it is incomplete; settle time 0), then drops the marker, while ingest scans again and
    again: nothing of it lands before the marker; afterwards bronze and the ledger equal a clean run."""
    mapping_file = marker_mapping(tmp_path)
    clean = tmp_path / "clean"
    shutil.copytree(lake / "landing", clean / "landing")
    for path in company_files(clean):
        drop_marker(path)
    ingest(clean, mapping_file)
    clean_bronze = bronze_fingerprint(clean)
    clean_ledger = Counter((r["source_file"], r["source_hash"], r["status"]) for r in table_rows(clean, LOG_TABLE))
    assert not any(name.endswith(".done") for name, _, _ in clean_ledger)

    growing = max(company_files(lake), key=lambda p: p.stat().st_size)
    final = tmp_path / "final.bin"
    shutil.move(growing, final)
    for path in company_files(lake):
        drop_marker(path)
    ingest(lake, mapping_file, run_id="before")  # the other files land now

    marker = growing.with_name(growing.name + ".done")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(growing), str(final), str(marker)],
                              stdout=subprocess.PIPE, text=True)
    rel = growing.relative_to(lake / "landing").as_posix()
    scans = waits = 0
    while writer.poll() is None:
        report = ingest(lake, mapping_file, run_id="during")
        taken = rel in {f.source_file for f in report.files}
        assert not taken or marker.exists(), "took the file before its marker"
        scans += 1
        waits += rel in {w.file for w in scan(lake, mapping_file).waiting if w.reason == "waiting_for_marker"}
        time.sleep(0.05)
    assert writer.stdout.read().strip() == "DONE"
    assert growing.read_bytes() == final.read_bytes()
    assert waits >= 3, (scans, waits)
    ingest(lake, mapping_file, run_id="after")

    assert bronze_fingerprint(lake) == clean_bronze
    ledger = table_rows(lake, LOG_TABLE)
    assert Counter((r["source_file"], r["source_hash"], r["status"]) for r in ledger) == clean_ledger
    assert not [r for r in table_rows(lake, REJECTIONS_TABLE) if r["source_file"].endswith(".done")]


def test_landing_sensor_requests_the_ingest_when_the_marker_arrives(lake, tmp_path):
    """Without its marker a settled file changes no fingerprint: no run is requested for it; the
    marker's arrival requests one."""
    import dagster as dg

    from orchestration.resources import LakeResource
    from orchestration.sensors import landing_sensor

    mapping_file = marker_mapping(tmp_path)
    shutil.copy(CLIENTS / "registry.yaml", mapping_file.parent.parent / "registry.yaml")
    resources = {"lake": LakeResource(root=str(lake), clients_dir=str(mapping_file.parent.parent))}
    with dg.instance_for_test() as instance:
        first = landing_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        assert COMPANY not in {r.partition_key for r in first.run_requests}
        drop_marker(company_files(lake)[0])
        second = landing_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources))
        assert COMPANY in {r.partition_key for r in second.run_requests}
