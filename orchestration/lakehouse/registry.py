"""The client registry (clients/registry.yaml): who the center's client companies are."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time, timezone
from pathlib import Path

import pyarrow as pa
import yaml

from orchestration import settings
from orchestration.ingest.bronze_schemas import REGISTRY_SCHEMAS
from orchestration.lakehouse.bronze import BronzeLake
from orchestration.lakehouse.delta_reads import delta_dataset

REGIONS = ("cheongju", "chungju", "jincheon", "eumseong")
STAGES = ("consulting", "collection", "quality", "ai_development", "demonstration", "post_management")
# How often a company delivers files: what "late" means for it. `backfill`: history only, never late.
CADENCES = {"hourly": 3, "daily": 26, "weekly": 8 * 24, "monthly": 32 * 24, "backfill": None}  # hours of grace
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
    shifts: tuple[dict, ...] = ()  # {code, name_ko, name_en, start, end}; empty: the default pattern
    delivery_cadence: str = "daily"  # one of CADENCES
    # before/after periods of the programme's outcome KPIs: {"baseline": (from, to), "followup": (from, to)}
    outcome_periods: dict = None  # type: ignore[assignment]
    data_contribution_consent: bool = False  # the company agreed to publish an anonymised dataset


@dataclass
class Registry:
    """The registry as read: the valid companies, and per faulty entry its message. One faulty
    entry fails only its own company's runs; everybody else keeps ingesting."""

    companies: list[Company]
    problems: dict[str, str]  # company_id (or "companies[<n>]" when the entry has none) -> message

    @property
    def listed(self) -> set[str]:
        """Every company id the registry names, faulty entries included: their landing files are
        theirs (kept for them, not treated as an unknown company's)."""
        return {c.company_id for c in self.companies} | {k for k in self.problems if not k.startswith("companies[")}


def read_registry(path: Path) -> Registry:
    """Every entry checked on its own; only a file that cannot be read at all raises RegistryError."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise RegistryError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise RegistryError(f"{path}: expected a mapping with a `companies:` list")
    entries = document.get("companies") or []
    if not isinstance(entries, list) or not entries:
        raise RegistryError(f"{path}: no companies listed")
    registry = Registry([], {})
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        where = f"{path}: companies[{index}]"
        company_id = entry.get("company_id") if isinstance(entry, dict) else None
        key = str(company_id) if company_id else f"companies[{index}]"
        try:
            if not isinstance(entry, dict):
                raise RegistryError(f"{where}: expected a mapping of company fields, found {entry!r}")
            company = _company(entry, where, seen)
        except RegistryError as problem:
            registry.problems.setdefault(key, str(problem))
            continue
        seen.add(company.company_id)
        registry.companies.append(company)
    return registry


def load_registry(path: Path) -> list[Company]:
    """The registry, all or nothing: RegistryError at the first faulty entry (validation, tests).
    Runs use `read_registry`, which keeps the other companies going."""
    registry = read_registry(path)
    if registry.problems:
        raise RegistryError(next(iter(registry.problems.values())))
    return registry.companies


def _company(entry: dict, where: str, seen: set[str]) -> Company:
    missing = [key for key in REQUIRED if not entry.get(key)]
    if missing:
        raise RegistryError(f"{where} ({entry.get('company_id', '?')}): missing {', '.join(missing)}")
    if entry["company_id"] in seen:
        raise RegistryError(f"{where}: company_id {entry['company_id']} is listed twice")
    if entry["region"] not in REGIONS:
        raise RegistryError(f"{where} ({entry['company_id']}): region {entry['region']!r} is not one of {REGIONS}")
    entry = {**entry, "industry": _industry(entry["industry"], f"{where} ({entry['company_id']})")}
    stages = tuple(entry.get("stages") or ())
    for stage in stages:
        if not isinstance(stage, dict) or stage.get("stage") not in STAGES:
            raise RegistryError(f"{where} ({entry['company_id']}): unknown support stage "
                                f"{stage.get('stage') if isinstance(stage, dict) else stage!r}")
    shifts = _shifts(entry.get("shifts") or (), f"{where} ({entry['company_id']})")
    cadence = entry.get("delivery_cadence", "daily")
    if cadence not in CADENCES:
        raise RegistryError(f"{where} ({entry['company_id']}): delivery_cadence {cadence!r} is not one of "
                            f"{tuple(CADENCES)}")
    periods = _outcome_periods(entry.get("outcome_periods") or {}, f"{where} ({entry['company_id']})")
    consent = entry.get("data_contribution_consent", False)
    if not isinstance(consent, bool):
        raise RegistryError(f"{where} ({entry['company_id']}): data_contribution_consent must be true or false, "
                            f"not {consent!r}")
    return Company(**{key: entry[key] for key in REQUIRED}, stages=stages, shifts=shifts, delivery_cadence=cadence,
                   outcome_periods=periods, data_contribution_consent=consent)


@lru_cache(maxsize=1)
def industry_codes() -> dict[str, str]:
    """KSIC code -> Korean name, from the industries seed (the warehouse's dim_industry)."""
    with open(settings.SEEDS_DIR / "industries.csv", encoding="utf-8", newline="") as handle:
        return {row["industry_code"]: row["name_ko"] for row in csv.DictReader(handle)}


def _industry(value, where: str) -> str:
    # YAML reads an unquoted 25 as a number; the code is text either way ('10', '20423')
    code = str(value).strip()
    if code not in industry_codes():
        divisions = ", ".join(c for c in industry_codes() if len(c) == 2)
        raise RegistryError(f"{where}: industry {value!r} is not a KSIC code of dbt_project/seeds/industries.csv "
                            f"(manufacturing divisions {divisions}, or a finer code listed there, e.g. 20423 "
                            f"화장품 제조업, 2432 비철금속 주조업)")
    return code


def _shifts(entries, where: str) -> tuple[dict, ...]:
    """A company's shifts, checked to cover the day exactly once: sorted by start, each shift
    ends where the next begins, and the last ends where the first begins (the next day)."""
    shifts = []
    for index, entry in enumerate(entries, start=1):
        label = f"{where}: shifts[{index}]"
        missing = [key for key in ("code", "name_ko", "start", "end") if not entry.get(key)]
        if missing:
            raise RegistryError(f"{label}: missing {', '.join(missing)}")
        shifts.append({"code": str(entry["code"]), "name_ko": entry["name_ko"],
                       "name_en": entry.get("name_en") or str(entry["code"]),
                       "start": _clock(entry["start"], f"{label} start"), "end": _clock(entry["end"], f"{label} end")})
    if not shifts:
        return ()
    codes = [s["code"] for s in shifts]
    if len(set(codes)) != len(codes):
        raise RegistryError(f"{where}: shift codes repeat ({', '.join(codes)})")
    ordered = sorted(shifts, key=lambda s: s["start"])
    for shift, following in zip(ordered, ordered[1:] + ordered[:1]):
        if shift["end"] != following["start"]:
            raise RegistryError(f"{where}: shift {shift['code']} ends at {shift['end']:%H:%M} but the next shift, "
                                f"{following['code']}, starts at {following['start']:%H:%M}; shifts must cover the "
                                f"day without gaps or overlaps")
    return tuple(shifts)


def _outcome_periods(entry: dict, where: str) -> dict:
    """{"baseline": (from, to), "followup": (from, to)} as dates, each inclusive; the baseline
    ends before the follow-up starts (an outcome compares the factory before and after)."""
    if not isinstance(entry, dict):
        raise RegistryError(f"{where}: outcome_periods must map baseline/followup to {{from: …, to: …}}")
    unknown = set(entry) - {"baseline", "followup"}
    if unknown:
        raise RegistryError(f"{where}: outcome_periods has unknown period(s) {sorted(unknown)}; "
                            "expected baseline and followup")
    periods = {}
    for name, span in entry.items():
        label = f"{where}: outcome_periods.{name}"
        if not isinstance(span, dict) or not span.get("from") or not span.get("to"):
            raise RegistryError(f"{label}: needs both from and to dates, e.g. {{from: 2025-06-01, to: 2025-08-31}}")
        try:
            start, end = _as_date(span["from"]), _as_date(span["to"])
        except ValueError:
            raise RegistryError(f"{label}: {span['from']!r}..{span['to']!r} are not dates like 2025-06-01") from None
        if end < start:
            raise RegistryError(f"{label}: ends ({end}) before it starts ({start})")
        periods[name] = (start, end)
    if len(periods) == 2 and periods["baseline"][1] >= periods["followup"][0]:
        raise RegistryError(f"{where}: the baseline period must end before the follow-up period starts "
                            f"(baseline to {periods['baseline'][1]}, followup from {periods['followup'][0]})")
    return periods


def _clock(value, label: str) -> time:
    # Unquoted 06:00 is a base-60 integer to YAML 1.1, so a number here is almost surely that mistake.
    if not isinstance(value, str):
        raise RegistryError(f"{label}: {value!r} is not a clock time; write it quoted, e.g. \"06:00\"")
    try:
        return time.fromisoformat(value.strip())
    except ValueError:
        raise RegistryError(f"{label}: {value!r} is not a clock time like \"06:00\" or \"22:30\"") from None


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
    shift_rows = [
        {
            "company_id": c.company_id, "shift_code": s["code"], "name_ko": s["name_ko"], "name_en": s["name_en"],
            "start_time_kst": s["start"].isoformat(), "end_time_kst": s["end"].isoformat(), "registry_loaded_at": loaded_at,
        }
        for c in companies
        for s in c.shifts
    ]
    programme_rows = [
        {
            "company_id": c.company_id,
            "baseline_from": (c.outcome_periods or {}).get("baseline", (None, None))[0],
            "baseline_to": (c.outcome_periods or {}).get("baseline", (None, None))[1],
            "followup_from": (c.outcome_periods or {}).get("followup", (None, None))[0],
            "followup_to": (c.outcome_periods or {}).get("followup", (None, None))[1],
            "data_contribution_consent": bool(c.data_contribution_consent),
            "delivery_cadence": c.delivery_cadence, "registry_loaded_at": loaded_at,
        }
        for c in companies
    ]
    return {
        "companies": pa.Table.from_pylist(company_rows, schema=REGISTRY_SCHEMAS["companies"]),
        "company_programme": pa.Table.from_pylist(programme_rows, schema=REGISTRY_SCHEMAS["company_programme"]),
        "support_stages": pa.Table.from_pylist(stage_rows, schema=REGISTRY_SCHEMAS["support_stages"]),
        "company_shifts": pa.Table.from_pylist(shift_rows, schema=REGISTRY_SCHEMAS["company_shifts"]),
    }


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def land_registry(companies: list[Company], bronze: BronzeLake | Path) -> dict[str, pa.Table]:
    """Write the registry snapshot to its bronze tables. A snapshot overwrites the previous one;
    Delta's history keeps every earlier version."""
    bronze = bronze if isinstance(bronze, BronzeLake) else BronzeLake(bronze)
    tables = registry_tables(companies)
    # An unchanged registry is not written again: a new Delta version tells the warehouse to
    # rebuild everything built from it (orchestration/warehouse/changed_inputs.py). A changed one is
    # written whole, every table with the same registry_loaded_at (the staging models pair on it).
    if all(_same_registry_rows(bronze, name, table) for name, table in tables.items()):
        return tables
    for name, table in tables.items():
        bronze.replace(name, table)
    return tables


def _same_registry_rows(bronze: BronzeLake, name: str, table: pa.Table) -> bool:
    """Whether the bronze table holds exactly these rows, whenever they were loaded."""
    current = bronze.open(name)
    if current is None:
        return False
    held = delta_dataset(current).to_table()
    if held.schema.remove_metadata() != table.schema.remove_metadata():
        return False

    def rows(t: pa.Table) -> list:
        return sorted(repr(sorted(r.items())) for r in t.drop_columns(["registry_loaded_at"]).to_pylist())
    return rows(held) == rows(table)
