"""A new warehouse's first build starts from the project's saved parse: the profile names no
warehouse (the plugin puts WAREHOUSE_CATALOG into the connection), so dbt accepts the copy."""

from __future__ import annotations

from types import SimpleNamespace

from dbt.cli.main import dbtRunner

from orchestration.warehouse.connection import extension_directory
from orchestration.warehouse.dbt_project import seed_partial_parse, warehouse_dbt_project
from orchestration.warehouse.profile_plugin import Plugin


def parse_events(target, monkeypatch, catalog: str) -> list[str]:
    monkeypatch.setenv("WAREHOUSE_CATALOG", catalog)
    monkeypatch.setenv("WAREHOUSE_DATA_PATH", str(target.parent / "data") + "/")
    events: list[str] = []
    project = str(warehouse_dbt_project.project_dir)
    outcome = dbtRunner(callbacks=[lambda e: events.append(e.info.name)]).invoke(
        ["parse", "--no-write-json", "--project-dir", project, "--profiles-dir", project, "--target-path", str(target)])
    assert outcome.success, outcome.exception
    return events


def test_a_new_warehouse_parses_from_the_projects_saved_parse(tmp_path, monkeypatch):
    seeded, unseeded = tmp_path / "a" / ".dbt-target", tmp_path / "b" / ".dbt-target"
    assert seed_partial_parse(seeded) and not seed_partial_parse(seeded)  # once: the folder keeps its own
    assert "UnableToPartialParse" not in parse_events(seeded, monkeypatch, f"sqlite:{tmp_path / 'a' / 'catalog.sqlite'}")
    # the control: an empty folder does parse the whole project
    assert "UnableToPartialParse" in parse_events(unseeded, monkeypatch, f"sqlite:{tmp_path / 'b' / 'catalog.sqlite'}")


def test_the_connection_takes_the_warehouse_from_the_environment(monkeypatch):
    warehouse = SimpleNamespace(alias="warehouse", path="ducklake:sqlite:../lake/warehouse/catalog.sqlite",
                                options={"override_data_path": True})
    other = SimpleNamespace(alias="archive", path="/data/archive.duckdb", options=None)
    monkeypatch.setenv("WAREHOUSE_CATALOG", "postgres:dbname=창고 host=127.0.0.1")
    monkeypatch.setenv("WAREHOUSE_DATA_PATH", "s3://lake/warehouse/")
    config: dict = {"autoinstall_known_extensions": False}
    Plugin.update_connection_config(object.__new__(Plugin), SimpleNamespace(attach=[warehouse, other]), config)
    assert warehouse.path == "ducklake:postgres:dbname=창고 host=127.0.0.1"
    assert warehouse.options == {"override_data_path": True, "data_path": "s3://lake/warehouse/"}
    assert other.path == "/data/archive.duckdb" and other.options is None
    assert config == {"autoinstall_known_extensions": False, "extension_directory": str(extension_directory()),
                      "allow_unsigned_extensions": True}  # the folder's extensions were checked once
    monkeypatch.setenv("WAREHOUSE_CATALOG", "/lake/warehouse/catalog.sqlite")  # a bare path is a SQLite file
    Plugin.update_connection_config(object.__new__(Plugin), SimpleNamespace(attach=[warehouse]), config)
    assert warehouse.path == "ducklake:sqlite:/lake/warehouse/catalog.sqlite"
