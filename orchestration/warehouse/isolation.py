"""One company's bad batch never stops the warehouse of every other company.

When an error-severity dbt test fails, the rows it rejects are looked up in the model it tests
(at the failed build's own, unpublished, snapshot) and attributed to their company, landing file
and rows. The bronze batches of those files (ingest run, file, content hash) are then *held
back*: recorded in `ops.held_back_batches`, which the staging models read to leave them out, and
the build starts again from the published snapshot (the failed attempt is never published), so
every other company is built and published. The rows stay untouched in the bronze Delta tables.
The company's other files flow as usual.

A hold is released when its batch leaves bronze: `orchestration.ingest.retract --reingest` (after
a mapping fix) deletes the file's rows and lands them again as a new batch, which is offered to
the next build like any other and held again only if it still fails.

A failure that cannot be attributed to a company (a model error, a test on reference data, a
custom test) still fails the build, with the failing nodes named.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from orchestration import settings

HELD_TABLE = "ops.held_back_batches"
# bronze tables whose rows belong to one company's landing files (the registry tables do not)
# (the ingest ledger and rejections are never held: the operator sees the files landed)
CONTENT_TABLES = ("sensor_readings", "production_lots", "quality_inspections", "equipment_events", "work_orders",
                  "shipments")
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
        return (f"warehouse published without the held files of {', '.join(sorted(self.held))} "
                f"(held back: {names}); every other company was built - see {HELD_TABLE}")


class UnattributedFailure(RuntimeError):
    """A build failed in a way no company's rows explain."""


def build_isolated(attempt: Callable[[dict[str, list[Offence]]], object],
                   culprits: Callable[[Exception], list[Offence]],
                   hold: Callable[[list[Offence]], object], log: Callable[[str], None] = print) -> IsolatedBuild:
    """Run `attempt(held)` (held: company -> its offences) until it succeeds. When it fails,
    `culprits(error)` names the companies' rows that failed; those not held yet are held
    (`hold(offences)`) and the attempt is made again. Raises the last error when a failure names
    nothing new (holding back would not help)."""
    result = IsolatedBuild()
    held: dict[str, list[Offence]] = {}
    seen: set[tuple[str, frozenset]] = set()
    for number in range(1, MAX_ATTEMPTS + 1):
        result.attempts = number
        try:
            result.outcome = attempt(dict(held))
            result.held = held
            return result
        except Exception as error:
            found = [o for o in culprits(error) if (o.company_id, frozenset(o.files)) not in seen]
            if not found or number == MAX_ATTEMPTS:
                raise
            hold(found)
            for offence in found:
                seen.add((offence.company_id, frozenset(offence.files)))
                held.setdefault(offence.company_id, []).append(offence)
                log(f"holding back {offence.describe()}")
    raise AssertionError("unreachable")


def failed_offences(con, run_results: dict, manifest: dict) -> list[Offence]:
    """The company rows behind every failed error-severity test of a dbt run (empty when some
    failure cannot be attributed: then holding back would not help)."""
    offences, unattributed = [], []
    for result in run_results.get("results", []):
        if result.get("status") not in ("fail", "error", "runtime error"):
            continue
        node = manifest["nodes"].get(result["unique_id"], {})
        found = _offences_of_test(con, node, manifest) if node.get("resource_type") == "test" else None
        if found:
            offences.extend(found)
        else:
            unattributed.append(result["unique_id"])
    return [] if unattributed else offences


def _offences_of_test(con, test: dict, manifest: dict) -> list[Offence] | None:
    metadata = test.get("test_metadata") or {}
    kind, kwargs = metadata.get("name"), metadata.get("kwargs") or {}
    model = manifest["nodes"].get(test.get("attached_node") or "")
    if not model:
        return None
    relation = f'"{model["schema"]}"."{model["alias"]}"'
    if kind in ("not_null_columns", "primary_key"):
        # one test for a model's required columns (and key): each empty column is named as its own
        # not_null test would be, and a shared key as its unique test, so the hold says which
        # column the company's rows left empty or repeated
        arguments = {**(kwargs.get("arguments") or {}), **kwargs}
        key = arguments.get("key") if kind == "primary_key" else None
        required = list(dict.fromkeys([*([key] if key else []), *(arguments.get("columns") or [])]))
        found = [_offences(con, model, relation, f'"{column}" is null', f"not_null_{model['name']}_{column}")
                 for column in required]
        if key:
            found.append(_offences(con, model, relation, _failing_condition("unique", key, {}, test, manifest, relation),
                                   f"unique_{model['name']}_{key}"))
        if any(offences is None for offences in found):
            return None
        return [offence for offences in found for offence in offences] or None
    column = kwargs.get("column_name") or test.get("column_name")
    if kind not in ATTRIBUTABLE_TESTS or not column:
        return None
    condition = _failing_condition(kind, column, kwargs, test, manifest, relation)
    return None if condition is None else (_offences(con, model, relation, condition, test["name"]) or None)


def _offences(con, model: dict, relation: str, condition: str, test_name: str) -> list[Offence] | None:
    """The rows of `relation` that fail `condition`, by company and landing file; None when some
    cannot be attributed to a company."""
    columns = {c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_catalog = current_database() "
        "and table_schema = ? and table_name = ?", [model["schema"], model["alias"]]).fetchall()}
    if "company_id" not in columns:
        return None
    # the tests of the big incremental facts look at their newest load only
    # (macros/get_where_subquery.sql), and so does the search for their offending rows
    if model["name"] in _tested_by_latest_batch() and "_load_seq" in columns:
        condition += f" and _load_seq = (select max(_load_seq) from {relation})"
    file = "source_file" if "source_file" in columns else "null"
    row = "source_row" if "source_row" in columns else "null"
    rows = con.execute(f"""
        select company_id, {file} as source_file, count(*) as n,
               list({row} order by {row}) filter (where {row} is not null)[1:10] as first_rows
        from {relation} where {condition}
        group by all order by all""").fetchall()
    if any(company is None for company, *_ in rows):
        return None
    by_company: dict[str, Offence] = {}
    for company, source_file, n, first_rows in rows:
        offence = by_company.setdefault(company, Offence(company, test_name, 0, {}))
        by_company[company] = Offence(company, test_name, offence.rows + n,
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


def ensure_held_table(con) -> None:
    """The holds table exists before dbt runs (the staging models read it as a source)."""
    con.execute("create schema if not exists ops")
    con.execute(f"""create table if not exists {HELD_TABLE} (
        company_id varchar, table_name varchar, source_file varchar, source_hash varchar, ingest_run_id varchar,
        rows_held bigint, failed_tests varchar, detail varchar, held_at timestamptz, released_at timestamptz)""")


def hold_back(con, held: dict[str, list[Offence]]) -> int:
    """Hold back every bronze batch (ingest run, file, content hash) of the offending files, in
    every content table (a per-shot file feeds several): the staging models leave held batches
    out until they are released. Recorded in ops.held_back_batches; returns the rows held."""
    if not held:
        return 0
    ensure_held_table(con)
    present = {t for (t,) in con.execute(
        "select table_name from information_schema.tables where table_catalog = current_database() "
        "and table_schema = 'bronze'").fetchall()}
    removed = 0
    con.execute("begin")
    for company in sorted(held):
        offences = held[company]
        tests = ", ".join(sorted({o.test for o in offences}))
        detail = "; ".join(o.describe() for o in offences)
        files = sorted({file for o in offences for file in o.files})
        for table in CONTENT_TABLES:
            if table not in present or not files:
                continue
            batches = con.execute(
                f"select _source_file, _source_hash, _ingest_run_id, count(*) from bronze.{table} "
                f"where company_id = ? and list_contains(?, _source_file) group by all order by all",
                [company, files]).fetchall()
            for source_file, source_hash, run_id, n in batches:
                con.execute(f"insert into {HELD_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, current_timestamp, null)",
                            [company, table, source_file, source_hash, run_id, n, tests, detail])
                removed += n
    con.execute("commit")
    return removed


def release_fixed_holds(con) -> int:
    """Release the holds whose batch is no longer in bronze (retracted, or re-ingested as a new
    batch after a mapping fix): the fixed rows flow as their own batch. Returns holds released."""
    ensure_held_table(con)
    held = con.execute(f"select distinct table_name from {HELD_TABLE} where released_at is null").fetchall()
    released = 0
    for (table,) in held:
        # DuckDB answers an UPDATE with the number of rows it changed
        released += con.execute(f"""
            update {HELD_TABLE} as held set released_at = current_timestamp
            where held.released_at is null and held.table_name = ?
              and not exists (select 1 from bronze.{table} as b
                              where b.company_id = held.company_id
                                and b._source_file is not distinct from held.source_file
                                and b._source_hash is not distinct from held.source_hash
                                and b._ingest_run_id is not distinct from held.ingest_run_id)""", [table]).fetchall()[0][0]
    return released


def held_now(con) -> str | None:
    """One line naming the companies and files held back now (None when nothing is held), for
    commands that summarise a run."""
    exists = con.execute("select count(*) from information_schema.tables where table_catalog = current_database() "
                         "and table_schema = 'ops' and table_name = 'held_back_batches'").fetchall()[0][0]
    if not exists:
        return None
    rows = con.execute(f"select company_id, string_agg(distinct detail, '; ') from {HELD_TABLE} "
                       "where released_at is null group by 1 order by 1").fetchall()
    if not rows:
        return None
    return (f"held back (not in the warehouse until fixed): {'; '.join(detail for _, detail in rows)} "
            f"- see {HELD_TABLE}")


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
