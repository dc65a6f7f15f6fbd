"""The KPI marts (schema `kpi`) as officers' reports read them: one read, shared by the
dashboard and the workbook, so both always show the same numbers."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd


@dataclass(frozen=True)
class KpiMarts:
    year: int  # the programme year shown: the latest measured one
    as_of: pd.Timestamp
    outputs: pd.DataFrame  # kpi.programme_outputs of `year`
    funnel: pd.DataFrame
    outcomes: pd.DataFrame
    watch_list: pd.DataFrame
    benchmark: pd.DataFrame
    onboarded: pd.DataFrame
    volume: pd.DataFrame
    definitions: pd.DataFrame

    def headline(self) -> pd.DataFrame:
        """The programme totals of the year, one row per output KPI, in display order."""
        return self.outputs[self.outputs.breakdown == "total"].sort_values("display_order").reset_index(drop=True)

    def breakdown(self, kind: str) -> pd.DataFrame:
        """Companies supported per region or industry, with their targets."""
        rows = self.outputs[(self.outputs.kpi_code == "companies_supported") & (self.outputs.breakdown == kind)]
        return rows.sort_values("breakdown_code").reset_index(drop=True)


def read_kpi_marts(con: duckdb.DuckDBPyConnection) -> KpiMarts:
    def frame(sql: str) -> pd.DataFrame:
        return con.execute(sql).df()

    outputs = frame("select * from kpi.programme_outputs")
    year = int(outputs.programme_year.max())
    return KpiMarts(
        year=year,
        as_of=pd.Timestamp(frame("select as_of_date from kpi.support_funnel limit 1").iloc[0, 0]),
        outputs=outputs[outputs.programme_year == year].reset_index(drop=True),
        funnel=frame("select * from kpi.support_funnel order by stage_order"),
        outcomes=frame("select * from kpi.company_outcomes order by company_id, display_order"),
        watch_list=frame("select * from kpi.watch_list order by status, started_on desc, company_id"),
        benchmark=frame("select * from kpi.company_benchmark order by company_id, display_order"),
        onboarded=frame("select * from kpi.companies_onboarded order by region_code, industry_code"),
        volume=frame("select * from kpi.company_data_volume order by company_id"),
        definitions=frame("select * from reference.kpi_definitions order by display_order"),
    )


PERCENT_MEASURES = {"defect_rate", "availability", "effectiveness", "quality_ratio", "oee"}


def format_value(code: str, value) -> str:
    """A KPI or outcome value as officers read it: rates in %, counts with thousands separators."""
    if value is None or pd.isna(value):
        return "–"
    if code in PERCENT_MEASURES:
        return f"{value * 100:.1f}%"
    if code == "avg_quality_score":
        return f"{value:.1f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.1f}"
