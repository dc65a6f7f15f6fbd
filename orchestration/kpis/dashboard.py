"""The programme officers' dashboard (사업 성과 대시보드): one offline HTML page from the KPI marts.

Korean first with English labels: headline KPIs against the year's targets with progress,
charts by region, industry and support stage, the before/after outcomes with their periods,
the post-management watch list, the regional benchmark, and links to each company's quality
and AI demonstration reports. plotly.js is the reports' shared copy (../assets/).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import jinja2
import pandas as pd
import plotly.graph_objects as go

from orchestration.kpis.marts import PERCENT_MEASURES, KpiMarts, format_value, read_kpi_marts
from orchestration.reports.plotly_script import chart_html, plotly_script_tag

KST = timezone(timedelta(hours=9))
STATUS_NAMES = {"improved": "개선 (improved)", "worsened": "악화 (worsened)",
                "no_clear_change": "뚜렷한 변화 없음 (no clear change)", "insufficient_data": "데이터 부족 (insufficient data)",
                "open": "진행 중 (open)", "resolved": "해소 (resolved)"}

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
)


def render_kpi_dashboard(con: duckdb.DuckDBPyConnection, out_path: Path, *, reports_root: Path | None = None) -> Path:
    """Write the dashboard from the `kpi` marts; reports live at `<reports_root>/<kind>/<page>.html`
    (default: the folder above the dashboard's)."""
    out_path = Path(out_path)
    reports_root = Path(reports_root or out_path.parent.parent)
    marts = read_kpi_marts(con)
    html = _templates.get_template("kpi_dashboard.html.j2").render(
        generated_at=datetime.now(KST).strftime("%Y-%m-%d %H:%M KST"),
        year=marts.year,
        as_of=marts.as_of.strftime("%Y-%m-%d"),
        plotly_script=plotly_script_tag(out_path, reports_root),
        headline=[_headline_card(r) for r in marts.headline().itertuples()],
        charts=[chart_html(fig) for fig in charts(marts)],
        outcomes=[_outcome_row(r) for r in marts.outcomes.itertuples()],
        watch_list=[_watch_row(r) for r in marts.watch_list.itertuples()],
        benchmark=[_benchmark_row(r) for r in marts.benchmark.itertuples()],
        companies=_company_links(marts, out_path, reports_root),
        definitions=marts.definitions.to_dict("records"),
        status_names=STATUS_NAMES,
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(html, encoding="utf-8")
    return out_path


# --------------------------------------------------------------------------- rows


def _headline_card(r) -> dict:
    progress = None if pd.isna(r.progress) else float(r.progress)
    return {"code": r.kpi_code, "name_ko": r.kpi_name_ko, "name_en": r.kpi_name_en, "unit": r.unit,
            "value": format_value(r.kpi_code, r.actual),
            "target": None if pd.isna(r.target) else format_value(r.kpi_code, r.target),
            "progress_pct": None if progress is None else round(progress * 100),
            "bar_pct": None if progress is None else min(100, round(progress * 100)),
            "note": None if pd.isna(r.note_ko) else r.note_ko}


def _period(start, end) -> str:
    return "–" if pd.isna(start) else f"{start:%Y-%m-%d} ~ {end:%Y-%m-%d}"


def _outcome_row(r) -> dict:
    def side(value, days, lots):
        return f"{format_value(r.measure_code, value)} ({days}일, {lots} LOT)"

    def delta(value) -> str:  # rates change by percentage points
        return f"{value * 100:+.2f}%p" if r.measure_code in PERCENT_MEASURES else f"{value:+,.3g}"

    if r.status == "insufficient_data":
        change = r.insufficient_reason_ko
    else:
        relative = "" if pd.isna(r.change_ratio) else f" (기준 대비 {r.change_ratio * 100:+.1f}%)"
        change = f"{delta(r.change)} [95% 구간 {delta(r.change_ci_low)} ~ {delta(r.change_ci_high)}]{relative}"
    return {"company_id": r.company_id, "name_ko": r.name_ko, "measure": f"{r.measure_name_ko}",
            "measure_en": r.measure_name_en, "baseline_period": _period(r.baseline_from, r.baseline_to),
            "baseline": side(r.baseline_value, r.baseline_days, r.baseline_lots),
            "followup_period": _period(r.followup_from, r.followup_to),
            "followup": side(r.followup_value, r.followup_days, r.followup_lots),
            "change": change, "status": r.status}


def _watch_row(r) -> dict:
    return {"company_id": r.company_id, "name_ko": r.name_ko, "kind": f"{r.kind_name_ko} ({r.kind_name_en})",
            "dataset": "" if pd.isna(r.dataset) else r.dataset, "started_on": f"{r.started_on:%Y-%m-%d}",
            "evidence": r.evidence_ko, "action": r.suggested_action_ko, "status": r.status,
            "opened_on": f"{r.opened_on:%Y-%m-%d}",
            "resolved_on": "" if pd.isna(r.resolved_on) else f"{r.resolved_on:%Y-%m-%d}"}


def _benchmark_row(r) -> dict:
    median = (f"비공개: {r.suppressed_reason_ko}" if r.suppressed
              else f"{format_value(r.measure_code, r.industry_median)} ({r.industry_companies}개사 중앙값)")
    return {"company_id": r.company_id, "name_ko": r.name_ko, "industry": r.industry_name_ko,
            "measure": r.measure_name_ko, "value": format_value(r.measure_code, r.company_value),
            "days": r.company_days, "median": median, "suppressed": bool(r.suppressed)}


def _company_links(marts: KpiMarts, page: Path, reports_root: Path) -> list[dict]:
    import os

    links = []
    for r in marts.volume.itertuples():
        row = {"company_id": r.company_id, "name_ko": r.name_ko, "rows": f"{r.rows_collected:,}"}
        for kind in ("quality", "ai"):
            report = reports_root / kind / f"{r.company_id}.html"
            row[kind] = Path(os.path.relpath(report, page.parent)).as_posix() if report.exists() else None
        links.append(row)
    return links


# --------------------------------------------------------------------------- charts


def charts(marts: KpiMarts) -> list[go.Figure]:
    head = marts.headline()
    with_target = head[head.target.notna() & (head.target > 0)]
    progress = go.Figure(go.Bar(
        x=(with_target.progress * 100).round(1), y=with_target.kpi_name_ko, orientation="h",
        text=[f"{format_value(c, a)} / {format_value(c, t)}" for c, a, t in
              zip(with_target.kpi_code, with_target.actual, with_target.target)],
        marker_color=["#2f855a" if p >= 1 else "#3182ce" for p in with_target.progress]))
    progress.update_layout(title=f"{marts.year}년 목표 대비 달성률 (progress against the {marts.year} targets, %)",
                           xaxis_title="달성률 (%)", yaxis={"autorange": "reversed"},
                           xaxis={"range": [0, max([110.0, *(with_target.progress * 105)])]})

    def versus_target(kind: str, title: str) -> go.Figure:
        rows = marts.breakdown(kind)
        figure = go.Figure([go.Bar(name="실적 (actual)", x=rows.breakdown_name_ko, y=rows.actual),
                            go.Bar(name="목표 (target)", x=rows.breakdown_name_ko, y=rows.target)])
        figure.update_layout(title=title, barmode="group", yaxis_title="기업 수 (companies)")
        return figure

    funnel = go.Figure(go.Funnel(y=[f"{s} ({e})" for s, e in zip(marts.funnel.stage_name_ko, marts.funnel.stage_name_en)],
                                 x=marts.funnel.companies_reached, textinfo="value+percent initial"))
    funnel.update_layout(title="지원 단계별 기업 수 (companies per support stage)")

    shown = marts.outcomes[(marts.outcomes.measure_code == "oee") & (marts.outcomes.status != "insufficient_data")]
    oee = go.Figure([go.Bar(name="기준기간 (baseline)", x=shown.name_ko, y=shown.baseline_value * 100),
                     go.Bar(name="사후기간 (follow-up)", x=shown.name_ko, y=shown.followup_value * 100)])
    oee.update_layout(title="도입 전후 설비종합효율 OEE (before vs after, %)" +
                      ("" if len(shown) else " - 비교 가능한 기업 없음 (no company with enough data)"),
                      barmode="group", yaxis_title="OEE (%)")

    volume = go.Figure(go.Bar(x=marts.volume.name_ko, y=marts.volume.rows_collected))
    volume.update_layout(title="기업별 수집 데이터 건수 (rows collected per company)", yaxis_title="건 (rows)")
    return [progress,
            versus_target("region", f"시·군별 지원기업 수 대 목표 ({marts.year}, companies supported per city/county)"),
            versus_target("industry", f"업종별 지원기업 수 대 목표 ({marts.year}, companies supported per industry)"),
            funnel, oee, volume]
