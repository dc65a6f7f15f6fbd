"""The DuckDB extensions are checked once, not by every connection: loading them with DuckDB's
signature check cost each new connection 0.15-0.3 s of CPU (orchestration/warehouse/connection.py).
A file DuckDB did not sign - or one changed after its check - is never loaded as trusted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse import connection
from orchestration.warehouse.connection import connect, duckdb_config, extension_directory, extension_folder


@pytest.fixture()
def own_folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DUCKDB_EXTENSION_DIR", str(tmp_path / "extensions"))
    return extension_folder(extension_directory())


def trusted(con) -> bool:
    return con.execute("select current_setting('allow_unsigned_extensions')").fetchone()[0]


def tamper(link: Path, folder: Path) -> None:
    """Replace the extension the link points at with a copy differing in one byte."""
    copy = folder.parent / f"tampered-{link.name}"
    shutil.copyfile(link.resolve(), copy)
    with copy.open("r+b") as file:
        file.seek(copy.stat().st_size // 2)
        byte = file.read(1)
        file.seek(-1, 1)
        file.write(bytes([byte[0] ^ 0xFF]))
    link.unlink()
    link.symlink_to(copy)


def test_the_packaged_extensions_are_checked_once_then_loaded_as_trusted(own_folder):
    assert not (own_folder / ".verified").exists()
    assert duckdb_config()["allow_unsigned_extensions"] is True
    recorded = json.loads((own_folder / ".verified").read_text(encoding="utf-8"))
    assert sorted(recorded) == sorted(connection.EXTENSIONS)
    assert all(Path(path).is_file() and size > 1_000_000 for path, size, *_ in recorded.values())

    with connect(load=("ducklake", "delta")) as con:
        assert trusted(con)
        assert con.execute("select count(*) from duckdb_extensions() where loaded and extension_name in "
                           "('ducklake', 'delta')").fetchone()[0] == 2
    # a session running what a person typed keeps DuckDB's own check on every load
    with connect(load=("ducklake",), typed_sql=True) as typed:
        assert not trusted(typed)
        typed.execute("load delta")


def test_a_file_changed_after_its_check_is_checked_again_and_refused(own_folder):
    assert duckdb_config()["allow_unsigned_extensions"] is True
    tamper(own_folder / "delta.duckdb_extension", own_folder)

    config = duckdb_config()
    assert "allow_unsigned_extensions" not in config, "a changed file must not be trusted"
    with connect(load=("ducklake",)) as con:  # the other extensions still load, with DuckDB's check
        assert not trusted(con)
        with pytest.raises(duckdb.Error, match="(?i)signature|signed"):
            con.execute("load delta")
