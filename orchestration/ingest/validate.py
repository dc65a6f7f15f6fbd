"""Check a client's mapping against a sample file before anything lands. Writes nothing.

    python -m orchestration.ingest.validate <company_id> <file> [--clients-dir DIR] [--rows N]
                                            [--bronze DIR_OR_URI] [--dataset D | --entry NAME]

Reports, per mapping entry that reads the file, everything ingest would do: the encoding, the
columns found / mapped / unmapped / missing (a warning when a mapped column is absent from a file
that has the others), the first standardised rows, the row rejections grouped by reason (blank
required cells, out-of-window dates...), rows that repeat a timestamp without a `sequence:` column,
and whether the ledger (bronze/ingest_log) already holds the same content, i.e. ingest would skip
it as a duplicate. Exit code 0: the file would land (maybe partially, or be skipped as a
duplicate); 1: an entry would quarantine it whole; 2: the mapping is broken.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import defaultdict
from pathlib import Path, PurePosixPath

from orchestration import settings
from orchestration.ingest.mapping import ClientMapping, MappingError, load_mapping
from orchestration.ingest.rejections import REASONS, FileRejected

EXIT_LANDS, EXIT_QUARANTINED, EXIT_BAD_MAPPING = 0, 1, 2
EXAMPLES_PER_REASON = 3


def path_within_company(file: Path, company_id: str) -> str:
    """The path the mapping's globs see: the part after `.../<company_id>/` when the file lies in
    a company folder (e.g. in the landing area), else just the file name."""
    parts = file.resolve().parts
    if company_id in parts[:-1]:
        index = len(parts) - 1 - parts[::-1].index(company_id)
        return "/".join(parts[index + 1:])
    return file.name


def find_specs(mapping: ClientMapping, file: Path, dataset: str | None = None, entry: str | None = None):
    """The entries that read the file, and the path their globs see."""
    within = path_within_company(file, mapping.company_id)
    if entry:  # --entry: that entry, whatever the file's name
        return [s for s in mapping.datasets if s.name == entry], within
    if dataset:  # --dataset: the first entry of that dataset, whatever the file's name
        return [s for s in mapping.datasets if s.dataset == dataset][:1], within
    specs = mapping.datasets_for(within)
    if not specs:  # a sample kept outside the landing layout: match the globs' file-name part
        from orchestration.ingest.mapping import glob_to_regex

        specs = [s for s in mapping.datasets if glob_to_regex(s.files.rsplit("/", 1)[-1]).fullmatch(file.name)]
        if specs:
            first = specs[0].files
            within = f"{first.rsplit('/', 1)[0]}/{file.name}" if "/" in first else file.name
            specs = [s for s in specs if s.matches(within)] or specs[:1]
    return specs, within


def find_spec(mapping: ClientMapping, file: Path, dataset: str | None):
    specs, within = find_specs(mapping, file, dataset)
    return (specs[0] if specs else None), within


def format_table(rows: list[dict], columns: list[str]) -> str:
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([_width(c)] + [_width(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = lambda values: "  ".join(_pad(v, w) for v, w in zip(values, widths))
    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])


def _cell(value) -> str:
    if value is None:
        return "·"
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _width(text: str) -> int:
    """Display width: Hangul and other wide characters take two columns in a terminal."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def validate(company_id: str, file: Path, *, clients_dir: Path, rows: int = 10, dataset: str | None = None,
             entry: str | None = None, bronze=None, out=sys.stdout) -> int:
    say = lambda text="": print(text, file=out)
    mapping_file = clients_dir / "mappings" / f"{company_id}.yaml"
    try:
        mapping = load_mapping(mapping_file)
    except MappingError as error:
        say(f"MAPPING ERROR  {error}")
        return EXIT_BAD_MAPPING
    if not file.is_file():
        say(f"no such file: {file}")
        return EXIT_QUARANTINED
    specs, within = find_specs(mapping, file, dataset, entry)
    say(f"mapping      {mapping_file}  (version {mapping.version})")
    say(f"file         {file}  ({file.stat().st_size:,} bytes; seen as {within!r})")
    if mapping.is_completion_marker(within):
        say("MARKER       a completion marker (completion_marker in the mapping): it tells ingest that its data "
            "file is complete and is never ingested or rejected itself")
        return EXIT_LANDS
    for marker in mapping.completion_markers_for(within):
        present = (file.parent / PurePosixPath(marker).relative_to(PurePosixPath(within).parent)).is_file()
        say(f"marker       ingest takes this file once {marker} exists beside it "
            + ("(it does)" if present else "(not there yet: the file would wait, `waiting_for_marker`)"))
    if not specs:
        say(f"QUARANTINED  unmapped_file: the file matches none of the dataset globs: "
            f"{', '.join(s.files for s in mapping.datasets)}")
        return EXIT_QUARANTINED
    if len(specs) > 1:
        say(f"entries      {len(specs)} mapping entries read this file: {', '.join(s.name for s in specs)}")
    ledger = _ledger(bronze, company_id)
    data = file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    codes = [_validate_entry(say, mapping, spec, data, digest, f"{company_id}/{within}", rows, ledger)
             for spec in specs]
    return max(codes)


def _ledger(bronze, company_id: str):
    """The company's ingest ledger, when there is a bronze lake to read (else None)."""
    from orchestration.lakehouse.bronze import BronzeLake
    from orchestration.lakehouse.landing_to_bronze import Ledger

    if bronze is None:
        bronze = settings.bronze_uri() or settings.lake_root() / "bronze"
    try:
        return Ledger.read(BronzeLake(bronze), company_id, "", False)
    except Exception:  # no lake here yet, or one we cannot read: validate still checks the file
        return None


def _validate_entry(say, mapping: ClientMapping, spec, data: bytes, digest: str, relative: str, rows: int,
                    ledger) -> int:
    from orchestration.ingest.standardise import parse_file

    say()
    say(f"entry        {spec.name}: dataset {spec.dataset}  (files: {spec.files!r}, format {spec.format}"
        f"{', layout ' + spec.layout if spec.layout else ''})")
    if ledger is not None:
        first = ledger.first_file_with(digest, spec.name, spec.dataset)
        if first == relative:
            say(f"LANDED       the ledger already holds this file for entry {spec.name}: ingest would skip it")
        elif first is not None:
            say(f"DUPLICATE    the ledger already holds this content for entry {spec.name}, from {first}: "
                f"ingest would skip it (status duplicate, duplicate_of {first})")
    try:
        parsed = parse_file(data, spec, mapping, relative_path=relative)
    except FileRejected as rejected:
        where = "".join([f" row {rejected.row}" if rejected.row else "",
                         f" column {rejected.column!r}" if rejected.column else ""])
        say(f"QUARANTINED  {rejected.reason}{where}: {rejected.message}")
        say(f"             ({REASONS[rejected.reason]})")
        return EXIT_QUARANTINED

    say(f"encoding     {parsed.encoding} (mapping says {spec.encoding})")
    say(f"columns      found {len(parsed.header)}: {', '.join(parsed.header)}")
    say(f"  mapped     {', '.join(parsed.mapped_columns) or 'none'}")
    say(f"  unmapped   {', '.join(parsed.unmapped_columns) or 'none'}"
        + ("   (kept in the file, not loaded: add them to the mapping if they matter)" if parsed.unmapped_columns else ""))
    say(f"  missing    {', '.join(parsed.missing_columns) or 'none'}")
    if parsed.missing_columns:
        say(f"WARNING      mapped column(s) {', '.join(map(repr, parsed.missing_columns))} are not in this file "
            f"(header names are compared after NFKC, without spaces, case-insensitively); their values would not load")
    landed = parsed.table.num_rows
    say(f"rows         {parsed.rows_read} data rows read -> {landed} standard rows, "
        f"{len(parsed.rejections)} rejected")
    say(f"             source rows {parsed.rows_read} = {parsed.rows_landed} landed + {parsed.rows_rejected} rejected")
    repeated = repeated_timestamps(parsed.table) if spec.dataset == "sensor_readings" and spec.sequence is None else None
    if repeated:
        count, example, times = repeated
        say(f"timestamps   {count} rows repeat a timestamp of the same equipment (e.g. {_cell(example)}: {times} rows) "
            f"and there is no `sequence:` column: every row is kept as a distinct reading, in file order; map the "
            f"shot/cycle/sample id as `sequence:` if the file has one")
    say()
    if landed:
        say(f"first {min(rows, landed)} standardised rows ({spec.dataset}, timestamps UTC):")
        preview = parsed.table.slice(0, rows).to_pylist()
        say(format_table(preview, [c for c in parsed.table.column_names if c != "company_id"
                                   and any(r.get(c) is not None for r in preview)]))
        say()
    if parsed.rejections:
        grouped = defaultdict(list)
        for rejection in parsed.rejections:
            grouped[rejection.reason].append(rejection)
        say("rejected rows by reason:")
        for reason, items in sorted(grouped.items(), key=lambda kv: -len(kv[1])):
            say(f"  {reason}: {len(items)}  ({REASONS[reason]})")
            for item in items[:EXAMPLES_PER_REASON]:
                say(f"    row {item.row}, column {item.column}: {item.message}")
        say()
    verdict = "LANDS PARTIALLY" if parsed.rejections else "LANDS"
    say(f"{verdict}  {landed} rows would land in bronze/{spec.dataset} (entry {spec.name})"
        + (f"; {len(parsed.rejections)} rejection(s) would go to bronze/ingest_rejections" if parsed.rejections else ""))
    return EXIT_LANDS


def repeated_timestamps(readings) -> tuple[int, object, int] | None:
    """Rows (source rows, not readings) sharing (equipment, reading time) with another row: the
    count, the most repeated time and how many rows carry it."""
    import pyarrow.compute as pc

    if readings.num_rows == 0:
        return None
    per_row = readings.select(["equipment_id", "reading_ts", "_source_row"]).group_by(
        ["equipment_id", "reading_ts", "_source_row"]).aggregate([])
    counts = per_row.group_by(["equipment_id", "reading_ts"]).aggregate([("_source_row", "count")])
    repeated = counts.filter(pc.greater(counts["_source_row_count"], 1))
    if repeated.num_rows == 0:
        return None
    top = pc.index(repeated["_source_row_count"], pc.max(repeated["_source_row_count"])).as_py()
    return (pc.sum(repeated["_source_row_count"]).as_py(), repeated["reading_ts"][top].as_py(),
            repeated["_source_row_count"][top].as_py())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.ingest.validate", description=__doc__.split("\n")[0])
    parser.add_argument("company_id")
    parser.add_argument("file", type=Path)
    parser.add_argument("--clients-dir", type=Path, default=None, help="default: $CLIENTS_DIR or ./clients")
    parser.add_argument("--rows", type=int, default=10, help="standardised rows to show (default 10)")
    parser.add_argument("--dataset", default=None, help="read the file as this dataset, whatever its name")
    parser.add_argument("--entry", default=None, help="read the file with this mapping entry (its name:)")
    parser.add_argument("--bronze", default=None, help="the bronze lake whose ledger is checked for duplicates "
                        "(default: $BRONZE_URI or $LAKE_ROOT/bronze)")
    args = parser.parse_args(argv)
    return validate(args.company_id, args.file, clients_dir=args.clients_dir or settings.clients_dir(),
                    rows=args.rows, dataset=args.dataset, entry=args.entry, bronze=args.bronze)


if __name__ == "__main__":
    sys.exit(main())
