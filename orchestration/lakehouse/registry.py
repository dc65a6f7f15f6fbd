"""The client registry (clients/registry.yaml): who the center's client companies are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import yaml
from deltalake import write_deltalake

from orchestration.ingest.bronze_schemas import REGISTRY_SCHEMAS

REGIONS = ("cheongju", "chungju", "jincheon", "eumseong")
STAGES = ("consulting", "collection", "quality", "ai_development", "demonstration", "post_management")
REQUIRED = ("company_id", "name_ko", "name_en", "region", "industry", "size_band", "cohort_year")


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class Company:
    company_id: str
    name_ko: str
    name_en: str
    region: str
    industry: str
    size_band: str
    cohort_year: int
    stages: tuple[dict, ...]


def load_registry(path: Path) -> list[Company]:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise RegistryError(f"{path}: not valid YAML: {error}") from error
    companies: list[Company] = []
    seen: set[str] = set()
    for index, entry in enumerate(document.get("companies") or [], start=1):
        where = f"{path}: companies[{index}]"
        missing = [key for key in REQUIRED if not entry.get(key)]
        if missing:
            raise RegistryError(f"{where} ({entry.get('company_id', '?')}): missing {', '.join(missing)}")
        if entry["company_id"] in seen:
            raise RegistryError(f"{where}: company_id {entry['company_id']} is listed twice")
        if entry["region"] not in REGIONS:
            raise RegistryError(f"{where} ({entry['company_id']}): region {entry['region']!r} is not one of {REGIONS}")
        stages = tuple(entry.get("stages") or ())
        for stage in stages:
            if stage.get("stage") not in STAGES:
                raise RegistryError(f"{where} ({entry['company_id']}): unknown support stage {stage.get('stage')!r}")
        seen.add(entry["company_id"])
        companies.append(Company(**{key: entry[key] for key in REQUIRED}, stages=stages))
    if not companies:
        raise RegistryError(f"{path}: no companies listed")
    return companies


def registry_tables(companies: list[Company], loaded_at: datetime | None = None) -> dict[str, pa.Table]:
    loaded_at = loaded_at or datetime.now(timezone.utc)
    company_rows = [
        {
            "company_id": c.company_id, "name_ko": c.name_ko, "name_en": c.name_en, "region": c.region,
            "industry": c.industry, "size_band": c.size_band, "cohort_year": int(c.cohort_year),
            "registry_loaded_at": loaded_at,
        }
        for c in companies
    ]
    stage_rows = [
        {
            "company_id": c.company_id, "stage": s["stage"], "started": _as_date(s.get("started")),
            "completed": _as_date(s.get("completed")), "registry_loaded_at": loaded_at,
        }
        for c in companies
        for s in c.stages
    ]
    return {
        "companies": pa.Table.from_pylist(company_rows, schema=REGISTRY_SCHEMAS["companies"]),
        "support_stages": pa.Table.from_pylist(stage_rows, schema=REGISTRY_SCHEMAS["support_stages"]),
    }


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def land_registry(companies: list[Company], bronze_root: Path) -> dict[str, pa.Table]:
    """Write the registry snapshot to its bronze tables. A snapshot overwrites the previous one;
    Delta's history keeps every earlier version."""
    tables = registry_tables(companies)
    for name, table in tables.items():
        write_deltalake(str(Path(bronze_root) / name), table, mode="overwrite", schema_mode="overwrite")
    return tables
