"""Retract one landing file's rows from bronze and (optionally) ingest it again under the current mapping.

    python -m orchestration.ingest.retract <company_id> <file> [--version HASH] [--reingest] [--reason TEXT]
                                           [--lake-root DIR] [--clients-dir DIR]

<file> is the file's path under the company's landing folder (`kamp/shots.csv`), under the
landing root (`<company_id>/kamp/shots.csv`) or on disk. Every bronze table loses that file's rows
in a logged Delta delete, its rejections likewise, and the ledger records the retraction; the
original stays in landing and quarantine. `--reingest` then reads it again under the mapping as it
is now, in the same company lock. `--version` retracts one version of a file the client re-exported
under the same name (its sha256, or the first 8+ hex digits, as in the ledger's `source_hash`): only
that version's rows leave bronze, and the ledger's `supersedes` chain is re-linked around it (see
orchestration/lakehouse/retraction.py). The same is available in Dagster as `retract_files` in the
config of ingest_company_job. Exit code 0: done; 1: the file is not in the ledger; 2: the mapping
is broken.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from orchestration import settings
from orchestration.ingest.mapping import MappingError, load_mapping


def landing_path(company_id: str, file: str, landing_root: Path) -> str:
    """The ledger's name of a file: `<company_id>/<path under the company folder>`."""
    path = Path(file)
    if path.is_absolute():
        try:
            return path.resolve().relative_to(Path(landing_root).resolve()).as_posix()
        except ValueError:
            raise SystemExit(f"{file} is not under the landing area {landing_root}") from None
    text = path.as_posix().lstrip("./")
    return text if text.startswith(f"{company_id}/") else f"{company_id}/{text}"


def main(argv: list[str] | None = None) -> int:
    from orchestration.ingest.landing import discover_landing
    from orchestration.lakehouse.bronze import BronzeLake
    from orchestration.lakehouse.retraction import retract_file

    parser = argparse.ArgumentParser(prog="python -m orchestration.ingest.retract", description=__doc__.split("\n")[0])
    parser.add_argument("company_id")
    parser.add_argument("file")
    parser.add_argument("--version", default=None, help="only this version of the file: its content hash (sha256) "
                        "or the first 8+ hex digits of it, as in the ledger's source_hash")
    parser.add_argument("--reingest", action="store_true", help="ingest the file again under the current mapping")
    parser.add_argument("--reason", default="", help="why (kept in the ledger and the Delta commit)")
    parser.add_argument("--lake-root", type=Path, default=None, help="default: $LAKE_ROOT or ./lake")
    parser.add_argument("--clients-dir", type=Path, default=None, help="default: $CLIENTS_DIR or ./clients")
    args = parser.parse_args(argv)
    lake = args.lake_root or settings.lake_root()
    clients = args.clients_dir or settings.clients_dir()
    bronze = BronzeLake(lake / "bronze" if args.lake_root else settings.bronze_uri() or lake / "bronze")
    source_file = landing_path(args.company_id, args.file, lake / "landing")
    reingest_with = None
    if args.reingest:
        try:
            mapping = load_mapping(clients / "mappings" / f"{args.company_id}.yaml")
        except MappingError as error:
            print(f"MAPPING ERROR  {error}")
            return 2
        scan = discover_landing(lake / "landing", {args.company_id}, mappings={args.company_id: mapping})
        files = [f for f in scan.files if f.relative_path == source_file]
        if not files:
            print(f"{source_file} is not (or no longer) in the landing area; retracting without re-ingest")
        reingest_with = {"files": files, "mapping": mapping, "mapping_version": mapping.version} if files else None
    try:
        result = retract_file(args.company_id, source_file, bronze=bronze, quarantine_root=lake / "quarantine",
                              run_id=f"retract-{uuid.uuid4().hex[:8]}", reason=args.reason,
                              reingest_with=reingest_with, version=args.version)
    except LookupError as error:
        print(error)
        return 1
    deleted = ", ".join(f"{name} {n}" for name, n in result.rows_deleted.items() if n) or "no rows"
    which = f" version {args.version}" if args.version else ""
    print(f"RETRACTED    {source_file}{which}: deleted {deleted}; ledger entries retracted: {', '.join(result.entries)}")
    if result.reingest is not None:
        for outcome in result.reingest.files:
            print(f"REINGESTED   {outcome.source_file} ({outcome.dataset_entry}): {outcome.status}, "
                  f"{outcome.source_rows_landed} of {outcome.source_rows} rows landed, "
                  f"{outcome.source_rows_rejected} rejected, {outcome.rows_landed} bronze rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
