"""A DuckDB connection with our extensions, offline.

The DuckDB extensions (delta, ducklake, sqlite_scanner, postgres_scanner, httpfs) come from PyPI
packages pinned in `uv.lock`, not from DuckDB's download site: there is no internet where the
pipeline runs. Each package ships `extensions/v<duckdb>/<name>.duckdb_extension`; DuckDB looks
for `<extension_directory>/v<duckdb>/<platform>/<name>.duckdb_extension`, so this module links
the packaged files into that layout once and points every connection at it with downloads off.
Everyone who needs DuckDB (warehouse readers and writers, dbt's profile, tests) goes through here.

DuckDB checks an extension's signature every time a new database instance loads it: it hashes the
whole file, about 0.07 s for ducklake, 0.07 s for sqlite_scanner and 0.17 s for delta, of CPU, for
each instance. Every connection here is a new instance (a reader's poll, each build's writer,
dbt's own), so the checks cost more than most of the queries they precede. The files are the
ones `uv.lock` pins by hash, so the folder's extensions are checked once, when they are laid out
(each loaded with signatures checked), and then loaded as trusted while none of them changed
(`.verified`, their size, time and inode). A session that runs SQL a person typed (`query`, the
analyst shell) keeps DuckDB's own check, so a typed `LOAD` of some other file is still refused.
"""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import duckdb

EXTENSIONS = ("delta", "ducklake", "sqlite_scanner", "postgres_scanner", "httpfs")
_PACKAGES = {name: f"duckdb_extension_{name}" for name in EXTENSIONS}


def extension_directory() -> Path:
    """The extension folder (env `DUCKDB_EXTENSION_DIR`, default `<venv>/duckdb_extensions`),
    laid out on first use from the installed extension packages."""
    configured = os.environ.get("DUCKDB_EXTENSION_DIR")
    root = Path(configured).expanduser().resolve() if configured else Path(sys.prefix) / "duckdb_extensions"
    target = extension_folder(root)
    for name, package in _PACKAGES.items():
        link = target / f"{name}.duckdb_extension"
        if not link.exists():
            _link(link, _packaged_extension(package, name))
    return root


def duckdb_config(*, typed_sql: bool = False) -> dict[str, object]:
    """Settings every connection (and dbt's profile, through env) needs to load extensions offline.
    `typed_sql`: the connection runs SQL a person typed; DuckDB checks every extension it loads."""
    root = extension_directory()
    config: dict[str, object] = {
        "extension_directory": str(root),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": True,
    }
    if not typed_sql and extensions_verified(root):
        config["allow_unsigned_extensions"] = True
    return config


def extensions_verified(root: Path) -> bool:
    """Whether every extension in the folder was loaded once with its signature checked, and none
    has changed since (checked again, and recorded, when one has)."""
    folder = extension_folder(root)
    files = {name: _file_identity(folder / f"{name}.duckdb_extension") for name in EXTENSIONS}
    return _verified(str(folder), json.dumps(files, sort_keys=True))


@lru_cache(maxsize=8)
def _verified(folder: str, files: str) -> bool:
    stamp = Path(folder) / ".verified"
    try:
        if stamp.read_text(encoding="utf-8") == files:
            return True
    except OSError:
        pass
    checking = duckdb.connect(config={"extension_directory": str(Path(folder).parents[1]),
                                      "autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        for name in EXTENSIONS:
            checking.execute(f"load {name}")  # raises for a file DuckDB did not sign
    except duckdb.Error:
        return False  # connections keep DuckDB's own check, which names the file it refuses
    finally:
        checking.close()
    try:
        temporary = stamp.with_name(f".verified.{os.getpid()}")
        temporary.write_text(files, encoding="utf-8")
        os.replace(temporary, stamp)
    except OSError:
        pass  # a read-only folder: this process checked them, the next checks them again
    return True


def _file_identity(path: Path) -> list:
    resolved = path.resolve()
    status = resolved.stat()
    return [str(resolved), status.st_size, status.st_mtime_ns, status.st_ino]


def connect(database: str = ":memory:", *, read_only: bool = False, load: tuple[str, ...] = ("ducklake",),
            config: dict | None = None, typed_sql: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that can scan Delta tables and attach DuckLakes, in UTC; with an S3
    secret from the standard `AWS_*` variables when they are set (bronze or warehouse on s3://).
    Only DuckLake is loaded up front: every connection is a new DuckDB instance, and loading the
    delta extension into one costs 0.33 s of CPU (a reader's connection took 0.85 s with it, most
    of it for an extension it never used); DuckDB loads it from the same offline folder the first
    time a query names `delta_scan`. `typed_sql`: see `duckdb_config`."""
    from orchestration.lakehouse.storage import duckdb_s3_secret, storage_options

    con = duckdb.connect(database, read_only=read_only, config={**duckdb_config(typed_sql=typed_sql), **(config or {})})
    try:
        con.execute("set TimeZone = 'UTC'")
        for name in load:
            con.execute(f"load {name}")
        if options := storage_options():
            con.execute("load httpfs")
            con.execute(duckdb_s3_secret(options))
    except Exception:
        con.close()
        raise
    return con


def extension_folder(root: Path) -> Path:
    """Where DuckDB looks for this version's extensions under `root`."""
    return root / f"v{duckdb.__version__}" / _platform()


@lru_cache(maxsize=1)
def _platform() -> str:
    # asked once per process: every connection's settings need it
    return duckdb.execute("pragma platform").fetchone()[0]


def _packaged_extension(package: str, name: str) -> Path:
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"DuckDB extension package {package.replace('_', '-')} is not installed (uv sync)")
    path = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.exists():
        raise RuntimeError(f"{path} missing: the {package} package does not match duckdb {duckdb.__version__}")
    return path


def _link(link: Path, source: Path) -> None:
    # Several processes may lay the folder out at once: create under a private name, rename over.
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".{link.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(source)
    os.replace(temporary, link)
