"""The demo (`make pipeline` = `python -m orchestration.pipeline --fresh`) and client data stay
apart: the demo runs in its own lake and `--fresh` removes only what the demo generated."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.pipeline import GENERATED, DemoLake, main
from orchestration.warehouse.ducklake import Warehouse

REPO = Path(__file__).resolve().parent.parent
CLIENT_FILE = "CH-FOD-01/plc/haccp_20261130.csv"
CLIENT_BYTES = ("기록일시;설비번호;살균온도;유량(m3/h);충전압력(bar);충전중량(g)\r\n"
                "2026/11/30 08:00:00;PAST-01;85.1;3.2;1.9;1002\r\n").encode("utf-8-sig")


def demo_env(lake: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DEMO_LAKE_ROOT", "WAREHOUSE_CATALOG", "WAREHOUSE_DATA_PATH", "DAGSTER_HOME")}
    env["LAKE_ROOT"] = str(lake)
    return env


def test_the_demo_command_leaves_every_file_it_did_not_generate_untouched(tmp_path):
    # one of the demo's companies has a mapping the validator refuses (an unknown key): it is
    # reported and the other company still goes all the way
    clients = tmp_path / "clients"
    shutil.copytree(REPO / "clients", clients)
    broken = clients / "mappings" / "ES-FOD-01.yaml"
    broken.write_text(broken.read_text(encoding="utf-8") + "colour: blue\n", encoding="utf-8")
    lake = tmp_path / "lake"
    client_file = lake / "landing" / CLIENT_FILE  # a real client's original, in the clients' lake
    client_file.parent.mkdir(parents=True)
    client_file.write_bytes(CLIENT_BYTES)
    os.utime(client_file, (1_764_460_800, 1_764_460_800))

    # An earlier demo run generated its files; since then someone edited one of them and dropped
    # a file of their own into the demo's landing area. Neither was generated as it is now.
    demo = DemoLake(lake / "demo")
    demo.claim()
    demo.generate(seed=3, days=1, sampling_seconds=900, companies=["CH-FOD-01"])
    edited = demo.landing / sorted(demo.generated())[0]
    edited.write_bytes(edited.read_bytes() + b"\n")
    edited_bytes = edited.read_bytes()
    own_file = "CH-FOD-01/notes/현장메모.txt"
    own = demo.landing / own_file
    own.parent.mkdir(parents=True)
    own.write_bytes("내 파일\n".encode("cp949"))

    done = subprocess.run(
        [sys.executable, "-m", "orchestration.pipeline", "--fresh", "--days", "1", "--sampling-seconds", "900",
         "--companies", "CH-FOD-01", "ES-FOD-01"],
        cwd=REPO, env={**demo_env(lake), "CLIENTS_DIR": str(clients)}, capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stdout + done.stderr  # one company failed: said, not hidden
    table = {line.split()[0]: line for line in done.stdout.splitlines() if line.startswith(("CH-FOD-01", "ES-FOD-01"))}
    assert table["CH-FOD-01"].rstrip().endswith("ok")
    assert "FAILED" in table["ES-FOD-01"] and "colour" in table["ES-FOD-01"]
    assert done.stderr.strip().splitlines()[-1].startswith("pipeline: finished with 1 failure(s): ES-FOD-01")

    assert client_file.read_bytes() == CLIENT_BYTES and client_file.stat().st_mtime == 1_764_460_800
    assert sorted(p.name for p in lake.iterdir()) == ["demo", "landing"], "the demo wrote into the clients' lake"
    assert edited.read_bytes() == edited_bytes
    assert own.read_bytes() == "내 파일\n".encode("cp949")
    assert edited.relative_to(demo.landing).as_posix() not in DemoLake(lake / "demo").generated()

    # and the demo itself ran, in its own lake, quietly, ending with its own summary
    con = Warehouse.in_folder(lake / "demo" / "warehouse").connect_read_only()
    assert con.execute("select count(*) from fct_sensor_readings where company_id = 'CH-FOD-01'").fetchone()[0] > 0
    assert (lake / "demo" / "reports" / "quality" / "CH-FOD-01.html").is_file()
    assert not (lake / "demo" / "reports" / "quality" / "ES-FOD-01.html").exists()
    assert "DEBUG" not in done.stdout + done.stderr and "Traceback" not in done.stdout + done.stderr
    assert "Done. Where to look next" in done.stdout and "CH-FOD-01" in done.stdout
    assert len(done.stdout.splitlines()) < 40

    # the planted bad export is quarantined, and the rejections asset page says so with its reason
    planted = next(f for f in DemoLake(lake / "demo").generated() if f.endswith("_유니코드.csv"))
    assert f"planted one bad export to show a quarantine: {planted}" in done.stdout
    with dg.DagsterInstance.from_config(str(lake / "demo" / "dagster_home")) as instance:
        [record] = instance.fetch_materializations(dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(["bronze", "ingest_rejections"]), asset_partitions=["CH-FOD-01"]), limit=1).records
    metadata = record.asset_materialization.metadata
    problems = {line.split(" | ")[0].lstrip("| "): line for line in metadata["first_problems"].value.splitlines()[2:]}
    # the planted export, and the note someone dropped in the demo's landing area (no mapping reads it)
    assert metadata["files_quarantined"].value == 2 and set(problems) == {planted, own_file}, problems
    assert "wrong_encoding" in problems[planted] and "UTF-16" in problems[planted]


def test_fresh_refuses_a_folder_that_is_not_a_demo_lake(tmp_path, monkeypatch, capsys):
    lake = tmp_path / "lake"
    client_file = lake / "landing" / CLIENT_FILE
    client_file.parent.mkdir(parents=True)
    client_file.write_bytes(CLIENT_BYTES)
    monkeypatch.setenv("DEMO_LAKE_ROOT", str(lake))  # pointed at the clients' lake by mistake

    assert main(["--fresh"]) == 1
    assert "is not a demo lake" in capsys.readouterr().err
    assert client_file.read_bytes() == CLIENT_BYTES
    assert sorted(p.name for p in lake.iterdir()) == ["landing"]


def test_fresh_deletes_exactly_the_generated_files_still_as_generated(tmp_path):
    demo = DemoLake(tmp_path / "demo")
    demo.claim()
    count, skipped = demo.generate(seed=3, days=1, sampling_seconds=900, companies=["ES-FOD-01"])
    generated = demo.generated()
    assert count == len(generated) > 0 and skipped == []
    first, *rest = sorted(generated)
    (demo.landing / first).write_bytes(b"changed by hand\n")
    (demo.root / "bronze" / "x").mkdir(parents=True)

    kept = demo.clear()

    assert kept == [first] and (demo.landing / first).read_bytes() == b"changed by hand\n"
    assert not any((demo.landing / r).exists() for r in rest)
    assert not (demo.root / "bronze").exists() and not (demo.root / GENERATED).exists()
    # regenerating never writes over the kept file
    _, skipped = demo.generate(seed=3, days=1, sampling_seconds=900, companies=["ES-FOD-01"])
    assert skipped == [first] and (demo.landing / first).read_bytes() == b"changed by hand\n"


def test_the_demo_plants_one_export_that_ingest_quarantines_whole_and_keeps(tmp_path, monkeypatch):
    from deltalake import DeltaTable

    from orchestration.ingest.landing import discover_landing
    from orchestration.ingest.mapping import load_mapping
    from orchestration.lakehouse.bronze import BronzeLake
    from orchestration.lakehouse.landing_to_bronze import ingest_company

    monkeypatch.setenv("LANDING_SETTLE_SECONDS", "0")
    demo = DemoLake(tmp_path / "demo")
    demo.claim()
    demo.generate(seed=3, days=1, sampling_seconds=900, companies=["CJ-COS-01"])
    planted = demo.planted_quarantine
    assert planted is not None and planted.startswith("CJ-COS-01/") and planted in demo.generated()
    assert (demo.landing / planted).read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")  # --fresh removes it again

    company = "CJ-COS-01"
    files = [f for f in discover_landing(demo.landing, {company}).files if f.company_id == company]
    report = ingest_company(company, files, mapping=load_mapping(REPO / "clients" / "mappings" / f"{company}.yaml"),
                            bronze=BronzeLake(demo.root / "bronze"), quarantine_root=demo.root / "quarantine",
                            run_id="test")

    quarantined = report.files_with_status("quarantined")
    assert [f.source_file for f in quarantined] == [planted]
    assert len(report.files_with_status("ingested", "partial")) == len(files) - 1  # the others land
    rejections = DeltaTable(str(demo.root / "bronze" / "ingest_rejections")).to_pyarrow_table().to_pylist()
    assert [(r["source_file"], r["reason"]) for r in rejections if r["row_number"] is None] == [(planted, "wrong_encoding")]
    kept = list((demo.root / "quarantine" / company).glob(f"*__{Path(planted).name}"))
    assert len(kept) == 1 and kept[0].read_bytes() == (demo.landing / planted).read_bytes()

    # the next ingest (the landing sensor's first tick when the UI starts) takes the quarantine as done
    again = ingest_company(company, files, mapping=load_mapping(REPO / "clients" / "mappings" / f"{company}.yaml"),
                           bronze=BronzeLake(demo.root / "bronze"), quarantine_root=demo.root / "quarantine",
                           run_id="test-2")
    assert {f.status for f in again.files} == {"already_ingested"} and again.rejections == []


def test_starting_the_ui_after_the_demo_launches_nothing_that_fails(tmp_path):
    """`make pipeline`, then `dagster dev`: its daemon's sensors look at a lake the demo has already
    ingested, built and inspected. Whatever they launch must succeed and change nothing."""
    import signal
    import time

    lake = tmp_path / "lake"
    demo = subprocess.run([sys.executable, "-m", "orchestration.pipeline", "--fresh", "--days", "1",
                           "--sampling-seconds", "900", "--companies", "CJ-COS-01"],
                          cwd=REPO, env=demo_env(lake), capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    home = lake / "demo" / "dagster_home"
    env = {**demo_env(lake), "LAKE_ROOT": str(lake / "demo"), "DAGSTER_HOME": str(home),
           "LANDING_SETTLE_SECONDS": "0"}  # the demo's files count as complete at once: the sensor looks now
    log = tmp_path / "daemon.log"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        before = {r.dagster_run.run_id for r in instance.get_run_records()}
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        daemon = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                                  cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            while time.monotonic() - started < 240:
                text = log.read_text(encoding="utf-8", errors="replace")
                new = [r.dagster_run for r in instance.get_run_records() if r.dagster_run.run_id not in before]
                looked = (text.count("Finished auto-materialization tick") >= 2
                          and text.count("Checking for new runs for sensor: landing_sensor") >= 2
                          and text.count("Checking for new runs for sensor: quality_after_warehouse_sensor") >= 2)
                if looked and all(r.is_finished for r in new):
                    break
                time.sleep(3)
            else:
                raise AssertionError(f"the daemon did not settle in 240 s:\n{text[-3000:]}")
            failed = [(r.job_name, r.tags.get("dagster/partition")) for r in new if r.status != dg.DagsterRunStatus.SUCCESS]
            assert failed == [], text[-5000:]
            # what it launched (the landing sensor's first look: one no-op ingest per company) changed nothing
            # (the hourly freshness schedule may tick meanwhile, at the top of the hour: it only runs checks)
            assert {r.job_name for r in new} - {"freshness_check_job"} <= {"ingest_company_job"}
            materialised = [e for r in new for e in instance.all_logs(r.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)]
            assert materialised == []
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
