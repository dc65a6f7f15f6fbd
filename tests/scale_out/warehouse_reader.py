"""An analyst's process for the scale-out test: query the published warehouse over and over until
told to stop, and write down every answer and every error.

    python warehouse_reader.py <stop-file> <result.json>

Each round opens a new read-only session (a new analyst, a new snapshot) and reads, in one
session, the fact count and the per-company KPI totals; a consistent snapshot gives the same
number both ways.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(stop_file: Path, result_file: Path) -> int:
    from orchestration.warehouse.ducklake import Warehouse

    warehouse = Warehouse()  # WAREHOUSE_CATALOG / WAREHOUSE_DATA_PATH from the environment
    rounds, errors, inconsistent, counts, snapshots = 0, [], 0, [], set()
    while not stop_file.exists():
        try:
            con = warehouse.connect_read_only()
            try:
                readings = con.execute("select count(*) from fct_sensor_readings").fetchone()[0]
                by_company = con.execute(
                    "select coalesce(sum(n), 0) from (select count(*) as n from fct_sensor_readings group by company_id)"
                ).fetchone()[0]
                snapshots.add(con.execute("select id from warehouse.current_snapshot()").fetchone()[0])
            finally:
                con.close()
            rounds += 1
            counts.append(readings)
            inconsistent += readings != by_company
        except Exception as error:  # every error is the finding; keep reading
            errors.append(f"{type(error).__name__}: {error}"[:500])
        time.sleep(0.2)
    result_file.write_text(json.dumps({"rounds": rounds, "errors": errors, "inconsistent": inconsistent,
                                       "counts": counts, "snapshots": sorted(snapshots)}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
