"""What a normal warehouse build has to rebuild: the models and tests downstream of the inputs that
changed since the last published build of the whole warehouse.

A model's table can only differ from the one already published when something it reads changed:
a bronze Delta table (its version), the project (models, macros, seeds, tests, settings), the
holds of warehouse isolation (they decide which bronze batches every content model admits), or
the clock (a model that reads now()). Everything else is left as it is - on a day when only the
clients' content arrived, the registry, the reference seeds and the dimensions built from them
are not rebuilt or retested. Each node of a dbt build on the DuckLake costs a catalog
transaction, so this is a third of a daily build's fixed cost.
The landing-file ledger (`bronze.ingest_log`) gains rows with every ingest, but the content
models read it only for the file versions it says were superseded (macros/superseded_versions.sql):
while those stay the same, a new ledger version changes only what reads the ledger itself
(stg_ingest_log, fct_landing_files), not the work orders of a company that sent none today.
A view holds no rows, only its definition: new bronze rows reach its readers through it as it
is, so it is built again only when what its definition is compiled from changed - the project,
or the bronze tables' columns and place (the staging views name both) - not because bronze
gained rows. The models and tests downstream of it are built as before.

The inputs of a build are recorded with its publication (`meta.publications`); a build that was
not of the whole warehouse (a subset, a KPI build) records none, and the build after it falls
back to building everything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from orchestration.lakehouse.bronze import LOG_TABLE
from orchestration.warehouse.dbt_project import parsed_manifest
from orchestration.warehouse.isolation import HELD_TABLE

# What dbt reads from the project folder (its target and logs are outputs)
PROJECT_INPUTS = ("models", "macros", "seeds", "tests", "snapshots", "analyses", "dbt_project.yml",
                  "selectors.yml", "profiles.yml", "packages.yml")
# A model whose SQL reads the clock is rebuilt every time
CLOCK_WORDS = ("now()", "current_date", "current_timestamp", "get_current_timestamp", "kpi_as_of_date")
WAREHOUSE_WRITER = "dbt build"


@dataclass(frozen=True)
class BuildInputs:
    bronze_versions: dict[str, int]
    project: str  # digest of the dbt project's files
    holds: str  # digest of the isolation holds
    bronze_shape: str = ""  # digest of the bronze tables' columns and root (empty: not recorded)
    superseded: str = ""  # digest of the file versions the ledger says were superseded (empty: not recorded)


def bronze_shape_digest(bronze_root: str, columns: dict[str, tuple[str, ...]]) -> str:
    return hashlib.sha256(repr((bronze_root, sorted(columns.items()))).encode()).hexdigest()


def project_digest(project_dir: Path) -> str:
    digest = hashlib.sha256()
    for entry in PROJECT_INPUTS:
        path = project_dir / entry
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path] if path.exists() else []
        for file in files:
            digest.update(file.relative_to(project_dir).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def holds_digest(con: duckdb.DuckDBPyConnection) -> str:
    try:
        rows = con.execute(f"select company_id, table_name, source_file, source_hash, ingest_run_id, released_at "
                           f"from {HELD_TABLE} order by all").fetchall()
    except duckdb.Error:
        rows = []
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def superseded_digest(con: duckdb.DuckDBPyConnection, ledger_columns: tuple[str, ...]) -> str:
    """What macros/superseded_versions.sql gives, as a digest (the ledger's `bronze.ingest_log` view)."""
    if "supersedes" not in ledger_columns:
        rows = []
    else:
        rows = con.execute("select distinct company_id, source_file, supersedes from bronze.ingest_log "
                           "where supersedes is not null and lower(status) in ('ingested', 'partial') "
                           "order by all").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def inputs_now(con: duckdb.DuckDBPyConnection, project_dir: Path, bronze_versions: dict[str, int],
               bronze_shape: str, superseded: str) -> BuildInputs:
    return BuildInputs(dict(bronze_versions), project_digest(project_dir), holds_digest(con), bronze_shape,
                       superseded)


def last_published_inputs(con: duckdb.DuckDBPyConnection) -> BuildInputs | None:
    """The inputs of the newest published build of the whole warehouse (None: there is none, or a
    partial build came after it)."""
    try:
        rows = con.execute("select details from meta.publications where writer = ? order by published_at desc",
                           [WAREHOUSE_WRITER]).fetchall()
    except duckdb.Error:
        return None
    for (details,) in rows:
        recorded = json.loads(details or "{}")
        if "dbt_args" not in recorded:
            continue
        inputs = recorded.get("inputs")
        if inputs is None:
            # a KPI build leaves the warehouse models as they were; any other partial build does not
            if recorded.get("partial") == "programme_kpis":
                continue
            return None
        return BuildInputs(**inputs)
    return None


def unchanged_since(manifest_path: Path, before: BuildInputs | None, now: BuildInputs) -> list[str] | None:
    """Names of the warehouse's nodes (seeds, models, tests) nothing they read changed between
    `before` and `now` - for dbt's `--exclude`, which also combines with the selection Dagster
    adds for an asset job; None when everything must be built (no earlier complete build, the
    project or the holds changed)."""
    if before is None or before.project != now.project or before.holds != now.holds:
        return None
    manifest = parsed_manifest(manifest_path)
    changed = [key for key, source in manifest["sources"].items()
               # tables outside bronze (quality, AI) carry no version here: taken as changed
               if source["source_name"] != "bronze"
               or before.bronze_versions.get(source["name"]) != now.bronze_versions.get(source["name"])]
    ledger = next((key for key, source in manifest["sources"].items()
                   if source["source_name"] == "bronze" and source["name"] == LOG_TABLE), None)
    if ledger in changed and before.superseded and before.superseded == now.superseded:
        changed.remove(ledger)
        changed += [child for child in manifest["child_map"].get(ledger, [])
                    if LOG_TABLE in (manifest["nodes"].get(child, {}).get("raw_code") or "")]
    changed += [key for key, node in manifest["nodes"].items()
                if node["resource_type"] == "model" and reads_the_clock(node)]
    affected, stack = set(changed), list(changed)
    while stack:
        for child in manifest["child_map"].get(stack.pop(), []):
            if child not in affected:
                affected.add(child)
                stack.append(child)
    if not now.bronze_shape or before.bronze_shape != now.bronze_shape:
        # the staging views name the bronze tables' columns and place: all made again
        affected |= {key for key, node in manifest["nodes"].items() if is_view(node)}
    else:
        # new bronze rows reach a view's readers through it as it is
        affected -= {key for key, node in manifest["nodes"].items() if is_view(node) and not reads_the_clock(node)}
    return sorted(node["name"] for key, node in manifest["nodes"].items()
                  if node["resource_type"] in ("model", "seed", "test", "snapshot") and key not in affected
                  and "programme_kpis" not in node.get("tags", []))


def is_view(node: dict) -> bool:
    return node["resource_type"] == "model" and node["config"].get("materialized") == "view"


def reads_the_clock(node: dict) -> bool:
    code = (node.get("raw_code") or "").lower()
    macros = " ".join(node.get("depends_on", {}).get("macros", []))
    return any(word in code or word.rstrip("()") in macros for word in CLOCK_WORDS)


def recorded(inputs: BuildInputs | None) -> dict:
    return asdict(inputs) if inputs is not None else {}
