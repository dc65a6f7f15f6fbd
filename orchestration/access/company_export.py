"""One company's rows, and nothing else: a per-company copy of the warehouse.

The central warehouse holds every client's data and is readable only by the platform. An analyst
working for one company, or the company itself (사후관리 follow-up, a data contribution), gets a
file of its own instead: `lake/exports/<company_id>/warehouse.duckdb`, with every warehouse
table that has a `company_id` column (facts, company dimensions, `kpi.*`, `features.*`,
`quality.*`), holding that company's rows only. Tables without a `company_id` (regional
benchmarks, programme totals, cross-company aggregates) are left out: they would leak the other
companies. The copy is materialised tables, not views, so nothing in it points back at the
central file; give the reader the export file (file permissions 0640, the company's group) and
not the central one.

    uv run python -m orchestration.access.company_export CJ-COS-01 [--out lake/exports]

Scale-out: on a PostgreSQL-backed DuckLake catalog the same separation is per-company database
roles with row filters on `company_id`; the export stays the route for handing data outside.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

SCHEMAS = ("main", "kpi", "features", "quality")


@dataclass(frozen=True)
class CompanyExport:
    company_id: str
    path: Path
    tables: dict[str, int]  # "schema.table" -> rows
    left_out: list[str]  # tables without company_id


def open_warehouse_read_only() -> duckdb.DuckDBPyConnection:
    """The warehouse's read API (the one line to change when the storage changes)."""
    from orchestration.resources import WarehouseResource

    return WarehouseResource().file.connect_read_only()


def company_tables(source: duckdb.DuckDBPyConnection) -> tuple[list[tuple[str, str]], list[str]]:
    """(schema, table) of the tables and views with a company_id column, and the names of the others."""
    rows = source.execute(
        "select table_schema, table_name, bool_or(column_name = 'company_id') from information_schema.columns "
        f"where table_schema in ({', '.join('?' for _ in SCHEMAS)}) group by all order by all", list(SCHEMAS)
    ).fetchall()
    return [(s, t) for s, t, has in rows if has], [f"{s}.{t}" for s, t, has in rows if not has]


def export_company(company_id: str, out_dir: Path, source: duckdb.DuckDBPyConnection | None = None) -> CompanyExport:
    """Write `out_dir/<company_id>/warehouse.duckdb` with that company's rows of every warehouse
    table that has them; written beside and renamed into place, so a reader never sees half."""
    own = source is None
    source = source or open_warehouse_read_only()
    target = Path(out_dir) / company_id / "warehouse.duckdb"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(".warehouse.duckdb.partial")
    partial.unlink(missing_ok=True)
    tables, left_out = company_tables(source)
    counts: dict[str, int] = {}
    try:
        with duckdb.connect(str(partial)) as destination:
            for schema, table in tables:
                result = source.execute(f'select * from "{schema}"."{table}" where company_id = ?', [company_id])
                # streamed batch by batch (the name differs between DuckDB 1.x and 2.x)
                reader = result.to_arrow_reader() if hasattr(result, "to_arrow_reader") else result.fetch_record_batch()
                destination.execute(f'create schema if not exists "{schema}"')
                destination.register("company_rows", reader)
                destination.execute(f'create table "{schema}"."{table}" as select * from company_rows')
                destination.unregister("company_rows")
                counts[f"{schema}.{table}"] = destination.execute(
                    f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            destination.execute("checkpoint")
        os.chmod(partial, 0o640)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
        if own:
            source.close()
    return CompanyExport(company_id, target, counts, left_out)


def main(argv: list[str] | None = None) -> int:
    from orchestration import settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("company_id")
    parser.add_argument("--out", type=Path, default=settings.lake_root() / "exports")
    args = parser.parse_args(argv)
    export = export_company(args.company_id, args.out)
    print(f"{export.path}: {len(export.tables)} tables, {sum(export.tables.values()):,} rows of {export.company_id}; "
          f"left out (no company_id): {', '.join(export.left_out) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
