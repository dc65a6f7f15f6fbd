"""The programme KPI dashboard: one offline HTML page for programme officers (not engineers)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import jinja2
import plotly.express as px
import plotly.io as pio

KST = timezone(timedelta(hours=9))

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
)


def render_kpi_dashboard(con: duckdb.DuckDBPyConnection, out_path: Path) -> Path:
    onboarded = con.execute("select * from kpi.companies_onboarded").df()
    volume = con.execute("select * from kpi.company_data_volume").df()
    defects = con.execute("select * from kpi.company_defect_rate").df()

    by_region = onboarded.groupby("region_name_ko", as_index=False)["companies"].sum()
    charts = [
        px.bar(onboarded, x="region_name_ko", y="companies", color="industry_name_ko",
               title="지역·업종별 참여기업 수 (companies onboarded by region and industry)",
               labels={"region_name_ko": "지역", "companies": "기업 수", "industry_name_ko": "업종"}),
        px.bar(volume, x="name_ko", y="rows_collected",
               title="기업별 수집 데이터 건수 (rows collected per company)",
               labels={"name_ko": "기업", "rows_collected": "수집 건수"}),
        px.bar(defects.assign(pct=defects["inspection_defect_rate"] * 100), x="name_ko", y="pct",
               title="기업별 검사 불량률 (inspection defect rate, %)",
               labels={"name_ko": "기업", "pct": "불량률 (%)"}),
    ]
    chart_html = [
        pio.to_html(fig, full_html=False, include_plotlyjs=(index == 0), default_width="100%")
        for index, fig in enumerate(charts)
    ]
    total_inspections = int(defects["inspections"].sum())
    html = _templates.get_template("kpi_dashboard.html.j2").render(
        generated_at=datetime.now(KST).strftime("%Y-%m-%d %H:%M KST"),
        companies=int(onboarded["companies"].sum()),
        regions=len(by_region),
        industries=onboarded["industry_code"].nunique(),
        rows_collected=int(volume["rows_collected"].sum()),
        defect_rate=(defects["failed_inspections"].sum() / total_inspections) if total_inspections else None,
        charts=chart_html,
        volume=volume.to_dict("records"),
        defects=defects.to_dict("records"),
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(html, encoding="utf-8")
    return out_path
