"""A small warehouse in the shape the KPI marts read (dim_company, the facts, mart_oee_daily,
quality.dq_latest, ml.*), generated from a seed with known before/after behaviour and planted
post-management cases. Written straight from pandas frames, independent of dbt, so the KPI tests
compute every expected number from these frames on their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

KST = timezone(timedelta(hours=9))
AS_OF = date(2026, 11, 30)
BASELINE = (date(2026, 9, 1), date(2026, 9, 20))
FOLLOWUP = (date(2026, 11, 1), date(2026, 11, 20))
DATASETS = ("sensor_readings", "production_lots", "quality_inspections", "equipment_events")

# company, region, industry, periods given, baseline days with data, has energy data
COMPANIES = [
    ("TS-COS-01", "cheongju", "cosmetics", True, 20, True),
    ("TS-BAT-02", "cheongju", "battery", True, 3, False),   # too few baseline days
    ("TS-FOD-03", "chungju", "food", False, 20, True),      # no periods in the registry
    ("TS-FOD-04", "eumseong", "food", True, 20, True),
    ("TS-FOD-05", "jincheon", "food", True, 20, False),     # food energy: only 2 companies
]
NAMES = {"cheongju": ("청주시", "Cheongju-si"), "chungju": ("충주시", "Chungju-si"),
         "jincheon": ("진천군", "Jincheon-gun"), "eumseong": ("음성군", "Eumseong-gun")}
INDUSTRIES = {"cosmetics": ("화장품", "Cosmetics"), "battery": ("이차전지 부품", "Battery parts"),
              "food": ("식품", "Food"), "semiconductor": ("반도체", "Semiconductor"),
              "auto_parts": ("자동차 부품", "Auto parts")}
# the programme's industry groups (dim_industry.programme_group): what "per industry" counts by
GROUPS = {"cosmetics": ("beauty", "뷰티", "Beauty"), "battery": ("secondary_battery", "이차전지", "Secondary batteries"),
          "food": ("convergence_bio", "융합바이오", "Convergence bio"), "semiconductor": ("semiconductor", "반도체", "Semis"),
          "auto_parts": ("future_mobility", "미래모빌리티", "Future mobility")}
STAGES = {  # company -> [(stage, started, completed)]
    "TS-COS-01": [("consulting", "2025-03-03", "2025-04-11"), ("collection", "2025-04-14", "2025-07-31"),
                  ("quality", "2025-08-01", "2025-09-12"), ("ai_development", "2025-09-15", "2026-01-30"),
                  ("demonstration", "2026-02-02", "2026-08-31"), ("post_management", "2026-09-01", None)],
    "TS-BAT-02": [("consulting", "2025-06-02", "2025-07-11"), ("collection", "2025-07-14", None)],
    "TS-FOD-03": [("consulting", "2026-03-02", "2026-04-10"), ("collection", "2026-04-13", "2026-07-31"),
                  ("quality", "2026-08-03", None)],
    "TS-FOD-04": [("consulting", "2026-02-16", "2026-03-27"), ("collection", "2026-03-30", "2026-06-30"),
                  ("quality", "2026-07-01", "2026-08-14"), ("ai_development", "2026-08-17", None)],
    "TS-FOD-05": [("consulting", "2026-12-07", None)],  # starts after the KPI day: not yet supported
}
DATA_STOPS = ("TS-FOD-03", "sensor_readings", date(2026, 11, 18))   # no file from this day on
QUALITY_DROPS = ("TS-FOD-04", date(2026, 11, 25))                   # scores fall from this day on
DRIFT = ("TS-COS-01", date(2026, 11, 21))                           # the AI stage flags drift from this day
EMPTY_DATASET = ("TS-FOD-05", "equipment_events")                   # files land but no row is standard
BACKFILL_ONLY = ("TS-BAT-02", "sensor_readings", date(2026, 11, 10))  # history only: its files stop, nobody expects more


@dataclass
class KpiFixture:
    companies: pd.DataFrame
    stages: pd.DataFrame
    programme: pd.DataFrame
    lots: pd.DataFrame
    oee: pd.DataFrame
    energy: pd.DataFrame
    landings: pd.DataFrame
    freshness: pd.DataFrame
    scores: pd.DataFrame
    models: pd.DataFrame
    drift: pd.DataFrame
    counts: dict = field(default_factory=dict)


def _days(span: tuple[date, date]) -> list[date]:
    return [span[0] + timedelta(days=i) for i in range((span[1] - span[0]).days + 1)]


def _utc(day: date, hour: float) -> pd.Timestamp:
    return pd.Timestamp(datetime(day.year, day.month, day.day, tzinfo=KST) + timedelta(hours=hour)).tz_convert("UTC")


def generate(seed: int = 5) -> KpiFixture:
    rng = np.random.default_rng(seed)
    companies = pd.DataFrame([{
        "company_id": c, "name_ko": f"테스트{i}(주)", "name_en": f"Test {i} Co.", "region_code": r,
        "region_name_ko": NAMES[r][0], "region_name_en": NAMES[r][1], "industry_code": ind,
        "industry_name_ko": INDUSTRIES[ind][0], "industry_name_en": INDUSTRIES[ind][1],
        "programme_group": GROUPS[ind][0], "programme_group_ko": GROUPS[ind][1]}
        for i, (c, r, ind, *_rest) in enumerate(COMPANIES, start=1)])
    stages = pd.DataFrame([{"company_id": c, "stage_code": s, "started_on": pd.Timestamp(a).date(),
                            "completed_on": pd.Timestamp(b).date() if b else None}
                           for c, rows in STAGES.items() for s, a, b in rows])
    programme = pd.DataFrame([{
        "company_id": c, "baseline_from": BASELINE[0] if has else None, "baseline_to": BASELINE[1] if has else None,
        "followup_from": FOLLOWUP[0] if has else None, "followup_to": FOLLOWUP[1] if has else None,
        "data_contribution_consent": c == "TS-COS-01",
        "delivery_cadence": "backfill" if c == BACKFILL_ONLY[0] else "daily"} for c, _, _, has, _, _ in COMPANIES])

    lots, oee, energy = [], [], []
    for company, _, industry, _, baseline_days, has_energy in COMPANIES:
        days = _days(BASELINE)[:baseline_days] + _days(FOLLOWUP)
        for day in days:
            after = day >= FOLLOWUP[0]
            for equipment in ("EQ-1", "EQ-2"):
                planned = 16.0
                run = planned * (0.88 if after else 0.78) + rng.normal(0, 0.6)
                units_day, good_day = 0.0, 0.0
                for n in range(3):
                    hours = run / 3 * float(rng.uniform(0.97, 1.0))
                    rate = (110 if after else 95) * rng.uniform(0.85, 1.0)
                    quantity = float(round(rate * hours))
                    defects = float(rng.binomial(int(quantity), 0.015 if after else 0.04))
                    start = _utc(day, 6 + 4 * n)
                    lots.append({"company_id": company, "equipment_id": equipment, "production_date_kst": day,
                                 "start_ts_utc": start, "end_ts_utc": start + pd.Timedelta(hours=hours),
                                 "quantity": quantity, "defect_quantity": defects,
                                 "good_quantity": quantity - defects})
                    units_day += quantity
                    good_day += quantity - defects
                oee.append({"company_id": company, "equipment_id": equipment, "date_kst": day,
                            "planned_hours": planned, "run_hours": run, "units_produced": units_day,
                            "good_units": good_day})
            if has_energy:
                energy.append({"company_id": company, "date_kst": day,
                               "energy_kwh": float(rng.normal(900 if after else 1100, 40))})
    lots, oee, energy = pd.DataFrame(lots), pd.DataFrame(oee), pd.DataFrame(energy)
    # an untimed lot (no end): counts for units and defects, not for hours
    lots.loc[0, "end_ts_utc"] = pd.NaT

    landings = []
    for company, *_ in COMPANIES:
        for dataset in DATASETS:
            for day in _days((date(2026, 10, 26), AS_OF)):
                if (company, dataset) == DATA_STOPS[:2] and day >= DATA_STOPS[2]:
                    continue
                if (company, dataset) == BACKFILL_ONLY[:2] and day >= BACKFILL_ONLY[2]:
                    continue
                landings.append({"company_id": company, "dataset": dataset, "status": "ingested",
                                 "rows_landed": int(rng.integers(10, 500)), "rows_rejected": 0,
                                 "file_modified_at": _utc(day, 1.5)})
    landings = pd.DataFrame(landings)
    landings.loc[3, "status"] = "quarantined"  # a quarantined file is not collected data
    freshness = pd.DataFrame([{"company_id": c, "dataset": d, "rows": 0 if (c, d) == EMPTY_DATASET else 100}
                              for c, *_ in COMPANIES for d in DATASETS])

    scores = []
    for company, *_ in COMPANIES:
        for day in _days((date(2026, 11, 1), AS_OF)):
            for dataset in DATASETS[:2]:
                base = 97.0 + rng.normal(0, 0.8)
                if company == QUALITY_DROPS[0] and day >= QUALITY_DROPS[1]:
                    base -= 20
                scores.append({"company_id": company, "dataset": dataset, "day_kst": day, "dimension": "overall",
                               "score": base})
                scores.append({"company_id": company, "dataset": dataset, "day_kst": day,
                               "dimension": "completeness", "score": 50.0})
    scores = pd.DataFrame(scores)
    models = pd.DataFrame([
        {"company_id": "TS-COS-01", "trained_at_utc": pd.Timestamp("2026-10-01 03:00", tz="UTC"), "demonstrable": True},
        {"company_id": "TS-FOD-04", "trained_at_utc": pd.Timestamp("2026-11-10 03:00", tz="UTC"), "demonstrable": False}])
    # the shape the AI stage publishes (orchestration/ml/scoring.py drift_flags): one row per company,
    # model version and kind; a kind no longer flagged stays as a row with flagged = false
    drift = pd.DataFrame([
        {"company_id": DRIFT[0], "model_version": "3", "kind": "feature_drift", "flagged": True,
         "since_date_kst": DRIFT[1], "value": 0.31, "limit": 0.25, "detail": "TEMP_mean PSI 0.31"},
        {"company_id": DRIFT[0], "model_version": "3", "kind": "performance", "flagged": False,
         "since_date_kst": None, "value": 0.4, "limit": 0.2, "detail": "on-site PR-AUC"},
        {"company_id": "TS-FOD-04", "model_version": "1", "kind": "performance", "flagged": False,
         "since_date_kst": None, "value": 0.4, "limit": 0.2, "detail": "on-site PR-AUC"}])
    return KpiFixture(companies, stages, programme, lots, oee, energy, landings, freshness, scores, models, drift,
                      counts={"sensor_readings": 1000, "quality_inspections": 200, "equipment_events": 50})


def write_warehouse(fixture: KpiFixture, path: Path) -> None:
    """The tables the KPI marts read, in their warehouse schemas, in the DuckLake in folder `path`
    (one transaction)."""
    from orchestration.warehouse.ducklake import Warehouse

    with Warehouse.in_folder(path).transaction("tests: KPI fixture") as tx:
        con = tx.con
        con.execute("set TimeZone = 'UTC'")
        for schema in ("main", "staging", "quality", "ml"):
            con.execute(f"create schema if not exists {schema}")

        def table(name: str, frame: pd.DataFrame, select: str = "*") -> None:
            con.register("_frame", frame)
            con.execute(f"create or replace table {name} as select {select} from _frame")
            con.unregister("_frame")

        table("main.dim_company", fixture.companies)
        table("main.dim_region", pd.DataFrame([{"region_code": k, "name_ko": v[0], "name_en": v[1]}
                                               for k, v in NAMES.items()]))
        table("main.dim_industry", pd.DataFrame([{"industry_code": k, "name_ko": v[0], "name_en": v[1],
                                                  "programme_group": GROUPS[k][0], "programme_group_ko": GROUPS[k][1],
                                                  "programme_group_en": GROUPS[k][2]}
                                                 for k, v in INDUSTRIES.items()]))
        table("staging.stg_support_stages", fixture.stages,
              "company_id, stage_code, cast(started_on as date) as started_on, cast(completed_on as date) as completed_on")
        table("staging.stg_company_programme", fixture.programme,
              "company_id, cast(baseline_from as date) as baseline_from, cast(baseline_to as date) as baseline_to, "
              "cast(followup_from as date) as followup_from, cast(followup_to as date) as followup_to, "
              "data_contribution_consent, delivery_cadence")
        table("main.fct_production_lots", fixture.lots,
              "company_id, equipment_id, cast(production_date_kst as date) as production_date_kst, "
              "start_ts_utc::timestamptz as start_ts_utc, end_ts_utc::timestamptz as end_ts_utc, quantity, "
              "defect_quantity, good_quantity")
        table("main.mart_oee_daily", fixture.oee, "company_id, equipment_id, cast(date_kst as date) as date_kst, "
              "planned_hours, run_hours, units_produced, good_units")
        table("main.fct_energy_daily", fixture.energy, "company_id, cast(date_kst as date) as date_kst, energy_kwh")
        table("main.fct_landing_files", fixture.landings,
              "company_id, dataset, status, rows_landed, rows_rejected, file_modified_at::timestamptz as file_modified_at")
        table("main.mart_company_data_freshness", fixture.freshness)
        table("quality.dq_latest", fixture.scores, "company_id, dataset, cast(day_kst as date) as day_kst, dimension, score")
        table("ml.model_results", fixture.models, "company_id, trained_at_utc::timestamptz as trained_at_utc, demonstrable")
        table("ml.drift_flags", fixture.drift, "company_id, model_version, kind, flagged, "
              "cast(since_date_kst as date) as since_date_kst, value, \"limit\", detail")
        ids = fixture.companies[["company_id"]]
        for fact, n in (("fct_sensor_readings", fixture.counts["sensor_readings"]),
                        ("fct_quality_inspections", fixture.counts["quality_inspections"]),
                        ("fct_equipment_events", fixture.counts["equipment_events"])):
            con.register("_ids", ids)
            extra = {"fct_sensor_readings": ", timestamptz '2026-11-01 00:00:00+00' + to_seconds(i) as reading_ts_utc",
                     "fct_quality_inspections": ", i % 10 = 0 as is_defect", "fct_equipment_events": ""}[fact]
            con.execute(f"create or replace table main.{fact} as select company_id{extra} "
                        f"from _ids cross join range({n}) as r(i)")
            con.unregister("_ids")


PROGRAMME = ["kpi_definitions", "kpi_targets", "support_stages", "tag:programme_kpis"]


def build_kpis(warehouse: Path, as_of, *, target: Path) -> None:
    """dbt build of the KPI marts (and the seeds they read) on the DuckLake in folder `warehouse`,
    measured on `as_of`, then published."""
    from orchestration.warehouse.build import dbt_environment, run_dbt
    from orchestration.warehouse.ducklake import Warehouse
    from orchestration.warehouse.environment import environment

    lake = Warehouse.in_folder(warehouse)
    with environment(**dbt_environment(lake, Path(warehouse) / "bronze")):
        run_dbt(["build", "--select", *PROGRAMME, "--vars", json.dumps({"kpi_as_of_date": str(as_of)})],
                target_path=target)
    con = lake.connect_writer()
    try:
        lake.publish(con, "tests: KPI build")
    finally:
        con.close()
