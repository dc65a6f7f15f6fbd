"""Dagster resources: the lake (landing, bronze, quarantine, reports) and the warehouse DuckLake."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from orchestration import settings
from orchestration.lakehouse.bronze import BronzeLake
from orchestration.lakehouse import storage
from orchestration.lakehouse.storage import Location, as_location, is_remote
from orchestration.warehouse.ducklake import Warehouse, WriteTransaction


class LakeResource(dg.ConfigurableResource):
    """The Delta lake. Paths default to `lake/` in the repository (env `LAKE_ROOT`). The bronze
    tables can live elsewhere, on an object store (env `BRONZE_URI`, e.g. `s3://bucket/bronze`,
    reached with the standard `AWS_*` variables); landing stays a local folder, where files arrive."""

    root: str = Field(default_factory=lambda: str(settings.lake_root()))
    clients_dir: str = Field(default_factory=lambda: str(settings.clients_dir()))
    bronze_uri: str = Field(default_factory=lambda: settings.bronze_uri() or "",
                            description="Bronze root: a folder or an s3:// URI; empty: <root>/bronze.")

    @property
    def root_path(self) -> Path:
        return Path(self.root)

    @property
    def landing(self) -> Path:
        return self.root_path / "landing"

    @property
    def bronze(self) -> Location:
        """The bronze root: a local folder (Path) or an object store URI (str)."""
        return as_location(self.bronze_uri) if self.bronze_uri else self.root_path / "bronze"

    @property
    def storage_options(self) -> dict[str, str]:
        """How delta-rs reaches the bronze root (none for a local folder)."""
        return storage.storage_options() if is_remote(self.bronze) else {}

    def bronze_lake(self) -> BronzeLake:
        return BronzeLake(self.bronze, self.storage_options)

    @property
    def gold(self) -> Path:
        return self.root_path / "gold"

    @property
    def quarantine(self) -> Path:
        return self.root_path / "quarantine"

    @property
    def reports(self) -> Path:
        return self.root_path / "reports"

    @property
    def registry_file(self) -> Path:
        return Path(self.clients_dir) / "registry.yaml"

    def mapping_file(self, company_id: str) -> Path:
        return Path(self.clients_dir) / "mappings" / f"{company_id}.yaml"


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse DuckLake: its catalog (env `WAREHOUSE_CATALOG`, default a SQLite file
    `lake/warehouse/catalog.sqlite`; `postgres:...` in production) and its data files (env
    `WAREHOUSE_DATA_PATH`, default `lake/warehouse/data/`; an `s3://` URI in production).

    Readers: `connect_read_only(snapshot=None)`, the published warehouse (or one snapshot).
    Writers: `with warehouse.transaction("who") as tx: tx.con.execute(...)`; `tx.snapshot_id`
    after the block is the snapshot it committed (record it as metadata)."""

    catalog: str = Field(default_factory=settings.warehouse_catalog)
    data_path: str = Field(default_factory=settings.warehouse_data_path)

    @property
    def lake(self) -> Warehouse:
        return Warehouse(catalog=self.catalog, data_path=self.data_path)

    @property
    def file(self) -> Warehouse:
        """The same as `lake` (the name of the days of a single DuckDB file; readers keep working)."""
        return self.lake

    def connect_read_only(self, snapshot: int | None = None) -> duckdb.DuckDBPyConnection:
        return self.lake.connect_read_only(snapshot)

    @contextmanager
    def transaction(self, writer: str) -> Iterator[WriteTransaction]:
        with self.lake.transaction(writer) as tx:
            yield tx
