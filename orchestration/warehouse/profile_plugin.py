"""dbt-duckdb plugin (named in `dbt_project/profiles.yml` under `plugins:`): the warehouse, the
extension folder and the object store of dbt's connection come from the environment, as every
other connection of the project takes them.

- `WAREHOUSE_CATALOG` and `WAREHOUSE_DATA_PATH` go into the profile's `warehouse` attachment, and
  the extension folder (`DUCKDB_EXTENSION_DIR`, laid out on first use) into the connection's
  settings, when dbt connects. The profile itself
  names only the defaults, so it reads the same for every warehouse: dbt keys its saved parse
  (`partial_parse.msgpack`) on the profile, and a profile that named each warehouse made the
  first build of every new warehouse parse the whole project again (3 of its 6 s alone), while the
  project's own parse could serve it (`orchestration.warehouse.dbt_project.seed_partial_parse`).
- With the `AWS_*` variables that delta-rs reads (orchestration/lakehouse/storage.py), an S3
  secret is made before the attach, so a `DATA_PATH 's3://…'` and the sources'
  `delta_scan('s3://…')` both work. Without them it makes none.
- On dbt's first cursor (the warehouse is attached by then), what the build's preparation wrote
  for dbt is copied into memory (orchestration/warehouse/bookkeeping.py says why).
"""

from __future__ import annotations

import os
import threading

from dbt.adapters.duckdb.plugins import BasePlugin

from orchestration import settings
from orchestration.lakehouse.storage import duckdb_s3_secret, storage_options
from orchestration.warehouse.bookkeeping import copy_bookkeeping
from orchestration.warehouse.connection import duckdb_config

WAREHOUSE_ALIAS = "warehouse"


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict) -> None:
        self._bookkeeping_lock = threading.Lock()
        self._bookkeeping_copied = False

    def update_connection_config(self, creds, config: dict) -> None:
        for attachment in creds.attach or []:
            if attachment.alias != WAREHOUSE_ALIAS:
                continue
            # read as every other connection of the project reads them; unset, the profile's defaults stand
            if os.environ.get("WAREHOUSE_CATALOG"):
                attachment.path = f"ducklake:{settings.warehouse_catalog()}"
            if os.environ.get("WAREHOUSE_DATA_PATH"):
                attachment.options = {**(attachment.options or {}), "data_path": settings.warehouse_data_path()}
        # the extension folder, and loading its extensions as checked once (connection.py says why)
        config.update({name: value for name, value in duckdb_config().items()
                       if name in ("extension_directory", "allow_unsigned_extensions")})

    def configure_connection(self, conn) -> None:
        options = storage_options()
        if options:
            conn.execute(duckdb_s3_secret(options))

    def configure_cursor(self, cursor) -> None:
        with self._bookkeeping_lock:
            if not self._bookkeeping_copied:
                copy_bookkeeping(cursor, WAREHOUSE_ALIAS)
                self._bookkeeping_copied = True
