"""The warehouse: a DuckLake over the bronze Delta lake.

`connection` (a DuckDB connection with our extensions, offline), `ducklake` (where the warehouse
lives, readers at the published snapshot, writer transactions, publication), `bronze_sources`
(bronze read in place), `build` (one dbt build, published when it passed), `snapshots` (time
travel, pins, weekly upkeep), `dbt_project` (the dbt project as Dagster sees it), and the command
line: `python -m orchestration.warehouse query|shell|attach-sql|rebuild`.
"""
