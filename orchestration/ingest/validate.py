"""Check a client's mapping against a sample file before anything lands. Writes nothing.

    python -m orchestration.ingest.validate <company_id> <file> [--clients-dir DIR] [--rows N]

Prints the dataset the file matches, the encoding, the columns found / mapped / unmapped /
missing, the first standardised rows and the row rejections grouped by reason. Exit code 0: the
file would land (maybe partially); 1: it would be quarantined whole; 2: the mapping is broken.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

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


def find_spec(mapping: ClientMapping, file: Path, dataset: str | None):
    within = path_within_company(file, mapping.company_id)
    if dataset:  # --dataset: the first entry of that dataset, whatever the file's name
        return next((s for s in mapping.datasets if s.dataset == dataset), None), within
    spec = mapping.dataset_for(within)
    if spec is None:  # a sample kept outside the landing layout: match the globs' file-name part
        from orchestration.ingest.mapping import glob_to_regex

        spec = next((s for s in mapping.datasets if glob_to_regex(s.files.rsplit("/", 1)[-1]).fullmatch(file.name)),
                    None)
        if spec is not None:
            within = f"{spec.files.rsplit('/', 1)[0]}/{file.name}" if "/" in spec.files else file.name
    return spec, within


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
             out=sys.stdout) -> int:
    from orchestration.ingest.standardise import parse_file

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
    spec, within = find_spec(mapping, file, dataset)
    say(f"mapping      {mapping_file}")
    say(f"file         {file}  ({file.stat().st_size:,} bytes; seen as {within!r})")
    if spec is None:
        say(f"QUARANTINED  unmapped_file: the file matches none of the dataset globs: "
            f"{', '.join(s.files for s in mapping.datasets)}")
        return EXIT_QUARANTINED
    say(f"dataset      {spec.dataset}  (files: {spec.files!r}, format {spec.format}"
        f"{', layout ' + spec.layout if spec.layout else ''})")
    relative = f"{company_id}/{within}"
    try:
        parsed = parse_file(file, spec, mapping, relative_path=relative)
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
    landed = parsed.table.num_rows
    say(f"rows         {parsed.rows_read} data rows read -> {landed} standard rows, "
        f"{len(parsed.rejections)} rejected")
    say()
    if landed:
        say(f"first {min(rows, landed)} standardised rows ({spec.dataset}, timestamps UTC):")
        preview = parsed.table.slice(0, rows).to_pylist()
        say(format_table(preview, [c for c in parsed.table.column_names if c != "company_id"]))
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
    say(f"{verdict}  {landed} rows would land in bronze/{spec.dataset}"
        + (f"; {len(parsed.rejections)} rejection(s) would go to bronze/ingest_rejections" if parsed.rejections else ""))
    return EXIT_LANDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.ingest.validate", description=__doc__.split("\n")[0])
    parser.add_argument("company_id")
    parser.add_argument("file", type=Path)
    parser.add_argument("--clients-dir", type=Path, default=None, help="default: $CLIENTS_DIR or ./clients")
    parser.add_argument("--rows", type=int, default=10, help="standardised rows to show (default 10)")
    parser.add_argument("--dataset", default=None, help="read the file as this dataset, whatever its name")
    args = parser.parse_args(argv)
    return validate(args.company_id, args.file, clients_dir=args.clients_dir or settings.clients_dir(),
                    rows=args.rows, dataset=args.dataset)


if __name__ == "__main__":
    sys.exit(main())
