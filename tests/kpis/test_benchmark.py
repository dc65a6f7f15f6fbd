"""Regional benchmark: a company against its industry's median, naming no other company, with
every aggregate built from fewer than 3 companies suppressed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def test_industry_median_is_shown_only_from_three_companies(kpis):
    fixture, con = kpis
    bench = con.execute("select * from kpi.company_benchmark").df()
    industry = fixture.companies.set_index("company_id").programme_group
    lots = fixture.lots.assign(industry=lambda f: f.company_id.map(industry))
    # independent: each company's defect rate over its latest 30 days of lots
    values = {}
    for company, g in lots.groupby("company_id"):
        last = g.production_date_kst.max()
        recent = g[g.production_date_kst > last - pd.Timedelta(days=30)]
        values[company] = recent.defect_quantity.sum() / recent.quantity.sum()
    rates = bench[bench.measure_code == "defect_rate"].set_index("company_id")
    for company, value in values.items():
        assert rates.loc[company, "company_value"] == pytest.approx(value)
    food = [c for c in values if industry[c] == "convergence_bio"]
    assert len(food) == 3
    for company in food:
        assert not rates.loc[company, "suppressed"] and rates.loc[company, "industry_companies"] == 3
        assert rates.loc[company, "industry_median"] == pytest.approx(np.median([values[c] for c in food]))
    for company in ("TS-COS-01", "TS-BAT-02"):  # alone in their industry
        assert rates.loc[company, "suppressed"] and pd.isna(rates.loc[company, "industry_median"])
        assert rates.loc[company, "industry_companies"] == 1 and "3개사 미만" in rates.loc[company, "suppressed_reason_ko"]


def test_two_companies_are_still_too_few(kpis):
    """Only two food companies send energy data: their energy median is hidden even though the
    industry has three companies (the rule counts the companies behind the aggregate)."""
    _, con = kpis
    energy = con.execute("select * from kpi.company_benchmark where measure_code = 'energy_kwh_per_unit' "
                         "and industry_code = 'convergence_bio'").df()
    assert len(energy) == 3
    assert set(energy.industry_companies) == {2}
    assert energy.suppressed.all() and energy.industry_median.isna().all()


def test_no_other_company_is_named(kpis):
    fixture, con = kpis
    bench = con.execute("select * from kpi.company_benchmark").df()
    names = dict(zip(fixture.companies.company_id, fixture.companies.name_ko))
    for company, rows in bench.groupby("company_id"):
        text = " ".join(str(v) for v in rows.drop(columns=["company_id", "name_ko"]).to_numpy().ravel())
        for other, name in names.items():
            if other != company:
                assert other not in text and name not in text
        assert set(rows.name_ko) == {names[company]}
