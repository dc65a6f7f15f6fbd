"""Dagster resources: the lake (landing, bronze, quarantine, reports) and the warehouse file."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from orchestration import settings
from orchestration.warehouse.publish import WarehouseFile


class LakeResource(dg.ConfigurableResource):
    """The local Delta lake. Paths default to `lake/` in the repository (env `LAKE_ROOT`)."""

    root: str = Field(default_factory=lambda: str(settings.lake_root()))
    clients_dir: str = Field(default_factory=lambda: str(settings.clients_dir()))

    @property
    def root_path(self) -> Path:
        return Path(self.root)

    @property
    def landing(self) -> Path:
        return self.root_path / "landing"

    @property
    def bronze(self) -> Path:
        return self.root_path / "bronze"

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
    """The published DuckDB warehouse (env `WAREHOUSE_PATH`). Writers build a copy and publish it
    atomically; readers only ever open the published file read-only."""

    path: str = Field(default_factory=lambda: str(settings.warehouse_path()))

    @property
    def file(self) -> WarehouseFile:
        return WarehouseFile(Path(self.path))
