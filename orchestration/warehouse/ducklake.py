"""The warehouse as a DuckLake: a catalog (SQLite here, PostgreSQL in production) plus Parquet
data files (a folder here, `s3://` in production), written in transactions, read at snapshots.

Every commit to a DuckLake is a snapshot. A build writes several (one per dbt model), and a
failing test must not reach readers, so readers do not follow the newest snapshot but the newest
*published* one: a writer marks its last commit published (in the snapshot's commit info) only
when everything it wrote succeeded. Readers attach read-only at that snapshot, so every query of
one connection sees one consistent warehouse whatever is being built meanwhile.

Writers of the warehouse, all through `Warehouse`:
- `dbt build` (orchestration.warehouse.build): one snapshot per model, then `publish(...)`;
- Python writers (quality, features, KPIs): `with warehouse.transaction("who") as tx:` - one
  snapshot, published when it commits on top of a published warehouse (after a failed build it
  waits for the next successful build to publish the lot).
Writers are serialised by Dagster's `warehouse` pool; a file lock beside a SQLite catalog also
covers a build started by hand.
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration import settings
from orchestration.warehouse.connection import connect

ALIAS = "warehouse"
PUBLISHED = '"published": true'
CONFLICT_RETRIES = 5
DATA_INLINING_ROW_LIMIT = 0  # the same in dbt_project/profiles.yml
# A reader keeps the Parquet footers it has read: a DuckLake data file is never rewritten (a
# change is a new file), and after the weekly merge the sensor facts are one file of hundreds of
# row groups whose footer every query parsed again (one sensor's day at 122 days: 26 -> 16 ms)
READER_SETTINGS = {"parquet_metadata_cache": "true"}


class WarehouseNotBuilt(FileNotFoundError):
    pass


@dataclass
class WriteTransaction:
    con: duckdb.DuckDBPyConnection
    writer: str
    snapshot_id: int | None = None  # set when the transaction has committed
    published: bool = False


@dataclass(frozen=True)
class Warehouse:
    catalog: str = field(default_factory=settings.warehouse_catalog)
    data_path: str = field(default_factory=settings.warehouse_data_path)

    @classmethod
    def in_folder(cls, folder: str | Path) -> "Warehouse":
        """A warehouse with a SQLite catalog and its data files in one folder (tests, scripts)."""
        folder = Path(folder).resolve()
        return cls(catalog=f"sqlite:{folder / 'catalog.sqlite'}", data_path=f"{folder / 'data'}/")

    # --- where it lives -------------------------------------------------------------------------
    @property
    def uri(self) -> str:
        return f"ducklake:{self.catalog}"

    @property
    def catalog_file(self) -> Path | None:
        kind, _, rest = self.catalog.partition(":")
        return Path(rest) if kind in ("sqlite", "duckdb") else None

    def exists(self) -> bool:
        if self.catalog_file is not None:
            return self.catalog_file.exists()
        try:
            return self.published_snapshot() is not None
        except WarehouseNotBuilt:
            return False

    def attach_statement(self, *, read_only: bool = True, snapshot: int | None = None, alias: str = ALIAS) -> str:
        """The ATTACH statement for a DuckDB session (CLI, BI tool, script). The data path is
        given even to readers and wins over the one the catalog recorded, so a lake that was
        moved or copied (`LAKE_ROOT`) reads its own files."""
        # writers keep every row in Parquet: rows inlined into the catalog cost every later query
        # of the table two more catalog round trips, and each rebuilt table a catalog table
        options = ["read_only"] if read_only else [f"data_inlining_row_limit {DATA_INLINING_ROW_LIMIT}"]
        options += [f"data_path '{self.data_path}'", "override_data_path true"]
        if snapshot is not None:
            options.append(f"snapshot_version {int(snapshot)}")
        return f"attach '{self.uri}' as {alias} ({', '.join(options)})"

    # --- readers --------------------------------------------------------------------------------
    def connect_read_only(self, snapshot: int | None = None, *, typed_sql: bool = False) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the published warehouse (or to `snapshot`), its schemas
        reading as `main.fct_…`, `kpi.…`, `features.…`, `quality.…`, `staging.…`. `typed_sql`: it
        runs what a person typed (orchestration.warehouse.connection says what changes)."""
        self._require_catalog()
        con = connect(typed_sql=typed_sql)
        try:
            for name, value in READER_SETTINGS.items():
                con.execute(f"set {name} = {value}")
            if snapshot is None:
                # one connection finds the published snapshot and then reads at it: a DuckDB
                # instance per step cost a reader twice the start-up
                con.execute(self.attach_statement())
                snapshot = self._published_or_raise(con)
                con.execute(f"detach {ALIAS}")
            con.execute(self.attach_statement(snapshot=snapshot))
            con.execute(f"use {ALIAS}")
        except Exception:
            con.close()
            raise
        return con

    def published_snapshot(self) -> int:
        """The newest published snapshot id (raises WarehouseNotBuilt when nothing is published)."""
        self._require_catalog()
        con = connect()
        try:
            con.execute(self.attach_statement())
            return self._published_or_raise(con)
        finally:
            con.close()

    def _require_catalog(self) -> None:
        if self.catalog_file is not None and not self.catalog_file.exists():
            raise WarehouseNotBuilt(f"No warehouse at {self.catalog} yet: materialise the warehouse assets first.")

    def _published_or_raise(self, con: duckdb.DuckDBPyConnection) -> int:
        snapshot = _published(con)
        if snapshot is None:
            raise WarehouseNotBuilt(f"The warehouse {self.catalog} has no published snapshot yet: "
                                    "materialise the warehouse assets first.")
        return snapshot

    # --- writers --------------------------------------------------------------------------------
    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """One writer at a time across processes on this machine (SQLite catalog); with a
        PostgreSQL catalog Dagster's `warehouse` pool serialises writers, and a conflicting
        commit is retried (`transaction`)."""
        if self.catalog_file is None:
            yield
            return
        self.catalog_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.catalog_file.with_name(self.catalog_file.name + ".writer.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def connect_writer(self) -> duckdb.DuckDBPyConnection:
        """A read-write connection with the DuckLake attached as the default catalog (create it
        on first use). Commit through `transaction`, or `publish` what you committed."""
        if self.catalog_file is not None:
            self.catalog_file.parent.mkdir(parents=True, exist_ok=True)
        if "://" not in self.data_path:
            Path(self.data_path).mkdir(parents=True, exist_ok=True)
        con = connect()
        try:
            con.execute(self.attach_statement(read_only=False))
            con.execute(f"use {ALIAS}")
        except Exception:
            con.close()
            raise
        return con

    @contextmanager
    def transaction(self, writer: str) -> Iterator[WriteTransaction]:
        """Run the block in one DuckLake transaction: it commits as one snapshot, published
        unless an unpublished (failed) build lies under it; on error nothing is committed."""
        with self.writer_lock():
            con = self.connect_writer()
            try:
                clean = _nothing_unpublished(con)
                con.execute("begin")
                tx = WriteTransaction(con, writer)
                try:
                    yield tx
                    _set_commit_info(con, writer, published=clean)
                    con.execute("commit")
                except BaseException:
                    con.execute("rollback")
                    raise
                tx.snapshot_id, tx.published = _latest(con), clean
            finally:
                con.close()

    def publish(self, con: duckdb.DuckDBPyConnection, writer: str, details: dict | None = None) -> int:
        """Mark what `con`'s catalog holds now as published, in a snapshot of its own that
        records what produced it in `meta.publications`; returns that snapshot id."""
        con.execute("create schema if not exists meta")
        con.execute("create table if not exists meta.publications (writer varchar, published_at timestamptz, "
                    "details varchar)")
        con.execute("begin")
        con.execute("insert into meta.publications values (?, current_timestamp, ?)",
                    [writer, json.dumps(details or {}, ensure_ascii=False, default=str)])
        _set_commit_info(con, writer, published=True)
        con.execute("commit")
        return _latest(con)


def retry_on_conflict(work, *, attempts: int = CONFLICT_RETRIES):
    """Run `work()` again when DuckLake refuses a commit because another writer changed the same
    table meanwhile (`Transaction conflict`): the data stays correct, the loser tries again."""
    for attempt in range(attempts):
        try:
            return work()
        except duckdb.TransactionException as error:
            if "conflict" not in str(error).lower() or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def _nothing_unpublished(con) -> bool:
    """Whether every commit so far is published (a new DuckLake: only its creation)."""
    published, latest = _published(con), _latest(con)
    return published == latest if published is not None else latest == _first(con)


def _first(con) -> int:
    return int(con.execute(f"select min(snapshot_id) from {ALIAS}.snapshots()").fetchall()[0][0])


def _set_commit_info(con, writer: str, *, published: bool) -> None:
    extra = json.dumps({"published": published, "writer": writer}, ensure_ascii=False)
    con.execute(f"call {ALIAS}.set_commit_message(?, ?, extra_info => ?)", ["orchestration", writer, extra])


def _latest(con) -> int:
    return int(con.execute(f"select id from {ALIAS}.current_snapshot()").fetchall()[0][0])


def _published(con) -> int | None:
    rows = con.execute(f"select max(snapshot_id) from {ALIAS}.snapshots() where commit_extra_info like ?",
                       [f"%{PUBLISHED}%"]).fetchall()
    return rows[0][0] if rows and rows[0][0] is not None else None


def current_snapshot(con: duckdb.DuckDBPyConnection) -> int:
    """The snapshot a `connect_read_only()` connection reads (name it in a report or training
    set; `Warehouse.connect_read_only(snapshot)` or `AT (VERSION => n)` reads it again)."""
    return _latest(con)


def published_snapshot_of(con: duckdb.DuckDBPyConnection) -> int | None:
    """The newest published snapshot of the warehouse attached to `con` (a writer's connection)."""
    return _published(con)


def latest_snapshot_of(con: duckdb.DuckDBPyConnection) -> int:
    return _latest(con)


def nothing_unpublished(con: duckdb.DuckDBPyConnection) -> bool:
    return _nothing_unpublished(con)


def table_columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], set[str]]:
    """Every table of the warehouse at `con`'s snapshot: (schema, table) -> its top-level columns.

    Read from the DuckLake's own catalog tables (`ducklake_schema`, `ducklake_table`,
    `ducklake_column`, each row valid from its `begin_snapshot` until its `end_snapshot`, as the
    DuckLake specification lays them out): DuckDB's information_schema first loads the metadata of
    every table of the snapshot, 0.5-1.4 s on a 30-day warehouse before each build, where these
    three tables answer in milliseconds. A catalog laid out otherwise falls back to
    information_schema."""
    meta = f"__ducklake_metadata_{ALIAS}"
    try:
        rows = con.execute(f"""
            with snapshot as (select id from {ALIAS}.current_snapshot())
            select s.schema_name, t.table_name, c.column_name
            from {meta}.ducklake_column as c
            join {meta}.ducklake_table as t on t.table_id = c.table_id
            join {meta}.ducklake_schema as s on s.schema_id = t.schema_id
            cross join snapshot
            where c.parent_column is null
              and snapshot.id >= c.begin_snapshot and (c.end_snapshot is null or snapshot.id < c.end_snapshot)
              and snapshot.id >= t.begin_snapshot and (t.end_snapshot is null or snapshot.id < t.end_snapshot)
              and snapshot.id >= s.begin_snapshot and (s.end_snapshot is null or snapshot.id < s.end_snapshot)
            """).fetchall()
    except duckdb.Error:
        return information_schema_columns(con)
    return _by_table(rows)


def information_schema_columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], set[str]]:
    """What `table_columns` answers, asked of DuckDB's information_schema (the slow way)."""
    return _by_table(con.execute(
        "select c.table_schema, c.table_name, c.column_name from information_schema.columns as c "
        "join information_schema.tables as t using (table_catalog, table_schema, table_name) "
        "where c.table_catalog = current_database() and t.table_type = 'BASE TABLE'").fetchall())


def _by_table(rows) -> dict[tuple[str, str], set[str]]:
    columns: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in rows:
        columns.setdefault((schema, table), set()).add(column)
    return columns
