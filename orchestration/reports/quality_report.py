"""The per-company data quality report (데이터 품질 보고서): one self-contained offline HTML file.

Read by the company and the center's consultants: what data the company sends, how good it is
per dimension and day, the worst problems with concrete time ranges (KST), equipment and tags,
and what to change in the collection environment. plotly.js is not embedded: every report page
loads the one shared copy under `<reports root>/assets/` by a relative path (no CDN, no server),
so the reports folder opens from a USB stick on a shop-floor PC.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import jinja2
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from orchestration.quality.config import DIMENSIONS, QualityConfig, load_quality_config
from orchestration.reports.plotly_script import chart_html, plotly_script_tag

KST = timezone(timedelta(hours=9))

DIMENSION_NAMES = {
    "completeness": "완전성 (completeness)",
    "validity": "유효성 (validity)",
    "uniqueness": "유일성 (uniqueness)",
    "consistency": "일관성 (consistency)",
    "timeliness": "적시성 (timeliness)",
    "overall": "종합 (overall)",
}
DATASET_NAMES = {
    "sensor_readings": "센서 데이터 (sensor readings)",
    "production_lots": "생산 LOT (production lots)",
    "quality_inspections": "품질검사 (quality inspections)",
    "equipment_events": "설비 이벤트 (equipment events)",
}
ISSUE_NAMES = {
    "gap": "수집 공백 (gap)", "missing_values": "값 누락 (missing values)", "stuck": "값 고정 (stuck)",
    "spike": "급격한 튐 (spike)", "out_of_range": "범위 이탈 (out of range)", "duplicate": "중복 (duplicate)",
    "late_file": "지연 도착 (late file)", "rejected_rows": "수집 거부 (rejected rows)",
    "unit_mismatch": "단위 불일치 (unit mismatch)", "orphan_inspection": "LOT 미연결 검사 (orphan inspection)",
    "stale_data": "데이터 중단 (stale data)",
}

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
)


def render_quality_report(con: duckdb.DuckDBPyConnection, company_id: str, out_path: Path, *,
                          config: QualityConfig | None = None) -> Path:
    """Write the company's report from the warehouse (`quality.*` filled by the inspection)."""
    config = config or load_quality_config(company_id)
    con.execute("set TimeZone = 'UTC'")
    company = _company(con, company_id)
    inventory = _inventory(con, company_id)
    daily = con.execute(
        "select dataset, day_kst, dimension, expected, bad, score, measured_at from quality.dq_latest "
        "where company_id = ? and dimension <> 'overall' order by day_kst", [company_id]).df()
    issues = con.execute(
        "select * from quality.dq_issues where company_id = ? "
        "order by case severity when 'error' then 0 else 1 end, affected_rows desc", [company_id]).df()

    trend = _pooled_trend(daily, config)
    scores = _pooled_scores(daily, config)
    charts = [_score_trend_chart(trend), _issue_timeline_chart(issues), _distribution_chart(con, company_id)]
    out_path = Path(out_path)
    # reports live at <reports root>/<kind>/<page>.html; the shared plotly.js under <root>/assets
    plotly_script = plotly_script_tag(out_path, out_path.parent.parent)
    checks = {c: dict(zip(("passed", "severity"), config.check_outcome(c, scores.get(c)))) for c in scores}
    measured_at = daily.measured_at.max() if not daily.empty else None
    html = _templates.get_template("quality_report.html.j2").render(
        company=company,
        generated_at=datetime.now(KST).strftime("%Y-%m-%d %H:%M KST"),
        measured_at=_kst(measured_at) if measured_at is not None else "–",
        scores=scores,
        checks=checks,
        dimension_names=DIMENSION_NAMES,
        weights=config.weights,
        inventory=inventory,
        dataset_names=DATASET_NAMES,
        per_dataset=_per_dataset_scores(daily),
        issues=_issue_rows(issues.head(15)),
        issue_count=len(issues),
        issue_summary=issues.groupby("issue_type").size().to_dict() if not issues.empty else {},
        issue_names=ISSUE_NAMES,
        recommendations=recommendations(issues, inventory),
        charts=[chart_html(fig) for fig in charts],
        plotly_script=plotly_script,
        thresholds={c: config.threshold(c) for c in scores},
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(html, encoding="utf-8")
    return out_path


# --------------------------------------------------------------------------- data


def _company(con, company_id: str) -> dict:
    rows = con.execute("select * from main.dim_company where company_id = ?", [company_id]).df()
    if rows.empty:
        return {"company_id": company_id, "name_ko": company_id, "name_en": company_id}
    return {k: (None if pd.isna(v) else v) for k, v in rows.iloc[0].to_dict().items()}


def _inventory(con, company_id: str) -> dict:
    datasets = con.execute(
        """
        select 'sensor_readings' as dataset, count(*) as rows, min(reading_ts_utc) as first_utc, max(reading_ts_utc) as last_utc
        from main.fct_sensor_readings where company_id = $c
        union all select 'production_lots', count(*), min(start_ts_utc), max(end_ts_utc)
        from main.fct_production_lots where company_id = $c
        union all select 'quality_inspections', count(*), min(inspected_at_utc), max(inspected_at_utc)
        from main.fct_quality_inspections where company_id = $c
        union all select 'equipment_events', count(*), min(event_ts_utc), max(event_ts_utc)
        from main.fct_equipment_events where company_id = $c
        """, {"c": company_id}).df()
    sensors = con.execute(
        """
        select r.equipment_id, r.source_tag, r.tag_code, any_value(t.name_ko) as name_ko, any_value(t.name_en) as name_en,
               any_value(r.unit_raw) as unit, count(*) as rows, min(r.reading_ts_utc) as first_utc,
               max(r.reading_ts_utc) as last_utc
        from main.fct_sensor_readings r left join main.dim_tag t on t.tag_code = r.tag_code
        where r.company_id = ? group by all order by r.equipment_id, r.source_tag
        """, [company_id]).df()
    files = con.execute(
        "select count(distinct (source_file, source_hash)) as files, coalesce(sum(rows_rejected), 0) as rows_rejected "
        "from main.fct_landing_files "
        "where company_id = ?", [company_id]).fetchall()[0]
    return {
        "datasets": [
            {"dataset": r.dataset, "rows": int(r.rows), "first": _kst(r.first_utc), "last": _kst(r.last_utc)}
            for r in datasets.itertuples()
        ],
        "sensors": [
            {"sensor": f"{r.equipment_id}:{r.source_tag}", "equipment_id": r.equipment_id, "tag_code": r.tag_code,
             "tag_name": f"{r.name_ko or ''} ({r.name_en or ''})", "unit": r.unit, "rows": int(r.rows),
             "first": _kst(r.first_utc), "last": _kst(r.last_utc)}
            for r in sensors.itertuples()
        ],
        "equipment": sorted(sensors.equipment_id.dropna().unique().tolist()),
        "tags": sorted(sensors.tag_code.dropna().unique().tolist()),
        "total_rows": int(datasets.rows.sum()),
        "files": int(files[0] or 0),
        "rows_rejected": int(files[1] or 0),
        "first": _kst(datasets.first_utc.min()) if datasets.first_utc.notna().any() else "–",
        "last": _kst(datasets.last_utc.max()) if datasets.last_utc.notna().any() else "–",
    }


def _pooled_trend(daily: pd.DataFrame, config: QualityConfig) -> pd.DataFrame:
    """Per KST day and dimension, pooled over datasets: 100 x (1 - sum(bad) / sum(expected)); plus overall."""
    if daily.empty:
        return pd.DataFrame(columns=["day_kst", "dimension", "score"])
    pooled = daily.groupby(["day_kst", "dimension"], as_index=False)[["expected", "bad"]].sum()
    pooled["score"] = (100 * (1 - pooled.bad / pooled.expected.where(pooled.expected > 0))).fillna(100).clip(0, 100)
    weights = config.weights
    overall = (pooled.assign(ws=pooled.score * pooled.dimension.map(weights))
               .groupby("day_kst", as_index=False).ws.sum().rename(columns={"ws": "score"}))
    overall["dimension"] = "overall"
    return pd.concat([pooled[["day_kst", "dimension", "score"]], overall], ignore_index=True).round({"score": 2})


def _pooled_scores(daily: pd.DataFrame, config: QualityConfig) -> dict[str, float]:
    scores = {}
    for dimension in DIMENSIONS:
        rows = daily[daily.dimension == dimension]
        expected = float(rows.expected.sum())
        scores[dimension] = round(100.0 if expected <= 0 else 100.0 * max(0.0, 1 - float(rows.bad.sum()) / expected), 2)
    scores["overall"] = round(sum(config.weights[d] * scores[d] for d in DIMENSIONS), 2)
    return scores


def _per_dataset_scores(daily: pd.DataFrame) -> list[dict]:
    rows = []
    for dataset, part in daily.groupby("dataset"):
        row = {"dataset": dataset}
        for dimension in DIMENSIONS:
            d = part[part.dimension == dimension]
            expected = float(d.expected.sum())
            row[dimension] = round(100.0 if expected <= 0 else 100.0 * max(0.0, 1 - float(d.bad.sum()) / expected), 2)
        rows.append(row)
    order = list(DATASET_NAMES)
    return sorted(rows, key=lambda r: order.index(r["dataset"]) if r["dataset"] in order else 99)


def _issue_rows(issues: pd.DataFrame) -> list[dict]:
    return [
        {"issue_type": r.issue_type, "severity": r.severity, "dimension": r.dimension, "dataset": r.dataset,
         "where": ":".join(str(x) for x in (r.equipment_id, r.source_tag) if isinstance(x, str) and x) or "–",
         "tag_code": r.tag_code if isinstance(r.tag_code, str) else "–",
         "start": _kst(r.start_utc), "end": _kst(r.end_utc), "affected_rows": int(r.affected_rows or 0),
         "message_ko": r.message_ko, "message_en": r.message_en}
        for r in issues.itertuples()
    ]


def _kst(ts) -> str:
    if ts is None or (not isinstance(ts, str) and pd.isna(ts)):
        return "–"
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("Asia/Seoul").strftime("%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------- recommendations


# A gap and missing values both lose readings; only where to look for the cause differs.
_SHARE_LOST_KO = "센서 {sensor} 데이터의 {share:.1f}%가 {window} 사이에 누락 ({day} 등 {times}회): "
_SHARE_LOST_EN = "sensor {sensor} has {share:.1f}% gaps, e.g. between {window} KST on {day} ({times} times): "

# Per issue kind: what to change in the collection environment, in Korean and English. The fields
# are filled per kind and sensor: {sensor}, {n} affected rows, {times} occurrences, {window} and
# {day} (KST) of the largest occurrence, {share} of the sensor's readings lost, {example} which file
# landed late. A kind without a recommendation falls back to the inspection's own message.
RECOMMENDATIONS = {
    "gap": (_SHARE_LOST_KO + "PLC 로거·네트워크 확인 필요", _SHARE_LOST_EN + "check the PLC logger and the network"),
    "missing_values": (_SHARE_LOST_KO + "센서 배선·로거 태그 설정 확인 필요",
                       _SHARE_LOST_EN + "check the sensor wiring and the logger's tag list"),
    "stuck": ("센서 {sensor} 값이 {times}회 고정됨 (최장 {window}, {day}): 센서 고장·통신 동결 점검, 필요 시 교체",
              "sensor {sensor} froze {times} time(s) (longest {window} KST on {day}): inspect the sensor "
              "and the PLC communication, replace if needed"),
    "spike": ("센서 {sensor}에 급격한 튐 {times}회: 신호선 차폐·접지, 필터 설정 확인",
              "sensor {sensor} spiked {times} time(s): check cable shielding, grounding and filtering"),
    "out_of_range": ("센서 {sensor}에서 허용 범위 밖 값 {n}건 ({window}, {day}): 센서 교정과 매핑의 단위 확인",
                     "sensor {sensor}: {n} readings outside the plausible range ({window} KST on {day}): "
                     "calibrate the sensor and check the unit in the mapping"),
    "duplicate": ("센서 {sensor}에 같은 시각 중복 기록 {n}건: 로거 중복 저장·내보내기 범위 중복 확인",
                  "sensor {sensor}: {n} duplicate readings: check the logger for double writes and overlapping exports"),
    "late_file": ("{times}개 파일이 늦게 도착 (예: {example}): 자동 내보내기·전송 스케줄 확인",
                  "{times} file(s) landed late: check the automatic export and transfer schedule"),
    "rejected_rows": ("{n}건이 수집 단계에서 거부됨: 내보내기 형식(숫자·날짜 형식)을 통일하고 매핑 파일 확인",
                      "{n} rows were rejected at ingest: make the export's number and date formats consistent "
                      "and check the client mapping"),
    "orphan_inspection": ("생산 LOT와 연결되지 않는 검사 {n}건: MES와 검사 시스템의 LOT 번호 체계 통일",
                          "{n} inspections refer to lots missing from production: align lot numbering between MES and QC"),
    "unit_mismatch": ("센서 {sensor}의 단위·태그가 맞지 않음 ({n}건): 매핑 파일의 단위 코드 수정",
                      "sensor {sensor}: unit or tag does not fit ({n} readings): fix the unit code in the mapping"),
}


def recommendations(issues: pd.DataFrame, inventory: dict) -> list[dict]:
    """Concrete changes to the collection environment, most severe and largest first."""
    if issues.empty:
        return []
    rows_by_sensor = {s["sensor"]: s["rows"] for s in inventory["sensors"]}
    out: list[tuple[int, int, str, str]] = []
    for (kind, equipment, source_tag), part in issues.groupby(
            ["issue_type", issues.equipment_id.fillna(""), issues.source_tag.fillna("")], sort=False):
        n = int(part.affected_rows.fillna(0).sum())
        severity = 0 if (part.severity == "error").any() else 1
        biggest = part.sort_values("affected_rows", ascending=False).iloc[0]
        if kind not in RECOMMENDATIONS:
            out.append((severity, n, str(biggest.message_ko), str(biggest.message_en)))
            continue
        sensor = f"{equipment}:{source_tag}" if source_tag else (equipment or "")
        fields = {"sensor": sensor, "n": n, "times": len(part), "share": _share_lost(n, rows_by_sensor.get(sensor, 0)),
                  "window": f"{_kst(biggest.start_utc)[-5:]}–{_kst(biggest.end_utc)[-5:]}",
                  "day": _kst(biggest.start_utc)[:10], "example": _message_head(biggest.message_ko)}
        ko, en = RECOMMENDATIONS[kind]
        out.append((severity, n, ko.format(**fields), en.format(**fields)))
    out.sort(key=lambda r: (r[0], -r[1]))
    return [{"ko": ko, "en": en, "severity": "error" if s == 0 else "warn"} for s, _, ko, en in out[:10]]


def _share_lost(missing: int, received: int) -> float:
    """Percent of the sensor's expected readings that never arrived (all of them when none did)."""
    total = received + missing
    return 100.0 * missing / total if total else 100.0


def _message_head(message_ko) -> str:
    """What an issue message says before its first colon: for a late file, which file ("파일 x.csv 지연 도착")."""
    return message_ko.split(":")[0] if isinstance(message_ko, str) else ""


# --------------------------------------------------------------------------- charts


def _score_trend_chart(trend: pd.DataFrame) -> go.Figure:
    frame = trend.assign(dimension_name=trend.dimension.map(DIMENSION_NAMES))
    fig = px.line(frame, x="day_kst", y="score", color="dimension_name", markers=True,
                  title="일별 품질 점수 추이 (daily quality scores, KST)",
                  labels={"day_kst": "일자 (KST)", "score": "점수 (0–100)", "dimension_name": "차원"})
    fig.update_yaxes(range=[max(0, min(90, float(frame.score.min()) - 5 if not frame.empty else 90)), 100.5])
    fig.update_xaxes(dtick=86400000, tickformat="%Y-%m-%d")
    return fig


def _issue_timeline_chart(issues: pd.DataFrame) -> go.Figure:
    kinds = ["gap", "missing_values", "stuck", "spike", "out_of_range", "duplicate", "late_file"]
    frame = issues[issues.issue_type.isin(kinds)].copy() if not issues.empty else pd.DataFrame()
    title = "문제 구간 타임라인: 수집 공백·값 누락·고정·튐 (gaps and other issues timeline, KST)"
    if frame.empty:
        fig = go.Figure()
        fig.add_annotation(text="발견된 시간 구간 문제 없음 (no time-ranged issues)", showarrow=False,
                           x=0.5, y=0.5, xref="paper", yref="paper")
        fig.update_layout(title=title, height=260)
        return fig
    frame["start"] = pd.to_datetime(frame.start_utc, utc=True).dt.tz_convert("Asia/Seoul").dt.tz_localize(None)
    frame["end"] = pd.to_datetime(frame.end_utc, utc=True).dt.tz_convert("Asia/Seoul").dt.tz_localize(None)
    frame["end"] = frame[["start", "end"]].max(axis=1) + pd.Timedelta(minutes=1)  # single readings stay visible
    frame["sensor"] = frame.equipment_id.fillna("") + ":" + frame.source_tag.fillna("*")
    frame["issue"] = frame.issue_type.map(ISSUE_NAMES)
    fig = px.timeline(frame, x_start="start", x_end="end", y="sensor", color="issue", title=title,
                      hover_data={"affected_rows": True, "message_ko": True},
                      labels={"sensor": "설비:센서", "issue": "문제 유형"})
    fig.update_layout(height=max(300, 60 + 30 * frame.sensor.nunique()))
    return fig


def _distribution_chart(con, company_id: str) -> go.Figure:
    sample = con.execute(
        """
        select tag_code || ' (' || coalesce(si_unit, '?') || ')' as tag, equipment_id || ':' || source_tag as sensor, value_si
        from (select *, row_number() over (partition by equipment_id, source_tag order by hash(reading_ts_utc, source_file, source_row)) as k
              from main.fct_sensor_readings where company_id = ? and value_si is not null)
        where k <= 2000
        """, [company_id]).df()
    title = "센서별 값 분포 (value distributions per sensor, SI units; sample of up to 2,000 readings per sensor)"
    if sample.empty:
        fig = go.Figure()
        fig.update_layout(title=title)
        return fig
    fig = px.box(sample, x="sensor", y="value_si", color="tag", facet_col="tag", facet_col_wrap=3, title=title,
                 labels={"value_si": "값 (SI)", "sensor": "센서", "tag": "태그"})
    fig.update_yaxes(matches=None, showticklabels=True)
    fig.update_xaxes(matches=None)
    fig.update_layout(height=max(380, 320 * ((sample.tag.nunique() + 2) // 3)), showlegend=False)
    return fig
