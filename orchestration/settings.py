"""Where things live. Every path has a local default under the repository and an environment
variable to move it, so the same code runs the demo, the tests and a real deployment."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _path_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def lake_root() -> Path:
    return _path_from_env("LAKE_ROOT", REPO_ROOT / "lake")


def demo_lake_root() -> Path:
    """The demo's own lake (`make pipeline`): never the clients' lake, so the demo can start
    fresh without touching a client's file."""
    return _path_from_env("DEMO_LAKE_ROOT", lake_root() / "demo")


def clients_dir() -> Path:
    return _path_from_env("CLIENTS_DIR", REPO_ROOT / "clients")


def bronze_uri() -> str | None:
    """Where the bronze Delta tables live when not under the lake root: a folder or an object
    store URI (`s3://bucket/bronze`); None: `$LAKE_ROOT/bronze`."""
    value = os.environ.get("BRONZE_URI")
    if not value:
        return None
    return value if "://" in value else str(Path(value).expanduser().resolve())


def warehouse_catalog() -> str:
    """The warehouse DuckLake's catalog (env `WAREHOUSE_CATALOG`): a SQLite file by default
    (`sqlite:<path>` or a bare path), `postgres:<libpq connection string>` in production."""
    value = os.environ.get("WAREHOUSE_CATALOG")
    if not value:
        return f"sqlite:{lake_root() / 'warehouse' / 'catalog.sqlite'}"
    kind, sep, rest = value.partition(":")
    if sep and kind in ("sqlite", "postgres", "duckdb", "mysql"):
        return f"{kind}:{Path(rest).expanduser().resolve()}" if kind in ("sqlite", "duckdb") else value
    return f"sqlite:{Path(value).expanduser().resolve()}"


def warehouse_data_path() -> str:
    """Where the warehouse DuckLake writes its Parquet files (env `WAREHOUSE_DATA_PATH`): a folder,
    or an object-store URI such as `s3://bucket/warehouse/`. Default: `data/` beside a SQLite
    catalog, else `$LAKE_ROOT/warehouse/data/`."""
    value = os.environ.get("WAREHOUSE_DATA_PATH")
    if not value:
        kind, _, rest = warehouse_catalog().partition(":")
        folder = Path(rest).parent if kind in ("sqlite", "duckdb") else lake_root() / "warehouse"
        return f"{folder / 'data'}/"
    if "://" in value:
        return value if value.endswith("/") else value + "/"
    return f"{Path(value).expanduser().resolve()}/"


DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"


def landing_settle_seconds() -> float:
    """How long a landing file must stay unchanged before it is taken (env `LANDING_SETTLE_SECONDS`,
    default 2 minutes): uploads over SFTP, SMB or a browser write a file for minutes under its final name."""
    return float(os.environ.get("LANDING_SETTLE_SECONDS", "120"))
