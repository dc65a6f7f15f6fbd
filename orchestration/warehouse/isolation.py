"""One company's bad batch never stops the warehouse of every other company.

When an error-severity dbt test fails, the rows it rejects are looked up in the model it tests
and attributed to their company, landing file and rows. Those companies' new bronze rows (the
rows of this hand-over) are then *held back*: the build is started again from the published
warehouse, the held rows are removed from the build's copy of bronze before dbt runs, and every
other company is built and published. What was held, and why, is kept in
`ops.held_back_batches` for the operator (the rows stay untouched in the bronze Delta tables).
A held company's later batches are built as usual, and every build offers its held rows again
(`reoffer_held`: the held files' current rows, read from bronze): once the fix is in bronze
(e.g. `orchestration.ingest.retract --reingest`) they pass and are published; rows that still
fail are held again.

A failure that cannot be attributed to a company (a model error, a test on reference data, a
custom test) still fails the build as before, with the failing nodes named.

The storage steps are the few SQL statements of `hold_back` and `offending_rows`; the build
loop (`build_isolated`) only needs a way to run one attempt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from orchestration import settings

HELD_TABLE = "ops.held_back_batches"
# bronze tables whose rows belong to one company's landing files (the registry tables do not)
CONTENT_TABLES = ("sensor_readings", "production_lots", "quality_inspections", "equipment_events", "work_orders",
                  "shipments", "ingest_log", "ingest_rejections")
ATTRIBUTABLE_TESTS = ("not_null", "accepted_values", "unique", "relationships")
MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class Offence:
    """The rows of one company that one failing test rejects, by landing file."""

    company_id: str
    test: str  # the test's name, e.g. not_null_fct_quality_inspections_result
    rows: int
    files: dict[str, list[int]] = field(default_factory=dict)  # source file -> first source rows

    def describe(self) -> str:
        where = "; ".join(f"{file} rows {', '.join(map(str, rows))}{' ...' if len(rows) >= 10 else ''}"
                          for file, rows in sorted(self.files.items())) or "no landing file"
        return f"{self.company_id}: {self.test} fails on {self.rows} row(s) ({where})"


@dataclass
class IsolatedBuild:
    """What a build with isolation did: the attempt that published, and who was held back."""

    outcome: object = None  # what the successful attempt returned
    held: dict[str, list[Offence]] = field(default_factory=dict)  # company -> what its rows failed
    attempts: int = 0

    def summary(self) -> str:
        if not self.held:
            return "warehouse built and published for every company"
        names = "; ".join(o.describe() for offences in self.held.values() for o in offences)
        return (f"warehouse published without the new batch of {', '.join(sorted(self.held))} "
                f"(held back: {names}); every other company was built - see {HELD_TABLE}")


class UnattributedFailure(RuntimeError):
    """A build failed in a way no company's rows explain."""


def build_isolated(attempt: Callable[[dict[str, list[Offence]]], object],
                   culprits: Callable[[Exception], list[Offence]], log: Callable[[str], None] = print) -> IsolatedBuild:
    """Run `attempt(held)` (held: company -> its offences) until it succeeds. When it fails,
    `culprits(error)` names the companies whose rows failed; they are held back and the attempt
    is made again. Raises the last error when a failure names no new company."""
    result = IsolatedBuild()
    held: dict[str, list[Offence]] = {}
    for number in range(1, MAX_ATTEMPTS + 1):
        result.attempts = number
        try:
            result.outcome = attempt(dict(held))
            result.held = held
            return result
        except Exception as error:
            found = [o for o in culprits(error) if o.company_id not in held]
            if not found or number == MAX_ATTEMPTS:
                raise
            for offence in found:
                held.setdefault(offence.company_id, []).append(offence)
                log(f"holding back {offence.describe()}")
    raise AssertionError("unreachable")


def failed_offences(build: Path, run_results: dict, manifest: dict) -> list[Offence]:
    """The company rows behind every failed error-severity test of a dbt run (empty when some
    failure cannot be attributed: then holding back would not help)."""
    offences, unattributed = [], []
    for result in run_results.get("results", []):
        if result.get("status") not in ("fail", "error", "runtime error"):
            continue
        node = manifest["nodes"].get(result["unique_id"], {})
        found = _offences_of_test(build, node, manifest) if node.get("resource_type") == "test" else None
        if found:
            offences.extend(found)
        else:
            unattributed.append(result["unique_id"])
    return [] if unattributed else offences


def _offences_of_test(build: Path, test: dict, manifest: dict) -> list[Offence] | None:
    metadata = test.get("test_metadata") or {}
    kind, kwargs = metadata.get("name"), metadata.get("kwargs") or {}
    column = kwargs.get("column_name") or test.get("column_name")
    model = manifest["nodes"].get(test.get("attached_node") or "")
    if kind not in ATTRIBUTABLE_TESTS or not column or not model:
        return None
    relation = f'"{model["schema"]}"."{model["alias"]}"'
    con = duckdb.connect(str(build), read_only=True)
    try:
        columns = {c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [model["schema"], model["alias"]]).fetchall()}
        if "company_id" not in columns:
            return None
        condition = _failing_condition(kind, column, kwargs, test, manifest, relation)
        if condition is None:
            return None
        if "_handover_seq" in columns and model["name"] in _tested_by_latest_batch():
            condition += " and _handover_seq = (select max(handover_seq) from bronze._handover_state)"
        file = "source_file" if "source_file" in columns else "null"
        row = "source_row" if "source_row" in columns else "null"
        rows = con.execute(f"""
            select company_id, {file} as source_file, count(*) as n,
                   list({row} order by {row}) filter (where {row} is not null)[1:10] as first_rows
            from {relation} where {condition}
            group by all order by all""").fetchall()
    finally:
        con.close()
    if not rows or any(company is None for company, *_ in rows):
        return None
    by_company: dict[str, Offence] = {}
    for company, source_file, n, first_rows in rows:
        offence = by_company.setdefault(company, Offence(company, test["name"], 0, {}))
        by_company[company] = Offence(company, test["name"], offence.rows + n,
                                      {**offence.files, **({source_file: list(first_rows or [])} if source_file else {})})
    return list(by_company.values())


def _failing_condition(kind: str, column: str, kwargs: dict, test: dict, manifest: dict, relation: str) -> str | None:
    quoted = f'"{column}"'
    if kind == "not_null":
        return f"{quoted} is null"
    if kind == "accepted_values":
        values = kwargs.get("values") or (kwargs.get("arguments") or {}).get("values") or []
        listed = ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)
        return f"{quoted} is not null and cast({quoted} as varchar) not in ({listed})"
    if kind == "unique":
        return f"{quoted} in (select {quoted} from {relation} group by 1 having count(*) > 1)"
    if kind == "relationships":
        parents = [manifest["nodes"][n] for n in test.get("depends_on", {}).get("nodes", [])
                   if n != test.get("attached_node") and n in manifest["nodes"]]
        to_field = kwargs.get("field")
        if len(parents) != 1 or not to_field:
            return None
        parent = f'"{parents[0]["schema"]}"."{parents[0]["alias"]}"'
        return f'{quoted} is not null and {quoted} not in (select "{to_field}" from {parent} where "{to_field}" is not null)'
    return None


@lru_cache(maxsize=1)
def _tested_by_latest_batch() -> tuple[str, ...]:
    """The incremental models whose tests look at the newest hand-over only (dbt_project.yml's
    `tested_by_latest_batch`): their offending rows are looked for in that batch too."""
    project = yaml.safe_load((settings.DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return tuple(project.get("vars", {}).get("tested_by_latest_batch", []))


def hold_back(build: Path, held: dict[str, list[Offence]]) -> int:
    """Remove the held companies' rows of this hand-over from the build's copy of bronze and
    record them in ops.held_back_batches; returns the rows removed."""
    if not held:
        return 0
    con = duckdb.connect(str(build))
    try:
        con.execute("create schema if not exists ops")
        con.execute(f"""create table if not exists {HELD_TABLE} (
            company_id varchar, handover_seq bigint, table_name varchar, rows_held bigint, source_files varchar[],
            failed_tests varchar, detail varchar, held_at timestamptz default current_timestamp,
            released_at timestamptz)""")
        seq = con.execute("select max(handover_seq) from bronze._handover_state").fetchall()[0][0]
        present = {t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'bronze'").fetchall()}
        removed = 0
        for company in sorted(held):
            offences = held[company]
            tests = ", ".join(sorted({o.test for o in offences}))
            detail = "; ".join(o.describe() for o in offences)
            for table in CONTENT_TABLES:
                if table not in present:
                    continue
                file_column = "source_file" if table in ("ingest_log", "ingest_rejections") else "_source_file"
                n, files = con.execute(
                    f"select count(*), list(distinct {file_column} order by {file_column}) from bronze.{table} "
                    "where company_id = ? and _handover_seq = ?", [company, seq]).fetchall()[0]
                if not n or table in ("ingest_log", "ingest_rejections"):
                    continue  # the ledger and rejections stay: the operator sees the files landed
                con.execute(f"delete from bronze.{table} where company_id = ? and _handover_seq = ?", [company, seq])
                con.execute(f"insert into {HELD_TABLE} (company_id, handover_seq, table_name, rows_held, source_files, "
                            "failed_tests, detail) values (?, ?, ?, ?, ?, ?, ?)",
                            [company, seq, table, n, files, tests, detail])
                removed += n
        return removed
    finally:
        con.close()


def reoffer_held(build: Path, bronze_root: Path) -> int:
    """Put the current bronze rows of every held file back into the build's copy of bronze, in
    this hand-over's batch, and mark the holds released (if they fail again they are held again,
    as a new record). Rows of those files already in the copy (a table reloaded whole after a
    retraction) are replaced, so nothing is doubled. Returns the rows offered."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    con = duckdb.connect(str(build))
    try:
        exists = con.execute("select count(*) from information_schema.tables where table_schema = 'ops' "
                             "and table_name = 'held_back_batches'").fetchall()[0][0]
        if not exists:
            return 0
        con.execute(f"alter table {HELD_TABLE} add column if not exists released_at timestamptz")
        holds = con.execute(f"select distinct table_name, company_id, unnest(source_files) from {HELD_TABLE} "
                            "where released_at is null order by all").fetchall()
        if not holds:
            return 0
        seq = con.execute("select max(handover_seq) from bronze._handover_state").fetchall()[0][0]
        offered = 0
        for table, company, source_file in holds:
            try:
                delta = DeltaTable(str(Path(bronze_root) / table))
            except TableNotFoundError:
                continue
            rows = delta.to_pyarrow_dataset(file_pruning_predicate=[("company_id", "=", company)]).to_table()
            rows = rows.filter(pc.equal(rows["_source_file"], source_file))
            con.execute(f"delete from bronze.{table} where company_id = ? and _source_file = ?", [company, source_file])
            if rows.num_rows:
                if "company_id" not in rows.column_names:
                    rows = rows.append_column("company_id", pa.array([company] * rows.num_rows, pa.string()))
                con.register("_held_rows", rows)
                con.execute(f"insert into bronze.{table} by name select *, ? as _handover_seq from _held_rows", [seq])
                con.unregister("_held_rows")
                offered += rows.num_rows
        con.execute(f"update {HELD_TABLE} set released_at = current_timestamp where released_at is null")
        return offered
    finally:
        con.close()


def held_in_latest_build(warehouse: Path) -> str | None:
    """One line naming the companies whose batch the published warehouse's latest build held
    back (None when it held nobody), for commands that summarise a run."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        exists = con.execute("select count(*) from information_schema.tables where table_schema = 'ops' "
                             "and table_name = 'held_back_batches'").fetchall()[0][0]
        if not exists:
            return None
        rows = con.execute(f"""
            select company_id, string_agg(distinct detail, '; ') from {HELD_TABLE}
            where released_at is null
              and handover_seq = (select max(handover_seq) from bronze._handover_state)
            group by 1 order by 1""").fetchall()
    finally:
        con.close()
    if not rows:
        return None
    return (f"held back (not in the warehouse until fixed): {'; '.join(detail for _, detail in rows)} "
            f"- see {HELD_TABLE}")


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
