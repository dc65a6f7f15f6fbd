"""Every programme KPI mart against numbers computed here, with pandas, from the generated
fixture's own frames (tests/kpis/kpi_fixture.py) - never by running the marts' SQL."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from kpi_fixture import AS_OF, BASELINE, DATASETS, FOLLOWUP

MIN_DAYS = 5


def rows(con, sql: str, *params) -> pd.DataFrame:
    return con.execute(sql, list(params)).df()


# --------------------------------------------------------------------------- outputs vs targets


def supported(fixture, year: int) -> set[str]:
    start, end = date(year, 1, 1), min(date(year, 12, 31), AS_OF)
    s = fixture.stages
    return set(s[(s.started_on <= end) & (s.completed_on.isna() | (s.completed_on >= start))].company_id)


def test_companies_supported_per_year_region_and_industry_against_targets(kpis):
    fixture, con = kpis
    out = rows(con, "select * from kpi.programme_outputs where kpi_code = 'companies_supported'")
    targets = pd.read_csv("dbt_project/seeds/kpi_targets.csv").fillna({"breakdown_code": ""})
    assert sorted(out.programme_year.unique()) == [2025, 2026]  # 2027 has not begun on the KPI day
    for year in (2025, 2026):
        ids = supported(fixture, year)
        companies = fixture.companies.set_index("company_id")
        expected = {("total", ""): len(ids)}
        for region in ("cheongju", "chungju", "jincheon", "eumseong"):
            expected[("region", region)] = sum(companies.loc[c, "region_code"] == region for c in ids)
        for group in set(companies.programme_group) | {"semiconductor", "future_mobility"}:
            expected[("industry", group)] = sum(companies.loc[c, "programme_group"] == group for c in ids)
        got = out[out.programme_year == year]
        assert {(r.breakdown, r.breakdown_code): r.actual for r in got.itertuples()} == expected
        for r in got.itertuples():
            t = targets[(targets.programme_year == year) & (targets.kpi_code == "companies_supported")
                        & (targets.breakdown == r.breakdown) & (targets.breakdown_code == r.breakdown_code)]
            if t.empty:
                assert pd.isna(r.target)
            else:
                assert r.target == t.target.iloc[0]
                assert (pd.isna(r.progress) if r.target == 0 else r.progress == pytest.approx(r.actual / r.target))
    assert supported(fixture, 2026) == {"TS-COS-01", "TS-BAT-02", "TS-FOD-03", "TS-FOD-04"}


def test_data_and_ai_outputs_match_the_fixture(kpis):
    fixture, con = kpis
    got = rows(con, "select kpi_code, actual, note_ko, note_en from kpi.programme_outputs "
                    "where programme_year = 2026 and breakdown = 'total'").set_index("kpi_code")
    files = fixture.landings[fixture.landings.status.isin(["ingested", "partial"])]
    files = files[files.file_modified_at.dt.tz_convert("Asia/Seoul").dt.date <= AS_OF]
    collected = set(zip(files.company_id, files.dataset))
    fresh = fixture.freshness[fixture.freshness.rows > 0]
    standard = collected & set(zip(fresh.company_id, fresh.dataset))
    scores = fixture.scores[(fixture.scores.dimension == "overall")]
    assert got.loc["datasets_collected", "actual"] == len(collected) == 5 * len(DATASETS)
    assert got.loc["datasets_standardised", "actual"] == len(standard) == len(collected) - 1
    assert got.loc["data_volume_rows", "actual"] == files.rows_landed.sum()
    assert got.loc["avg_quality_score", "actual"] == pytest.approx(scores.score.mean())
    assert got.loc["ai_solutions_developed", "actual"] == 2
    assert got.loc["ai_solutions_demonstrated", "actual"] == 1
    assert got.loc["datasets_published", "actual"] == 0
    assert "contrib.published_datasets" in got.loc["datasets_published", "note_en"]
    assert pd.isna(got.loc["ai_solutions_developed", "note_en"])


def test_support_funnel_counts_and_dates(kpis):
    fixture, con = kpis
    funnel = rows(con, "select * from kpi.support_funnel order by stage_order")
    assert list(funnel.stage_code) == ["consulting", "collection", "quality", "ai_development", "demonstration",
                                       "post_management"]
    s = fixture.stages[fixture.stages.started_on <= AS_OF]
    for r in funnel.itertuples():
        mine = s[s.stage_code == r.stage_code]
        done = mine[mine.completed_on.notna() & (mine.completed_on <= AS_OF)]
        assert r.companies_reached == mine.company_id.nunique()
        assert r.companies_completed == done.company_id.nunique()
        assert r.companies_in_stage == r.companies_reached - r.companies_completed
        assert r.first_started_on.date() == mine.started_on.min()
        assert r.last_started_on.date() == mine.started_on.max()
        durations = [(b - a).days for a, b in zip(done.started_on, done.completed_on)]
        assert (pd.isna(r.median_days_in_stage) if not durations
                else r.median_days_in_stage == pytest.approx(float(np.median(durations))))
    # a funnel narrows
    assert list(funnel.companies_reached) == sorted(funnel.companies_reached, reverse=True)


def test_volume_and_defect_rate_per_company(kpis):
    fixture, con = kpis
    volume = rows(con, "select * from kpi.company_data_volume").set_index("company_id")
    defects = rows(con, "select * from kpi.company_defect_rate").set_index("company_id")
    for company, lots in fixture.lots.groupby("company_id"):
        assert volume.loc[company, "production_lots"] == len(lots)
        assert volume.loc[company, "rows_collected"] == len(lots) + sum(fixture.counts.values())
        assert defects.loc[company, "unit_defect_rate"] == pytest.approx(lots.defect_quantity.sum() / lots.quantity.sum())
        assert defects.loc[company, "inspection_defect_rate"] == pytest.approx(0.1)


# --------------------------------------------------------------------------- outcomes before vs after


def period_of(day: date, company: str, fixture) -> str | None:
    p = fixture.programme.set_index("company_id").loc[company]
    if p.baseline_from is None or pd.isna(p.baseline_from):
        return None
    if p.baseline_from <= day <= p.baseline_to:
        return "baseline"
    if p.followup_from <= day <= p.followup_to:
        return "followup"
    return None


def expected_daily(fixture) -> pd.DataFrame:
    """Per company, day and measure: numerator, denominator, daily value - from the fixture frames."""
    lots = fixture.lots.copy()
    lots["hours"] = (lots.end_ts_utc - lots.start_ts_utc).dt.total_seconds() / 3600
    lots["period"] = [period_of(d, c, fixture) for d, c in zip(lots.production_date_kst, lots.company_id)]
    # PRU per equipment: 1 / the best lot rate of the baseline period
    base = lots[(lots.period == "baseline") & (lots.hours > 0)]
    pru = (1 / (base.quantity / base.hours).groupby([base.company_id, base.equipment_id]).max()).rename("pru")
    out = []
    for (company, day), g in lots.groupby(["company_id", "production_date_kst"]):
        period = period_of(day, company, fixture)
        timed = g[g.hours.notna()]
        energy = fixture.energy[(fixture.energy.company_id == company) & (fixture.energy.date_kst == day)]
        n = len(g)
        items = {"productivity_units_per_hour": (timed.quantity.sum(), timed.hours.sum()),
                 "defect_rate": (g.defect_quantity.sum(), g.quantity.sum()),
                 "lead_time_hours_per_lot": (timed.hours.sum(), len(timed))}
        if not energy.empty:
            items["energy_kwh_per_unit"] = (energy.energy_kwh.sum(), g.quantity.sum())
        oee = fixture.oee[(fixture.oee.company_id == company) & (fixture.oee.date_kst == day)]
        oee = oee.join(pru, on=["company_id", "equipment_id"], how="inner")
        if not oee.empty:
            pbt, apt = oee.planned_hours.sum(), oee.run_hours.sum()
            prt, pq, gq = (oee.pru * oee.units_produced).sum(), oee.units_produced.sum(), oee.good_units.sum()
            items.update(availability=(apt, pbt), effectiveness=(prt, apt), quality_ratio=(gq, pq))
            out.append({"company_id": company, "day": day, "period": period, "measure": "oee", "lots": n,
                        "num": np.nan, "den": np.nan, "value": apt / pbt * prt / apt * gq / pq})
        for measure, (num, den) in items.items():
            out.append({"company_id": company, "day": day, "period": period, "measure": measure, "lots": n,
                        "num": num, "den": den, "value": num / den})
    return pd.DataFrame(out)


def expected_outcomes(fixture) -> dict:
    daily = expected_daily(fixture)
    daily = daily[daily.period.notna()]
    result = {}
    for (company, measure), g in daily.groupby(["company_id", "measure"]):
        per = {}
        for period, p in g.groupby("period"):
            if measure == "oee":
                factors = daily[(daily.company_id == company) & (daily.period == period)
                                & daily.measure.isin(["availability", "effectiveness", "quality_ratio"])]
                value = np.prod([f.num.sum() / f.den.sum() for _, f in factors.groupby("measure")])
            else:
                value = p.num.sum() / p.den.sum()
            per[period] = {"value": value, "days": len(p), "lots": int(p.lots.sum()), "var": p.value.var(ddof=1)}
        result[(company, measure)] = per
    return result


def test_outcomes_before_vs_after_with_periods_counts_and_intervals(kpis):
    fixture, con = kpis
    got = rows(con, "select * from kpi.company_outcomes")
    expected = expected_outcomes(fixture)
    better = {"defect_rate": "lower", "energy_kwh_per_unit": "lower", "lead_time_hours_per_lot": "lower"}
    checked = 0
    for r in got.itertuples():
        per = expected.get((r.company_id, r.measure_code), {})
        b, f = per.get("baseline"), per.get("followup")
        assert r.baseline_days == (b["days"] if b else 0), (r.company_id, r.measure_code)
        assert r.followup_days == (f["days"] if f else 0)
        assert r.baseline_lots == (b["lots"] if b else 0)
        assert r.followup_lots == (f["lots"] if f else 0)
        if b:
            assert r.baseline_value == pytest.approx(b["value"], rel=1e-6, abs=1e-9)
        if f:
            assert r.followup_value == pytest.approx(f["value"], rel=1e-6, abs=1e-9)
        if not b or not f or b["days"] < MIN_DAYS or f["days"] < MIN_DAYS:
            assert r.status == "insufficient_data" and pd.isna(r.change) and pd.isna(r.change_ci_low)
            assert r.insufficient_reason_ko and r.insufficient_reason_en
            continue
        change = f["value"] - b["value"]
        half = 1.96 * math.sqrt(b["var"] / b["days"] + f["var"] / f["days"])
        assert r.change == pytest.approx(change, rel=1e-6, abs=1e-9)
        assert r.change_ratio == pytest.approx(change / b["value"], rel=1e-6, abs=1e-9)
        assert (r.change_ci_low, r.change_ci_high) == (pytest.approx(change - half, rel=1e-6, abs=1e-9),
                                                       pytest.approx(change + half, rel=1e-6, abs=1e-9))
        sign = 1 if better.get(r.measure_code, "higher") == "higher" else -1
        status = ("improved" if sign * (change - sign * half) > 0 and (change - half > 0 or change + half < 0)
                  else "worsened" if (change - half > 0 or change + half < 0) else "no_clear_change")
        assert r.status == status, (r.company_id, r.measure_code)
        assert r.baseline_from.date() == BASELINE[0] and r.followup_to.date() == FOLLOWUP[1]
        checked += 1
    assert checked >= 16
    # the fixture's follow-up is better: OEE and its factors, defect rate and productivity improved
    cos = got[got.company_id == "TS-COS-01"].set_index("measure_code")
    for measure in ("oee", "availability", "effectiveness", "defect_rate", "productivity_units_per_hour",
                    "energy_kwh_per_unit"):
        assert cos.loc[measure, "status"] == "improved", measure
    assert cos.loc["oee", "baseline_value"] == pytest.approx(
        cos.loc["availability", "baseline_value"] * cos.loc["effectiveness", "baseline_value"]
        * cos.loc["quality_ratio", "baseline_value"])


def test_outcomes_say_why_data_is_insufficient(kpis):
    _, con = kpis
    got = rows(con, "select * from kpi.company_outcomes").set_index(["company_id", "measure_code"])
    few = got.loc[("TS-BAT-02", "defect_rate")]
    assert few.status == "insufficient_data" and few.baseline_days == 3 and few.followup_days == 20
    assert "기준기간 3일" in few.insufficient_reason_ko and "3 baseline day(s)" in few.insufficient_reason_en
    none = got.loc[("TS-FOD-03", "oee")]
    assert none.status == "insufficient_data" and pd.isna(none.baseline_from)
    assert "registry" in none.insufficient_reason_en
    no_energy = got.loc[("TS-FOD-05", "energy_kwh_per_unit")]
    assert no_energy.status == "insufficient_data" and no_energy.baseline_days == 0
