"""Soak: the platform under real operation for a bounded time, every source row accounted for.

A real Dagster instance (the dagster.yaml the project writes) with its daemon runs the landing
sensor, automation, run monitoring and retries. Meanwhile, in this process:
- a writer drops the sample exports of several companies into the landing area: some written
  slowly in chunks while held open (uploads still in progress), some re-sent under a new name, some
  re-exported extended under their own name (a new version superseding the landed one),
  some hostile (a NUL in a cell, a 2 MB line);
- a reader queries the published warehouse read-only throughout;
- once a minute a running run's worker is SIGKILLed.
Then it waits until every dropped file is in the ledger and no run is in progress, and counts:
source rows (counted here from the files, independently of the ingest), landed and rejected
(the ledger), lost, duplicated (ledger and bronze lineage), reader errors and kills.
"""

from __future__ import annotations

import csv
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def source_rows(path: Path, spec) -> int:
    """Data rows of a client file, counted with the standard library and openpyxl (not the ingest)."""
    if spec.format == "xlsx":
        import openpyxl

        sheet = openpyxl.load_workbook(path, read_only=True)[spec.sheet] if spec.sheet else \
            openpyxl.load_workbook(path, read_only=True).active
        rows = list(sheet.iter_rows(values_only=True))[spec.header_row:]
        return sum(1 for row in rows if any(v is not None and str(v).strip() for v in row))
    csv.field_size_limit(sys.maxsize)  # the hostile 2 MB line is one field
    encoding = {"auto": "utf-8-sig", "utf-8": "utf-8-sig"}.get(spec.encoding, spec.encoding)
    text = path.read_bytes().decode(encoding, errors="replace")
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=spec.delimiter))[spec.header_row:]
    return sum(1 for record in records if record)


def hostile_variants(path: Path, spec) -> list[tuple[str, bytes]]:
    """(new name, bytes) of two hostile copies of a CSV export: a NUL byte in a cell of the last row
    (past the first 64 KiB in a real export, where it used to land as phantom equipment), and an
    extra 2 MB line."""
    if spec.format != "csv":
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    target = len(lines) - 2 if lines[-1] == b"" else len(lines) - 1
    if target <= spec.header_row:
        return []
    with_nul = lines.copy()
    with_nul[target] = with_nul[target].replace(b",", b"\x00,", 1)
    long_line = data.rstrip(b"\n") + b"\n" + b"9" * (2 << 20) + b"\n"
    return [(f"{path.stem}_nul{path.suffix}", b"\n".join(with_nul)), (f"{path.stem}_long{path.suffix}", long_line)]


class Soak:
    def __init__(self, workdir: Path, minutes: float, companies: int, seed: int = 11):
        self.workdir, self.minutes, self.random = workdir, minutes, random.Random(seed)
        self.lake, self.home = workdir / "lake", workdir / "dagster_home"
        self.company_count = companies
        self.stop = threading.Event()
        self.stop_killing = threading.Event()
        self.dropped: dict[str, tuple[str, int]] = {}  # landing relative path -> (sha256, source rows)
        self.reader = Counter()
        self.kills = 0
        self.errors: list[str] = []

    # ------------------------------------------------------------------ set-up
    def prepare(self) -> list[tuple[str, Path]]:
        from orchestration.instance import write_instance_config
        from orchestration.lakehouse.registry import load_registry
        from orchestration.sample_clients import generate_sample
        from orchestration.settings import clients_dir

        shutil.rmtree(self.workdir, ignore_errors=True)
        (self.lake / "landing").mkdir(parents=True)
        self.home.mkdir(parents=True)
        write_instance_config(self.home, poll_interval_seconds=5, free_slots_seconds=5)
        self.companies = [c.company_id for c in load_registry(clients_dir() / "registry.yaml")][:self.company_count]
        staging = self.workdir / "staging"
        days = max(2, int(self.minutes) + 1)
        generate_sample(staging, seed=5, days=days, sampling_seconds=300, companies=self.companies)
        files = sorted((p.relative_to(staging).as_posix(), p) for p in staging.rglob("*") if p.is_file()
                       and p.parent != staging)
        self.random.shuffle(files)
        return files

    def environment(self) -> dict[str, str]:
        env = {**os.environ, "LAKE_ROOT": str(self.lake), "DAGSTER_HOME": str(self.home),
               "LANDING_SETTLE_SECONDS": "3"}
        env.pop("WAREHOUSE_CATALOG", None)
        env.pop("WAREHOUSE_DATA_PATH", None)
        return env

    # ------------------------------------------------------------------ actors
    def write(self, relative: str, data: bytes, *, slowly: bool) -> None:
        import hashlib

        from orchestration.ingest.mapping import load_mapping
        from orchestration.settings import clients_dir

        target = self.lake / "landing" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        company, within = relative.split("/", 1)
        spec = load_mapping(clients_dir() / "mappings" / f"{company}.yaml").dataset_for(within)
        with open(target, "wb") as handle:  # held open while written: an upload in progress
            chunks = 5 if slowly else 1
            step = len(data) // chunks + 1
            for start in range(0, len(data), step):
                handle.write(data[start:start + step])
                handle.flush()
                if slowly:
                    time.sleep(1.0)
        rows = source_rows(target, spec) if spec is not None else 0
        self.dropped[relative] = (hashlib.sha256(data).hexdigest(), rows)

    def writer(self, files: list[tuple[str, Path]]) -> None:
        from orchestration.ingest.mapping import load_mapping
        from orchestration.settings import clients_dir

        deadline = time.monotonic() + self.minutes * 60 * 0.8
        interval = self.minutes * 60 * 0.8 / max(1, len(files))
        sent: list[str] = []
        for relative, path in files:
            if self.stop.is_set() or time.monotonic() > deadline:
                break
            company, within = relative.split("/", 1)
            spec = load_mapping(clients_dir() / "mappings" / f"{company}.yaml").dataset_for(within)
            kind = self.random.random()
            try:
                self.write(relative, path.read_bytes(), slowly=kind < 0.3)
                sent.append(relative)
                if kind > 0.85 and sent:  # a file re-sent under a new name
                    again = self.random.choice(sent)
                    name = Path(again)
                    self.write(str(name.with_name(f"{name.stem}_재전송{name.suffix}")),
                               (self.lake / "landing" / again).read_bytes(), slowly=False)
                if 0.65 < kind <= 0.75 and len(sent) > 1:  # an earlier CSV re-exported, extended, under its name
                    earlier = self.random.choice(sent[:-1])
                    data = (self.lake / "landing" / earlier).read_bytes()
                    if earlier.lower().endswith((".csv", ".txt")) and data.endswith(b"\n"):
                        last = data.rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
                        self.write(earlier, data + last + (b"\r\n" if data.endswith(b"\r\n") else b"\n"),
                                   slowly=False)
                if 0.75 < kind <= 0.85 and spec is not None:
                    for name, data in hostile_variants(path, spec):
                        self.write(f"{company}/{Path(within).with_name(name).as_posix()}", data, slowly=False)
            except Exception as error:  # the soak goes on; the error is reported
                self.errors.append(f"writer {relative}: {error!r}")
            time.sleep(max(0.2, interval))

    def read_warehouse(self) -> None:
        from orchestration.warehouse.ducklake import Warehouse, WarehouseNotBuilt

        warehouse = Warehouse.in_folder(self.lake / "warehouse")
        while not self.stop.is_set():
            try:
                with warehouse.connect_read_only() as con:
                    con.execute("select company_id, count(*) from fct_sensor_readings group by all").fetchall()
                self.reader["queries"] += 1
            except WarehouseNotBuilt:
                self.reader["before_first_build"] += 1
            except Exception as error:
                if "fct_sensor_readings does not exist" in str(error):
                    # an automation build of only some models published before any fact was built
                    self.reader["before_first_build"] += 1
                else:
                    self.reader["errors"] += 1
                    self.errors.append(f"reader: {error!r}"[:300])
            time.sleep(0.5)

    def killer(self, instance) -> None:
        import dagster as dg

        from orchestration.run_launcher import process_alive, run_worker_pid

        next_kill = time.monotonic() + 60
        while not self.stop.is_set():
            time.sleep(1)
            if time.monotonic() < next_kill or self.stop_killing.is_set():
                continue
            running = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
            pids = [pid for run in running if (pid := run_worker_pid(instance, run.run_id)) and process_alive(pid)]
            if pids:
                os.kill(self.random.choice(pids), signal.SIGKILL)
                self.kills += 1
                next_kill = time.monotonic() + 60

    # ------------------------------------------------------------------ accounting
    def settled(self, instance) -> bool:
        import dagster as dg

        in_progress = instance.get_runs(filters=dg.RunsFilter(statuses=[
            dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
            dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]))
        if in_progress:
            return False
        logged = {row["source_hash"] for row in self.ledger()}
        return all(digest in logged for digest, _ in self.dropped.values())

    def ledger(self) -> list[dict]:
        from deltalake import DeltaTable

        from orchestration.lakehouse.delta_reads import delta_dataset

        path = self.lake / "bronze" / "ingest_log"
        return delta_dataset(DeltaTable(str(path))).to_table().to_pylist() if (path / "_delta_log").exists() else []

    def account(self) -> dict:
        from deltalake import DeltaTable

        from orchestration.lakehouse.delta_reads import delta_dataset

        ledger = self.ledger()
        by_hash: dict[str, list[dict]] = defaultdict(list)
        for row in ledger:
            by_hash[row["source_hash"]].append(row)
        expected = {digest: rows for digest, rows in self.dropped.values()}  # one per distinct content
        landed = rejected = lost = duplicated = 0
        for digest, rows in expected.items():
            done = [r for r in by_hash.get(digest, []) if r["status"] in ("ingested", "partial")]
            whole = [r for r in by_hash.get(digest, []) if r["status"] == "quarantined"]
            if done:
                landed += done[0]["rows_landed"] or 0
                rejected += done[0]["rows_rejected"] or 0
                duplicated += sum(r["rows_landed"] or 0 for r in done[1:])
                lost += max(0, rows - (done[0]["rows_landed"] or 0) - (done[0]["rows_rejected"] or 0))
            elif whole:
                rejected += rows
            else:
                lost += rows
        for dataset in ("sensor_readings", "production_lots", "quality_inspections", "equipment_events"):
            path = self.lake / "bronze" / dataset
            if not (path / "_delta_log").exists():
                continue
            table = delta_dataset(DeltaTable(str(path))).to_table()
            key = [c for c in ("_source_hash", "_dataset_entry", "_source_row", "source_tag", "sequence_id")
                   if c in table.column_names]
            counts = table.group_by(key).aggregate([([], "count_all")])
            duplicated += sum(n - 1 for n in counts["count_all"].to_pylist() if n > 1)
        return {"source_rows": sum(expected.values()), "landed": landed, "rejected": rejected, "lost": lost,
                "duplicated": duplicated, "files_dropped": len(self.dropped), "distinct_contents": len(expected),
                "superseded_versions": sum(1 for r in ledger if r.get("supersedes"))}

    # ------------------------------------------------------------------ the run
    def run(self) -> dict:
        import dagster as dg

        files = self.prepare()
        env = self.environment()
        os.environ.update({k: env[k] for k in ("LAKE_ROOT", "DAGSTER_HOME", "LANDING_SETTLE_SECONDS")})
        os.environ.pop("WAREHOUSE_CATALOG", None)
        os.environ.pop("WAREHOUSE_DATA_PATH", None)
        instance = dg.DagsterInstance.from_config(str(self.home))
        instance.get_runs(limit=1)  # create the storages here, before the daemon races to create them too
        instance.all_instigator_state()
        daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], cwd=REPO, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        started = time.monotonic()
        actors = [threading.Thread(target=self.read_warehouse, daemon=True),
                  threading.Thread(target=self.killer, args=(instance,), daemon=True)]
        writer = threading.Thread(target=self.writer, args=(files,), daemon=True)
        for actor in (*actors, writer):
            actor.start()
        try:
            writer.join()
            while time.monotonic() - started < self.minutes * 60:
                time.sleep(1)
            self.stop_killing.set()
            drain_deadline = time.monotonic() + max(900, self.minutes * 60)
            drained = published = False
            while time.monotonic() < drain_deadline:
                if self.settled(instance):
                    time.sleep(75)  # one more sensor tick and automation pass, then check again
                    if self.settled(instance):
                        drained = True
                        break
                time.sleep(5)
            # A last build with everything landed, read by the reader meanwhile (automation's own
            # builds may all have been killed: a retried run is retried once only).
            if drained:
                subprocess.run([str(BIN / "dagster"), "job", "launch", "-w", "workspace.yaml", "-j", "warehouse_job"],
                               cwd=REPO, env=env, check=True, capture_output=True)
                build_deadline = time.monotonic() + 900  # its own budget: a full build on a loaded machine
                while time.monotonic() < build_deadline and not published:
                    time.sleep(5)
                    runs = instance.get_runs(filters=dg.RunsFilter(job_name="warehouse_job"), limit=1)
                    published = bool(runs) and runs[0].status == dg.DagsterRunStatus.SUCCESS
                    if runs and runs[0].status == dg.DagsterRunStatus.FAILURE:
                        break
                time.sleep(5)  # the reader reads the last build too
        finally:
            self.stop.set()
            for actor in actors:
                actor.join(timeout=10)
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait(timeout=30)
        runs = Counter(r.status.value for r in instance.get_runs())
        result = self.account()
        result.update(reader_errors=self.reader["errors"], reader_queries=self.reader["queries"], kills=self.kills,
                      runs=dict(runs), drained=drained, published=published, minutes=self.minutes,
                      reader_before_first_build=self.reader["before_first_build"],
                      elapsed_s=round(time.monotonic() - started), problems=self.errors[:5])
        return result


def run(*, minutes: float = 10, workdir: Path, quick: bool = False, companies: int = 4) -> dict:
    return Soak(workdir, minutes, companies=2 if quick else companies).run()
