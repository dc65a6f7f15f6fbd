"""Build-then-publish for the DuckDB warehouse.

DuckDB allows one writer per file and a writer locks readers of other processes out. Analysts
must be able to query while dbt rebuilds, so nobody ever writes the published file in place:
a rebuild copies it, writes the copy, checkpoints it and renames it over the published name.
`rename(2)` is atomic, so a reader opens either the old or the new warehouse, never a half-built
one, and a reader that is already connected keeps its (old) file until it reconnects.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb


class WarehouseNotBuilt(FileNotFoundError):
    pass


@dataclass(frozen=True)
class WarehouseFile:
    path: Path

    def __post_init__(self):
        # dbt runs in its project folder, so a relative path would point somewhere else there.
        object.__setattr__(self, "path", Path(self.path).resolve())

    @property
    def directory(self) -> Path:
        return self.path.parent

    def exists(self) -> bool:
        return self.path.exists()

    def connect_read_only(self) -> duckdb.DuckDBPyConnection:
        if not self.path.exists():
            raise WarehouseNotBuilt(
                f"No warehouse at {self.path} yet: materialise the warehouse assets first."
            )
        return duckdb.connect(str(self.path), read_only=True)

    @contextmanager
    def _writer_lock(self) -> Iterator[None]:
        # Serialises builders across processes (Dagster's `warehouse` pool does it within one
        # instance; this also covers a dbt run started by hand).
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextmanager
    def rebuild(self) -> Iterator[Path]:
        """Yield a private copy of the warehouse to write; publish it when the block succeeds.

        On error the copy is discarded and the published warehouse stays as it was.
        """
        with self._writer_lock():
            # One build at a time (the lock), so the copy can have a fixed name: dbt then sees the
            # same profile path every build and keeps its partial parsing (a fresh parse costs ~20 s).
            build = self.directory / f".{self.path.stem}.build.duckdb"
            for stale in (build, build.with_name(build.name + ".wal")):
                stale.unlink(missing_ok=True)  # left by a process killed mid-build
            if self.path.exists():
                shutil.copyfile(self.path, build)
            try:
                yield build
                _checkpoint(build)
                os.replace(build, self.path)
            finally:
                for leftover in (build, build.with_name(build.name + ".wal")):
                    leftover.unlink(missing_ok=True)


def _checkpoint(path: Path) -> None:
    # A WAL file would not travel with the rename, so everything must be in the main file.
    con = duckdb.connect(str(path))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        raise RuntimeError(f"{wal} still exists after checkpoint; refusing to publish {path}")
