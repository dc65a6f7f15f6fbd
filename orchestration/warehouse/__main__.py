"""The warehouse from the command line (read-only unless said otherwise).

  uv run python -m orchestration.warehouse query "select * from kpi.company_defect_rate"
        the result as CSV with a header on stdout (the published snapshot; --snapshot N for another)
  uv run python -m orchestration.warehouse shell
        an analyst session: Python with `con` (DuckDB, extensions loaded, warehouse attached
        read-only as the default catalog); `sql("...")` shows a result
  uv run python -m orchestration.warehouse attach-sql
        the statements that attach the warehouse in a DuckDB CLI or a BI tool
  uv run python -m orchestration.warehouse rebuild
        migration: rebuild the warehouse from the bronze lake (a full `dbt build --full-refresh`;
        writes, publishes a new snapshot)

Settings: WAREHOUSE_CATALOG, WAREHOUSE_DATA_PATH, LAKE_ROOT (see README "Configuration").
"""

from __future__ import annotations

import argparse
import code
import csv
import sys

from orchestration import settings
from orchestration.warehouse.connection import extension_directory
from orchestration.warehouse.ducklake import ALIAS, READER_SETTINGS, Warehouse, current_snapshot


def query(sql: str, *, snapshot: int | None = None, out=None) -> int:
    """Print `sql`'s result as CSV with a header; returns the number of rows."""
    out = out or sys.stdout
    con = Warehouse().connect_read_only(snapshot, typed_sql=True)
    try:
        result = con.execute(sql)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([column[0] for column in result.description or []])
        rows = 0
        while batch := result.fetchmany(10_000):
            writer.writerows(batch)
            rows += len(batch)
        return rows
    finally:
        con.close()


def attach_sql(snapshot: int | None = None) -> str:
    """What a DuckDB CLI or BI tool runs to read the warehouse (pinned to the published snapshot
    when one is given; without it, every query reads the newest commit)."""
    warehouse = Warehouse()
    return "\n".join([
        f"set extension_directory = '{extension_directory()}';",
        "set autoinstall_known_extensions = false;",
        "load ducklake;",
        "load delta;",
        *(f"set {name} = {value};" for name, value in READER_SETTINGS.items()),
        f"{warehouse.attach_statement(snapshot=snapshot)};",
        f"use {ALIAS};",
    ])


def shell(snapshot: int | None = None) -> None:
    con = Warehouse().connect_read_only(snapshot, typed_sql=True)
    at = current_snapshot(con)
    banner = (f"Warehouse {settings.warehouse_catalog()} attached read-only at snapshot {at} as `{ALIAS}`.\n"
              "  con.sql(\"select * from kpi.company_defect_rate\").show()   or   sql(\"...\")\n"
              "  schemas: main (marts), kpi, features, quality, staging, intermediate, reference, bronze (Delta views)")
    code.interact(banner=banner, local={"con": con, "sql": lambda text: con.sql(text).show(), "snapshot": at},
                  exitmsg="")
    con.close()


def rebuild() -> int:
    from orchestration.warehouse.build import build_warehouse

    result = build_warehouse(Warehouse(), settings.lake_root() / "bronze", ["build", "--full-refresh"], progress=True)
    print(f"rebuilt the warehouse from {settings.lake_root() / 'bronze'}: published snapshot {result.snapshot_id}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.warehouse", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    q = commands.add_parser("query", help="run one read-only SQL query, print CSV with a header")
    q.add_argument("sql")
    q.add_argument("--snapshot", type=int, help="read this DuckLake snapshot instead of the published one")
    s = commands.add_parser("shell", help="an analyst session (Python) with the warehouse attached read-only")
    s.add_argument("--snapshot", type=int)
    a = commands.add_parser("attach-sql", help="print the ATTACH statements for a DuckDB CLI or BI tool")
    a.add_argument("--latest", action="store_true", help="follow the newest commit instead of pinning the "
                   "published snapshot")
    commands.add_parser("rebuild", help="migration: rebuild the warehouse in full from the bronze lake")
    args = parser.parse_args(argv)
    if args.command == "query":
        query(args.sql, snapshot=args.snapshot)
    elif args.command == "shell":
        shell(args.snapshot)
    elif args.command == "attach-sql":
        print(attach_sql(None if args.latest else Warehouse().published_snapshot()))
    elif args.command == "rebuild":
        return rebuild()
    return 0


if __name__ == "__main__":
    sys.exit(main())
