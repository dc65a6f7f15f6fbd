"""dbt-duckdb plugin: dbt's DuckDB connection reaches the object store like every other connection
of the project, with an S3 secret made from the same `AWS_*` variables that delta-rs reads
(orchestration/lakehouse/storage.py). It runs before the profile attaches the DuckLake, so a
`DATA_PATH 's3://…'` and the sources' `delta_scan('s3://…')` both work. Without those variables
it does nothing. Named in `dbt_project/profiles.yml` under `plugins:`."""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from orchestration.lakehouse.storage import duckdb_s3_secret, storage_options


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        options = storage_options()
        if options:
            conn.execute(duckdb_s3_secret(options))
