"""Benchmarks. Each prints, as its last line, one JSON object with its numbers.

    uv run python bench/run.py ingest [--quick]        # ingest path vs bare pyarrow read_csv + write_deltalake
    uv run python bench/run.py incremental [--quick]   # dbt incremental after one new day vs full rebuild
    uv run python bench/run.py runs [--quick]          # a no-op and a one-file ingest run through Dagster vs called directly
    uv run python bench/run.py onboard [--quick]       # one new company, 20k-row file -> quality report (bar 90 s)
    uv run python bench/run.py soak [--minutes N]      # N minutes (default 10) of drops, kills and reads: rows accounted for
    uv run python bench/run.py features [--quick]      # feature build (dbt feature SQL) vs a bare DuckDB window-aggregate query, 20 companies x 30 days

Ratios are measured against a baseline timed in the same run, on the same machine and files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# The benchmarks ingest files they have just written and closed themselves: no settle time.
os.environ.setdefault("LANDING_SETTLE_SECONDS", "0")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import features, incremental, ingest, onboard, runs  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", choices=["ingest", "incremental", "runs", "onboard", "soak", "features"])
    parser.add_argument("--quick", action="store_true", help="a smaller run of the same shape (minutes)")
    parser.add_argument("--workdir", type=Path, default=Path(__file__).resolve().parent / "out",
                        help="where generated data goes (deleted and recreated)")
    parser.add_argument("--minutes", type=float, default=10, help="soak: how long files are dropped and runs killed")
    args = parser.parse_args(argv)
    if args.benchmark == "soak":
        from bench import soak

        result = soak.run(minutes=args.minutes, quick=args.quick, workdir=args.workdir / "soak")
        print(json.dumps(result, ensure_ascii=False), flush=True)
        os._exit(0)  # the JSON stays the last line: no teardown noise from the threads' native libraries
    module = {"ingest": ingest, "incremental": incremental, "runs": runs, "onboard": onboard,
              "features": features}[args.benchmark]
    result = module.run(quick=args.quick, workdir=args.workdir / args.benchmark)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
