"""A clients folder with one newly registered company, and a lake holding only its files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
NEW_COMPANY = "JC-FOD-07"


def register_new_company(clients: Path, company_id: str = NEW_COMPANY) -> dict:
    """Copy the repository's clients folder and add one company, cloned from a registered one so
    the entry keeps whatever fields the registry requires."""
    shutil.copytree(REPO / "clients", clients)
    registry_file = clients / "registry.yaml"
    document = yaml.safe_load(registry_file.read_text(encoding="utf-8"))
    entry = dict(next(c for c in document["companies"] if c["company_id"] == "CH-FOD-01"))
    entry.update(company_id=company_id, name_ko="진천한과식품(주)", name_en="Jincheon Hangwa Foods Co., Ltd.",
                 region="jincheon")
    entry.pop("shifts", None)
    document["companies"].append(entry)
    registry_file.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return entry


def fryer_log(rows: int, *, start_hour: int = 8) -> bytes:
    """A fryer PLC log as a small Korean food plant's panel writes it: CP949, one title line,
    one row a minute, 오전/오후 clock, units in the headers."""
    lines = ["튀김기 운전기록 (출력: 관리PC)", "일시,설비,유온(℃),압력(kgf/cm2),판정"]
    for i in range(rows):
        minute = start_hour * 60 + i
        hour, mm = divmod(minute, 60)
        half = "오전" if hour < 12 else "오후"
        clock = f"{(hour - 1) % 12 + 1:02d}:{mm:02d}:00"
        lines.append(f"2026-11-30 {half} {clock},FRY-0{1 + i % 2},{170 + (i % 7) * 0.5:.1f},"
                     f"{1.2 + (i % 5) * 0.01:.2f},{'불합격' if i % 50 == 49 else '합격'}")
    return ("\r\n".join(lines) + "\r\n").encode("cp949")


@pytest.fixture
def onboarding_env(tmp_path, monkeypatch):
    clients = tmp_path / "clients"
    register_new_company(clients)
    lake = tmp_path / "lake"
    env = {k: v for k, v in os.environ.items()
           if k not in ("WAREHOUSE_CATALOG", "WAREHOUSE_DATA_PATH", "DAGSTER_HOME", "DEMO_LAKE_ROOT")}
    env.update(LAKE_ROOT=str(lake), CLIENTS_DIR=str(clients))
    for key in ("WAREHOUSE_CATALOG", "WAREHOUSE_DATA_PATH", "DAGSTER_HOME"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LAKE_ROOT", str(lake))
    monkeypatch.setenv("CLIENTS_DIR", str(clients))
    return {"clients": clients, "lake": lake, "env": env}
