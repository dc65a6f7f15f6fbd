"""The AI demonstration report (AI 솔루션 실증 보고서): one self-contained offline HTML file per
company, for the consultant's meeting with the client and for the programme officer.

What the model predicts, how it did on the newest (test) units against the prior-rate baseline
with intervals, the threshold and its confusion matrix in plain words, the features that matter,
the on-site (실증) results over time and the drift status. When the company's data shows no usable
signal yet, the report says so first, and why. plotly.js is embedded inline (no CDN).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import jinja2
import pandas as pd
import plotly.graph_objects as go

from orchestration.ml import store
from orchestration.ml.catalog import describe
from orchestration.reports.plotly_script import chart_html, plotly_script_tag

KST = timezone(timedelta(hours=9))
UNIT_WORDS = {"lot": "LOT", "shot": "샷"}

_templates = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True)


def _company(con, company_id: str) -> dict:
    try:
        rows = con.execute("select * from main.dim_company where company_id = ?", [company_id]).df()
    except duckdb.Error:
        rows = pd.DataFrame()
    if rows.empty:
        return {"company_id": company_id, "name_ko": company_id, "name_en": company_id}
    return {k: (None if pd.isna(v) else v) for k, v in rows.iloc[0].to_dict().items()}


def plain_confusion(tp: int, fp: int, fn: int, tn: int, unit_word: str) -> dict:
    """The confusion matrix in words, as counted and per 100 units."""
    units, defects = tp + fp + fn + tn, tp + fn
    per100 = 100 / units if units else 0.0
    return {
        "counted": f"{units:,} {unit_word} 중 불량 {defects}건 중 {tp}건 탐지, 놓침 {fn}건, 오탐 {fp}건",
        "per_100": f"100 {unit_word} 중 불량 {defects * per100:.1f}건 중 {tp * per100:.1f}건 탐지, 오탐 {fp * per100:.1f}건",
        "en": f"of {units:,} units with {defects} defects: {tp} caught, {fn} missed, {fp} false alarms",
    }


def _feature_label(column: str) -> str:
    definition = describe(column)
    sensor = column.split("__", 1)[0] if "__" in column else None
    meaning = definition.meaning.split(" (")[0].rstrip(".") if definition else column
    return f"{sensor} · {meaning}" if sensor else meaning


def _units_chart(units: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    if len(units):
        daily = units.groupby("day").agg(units=("unit_key", "size"), defects=("defect", "sum")).reset_index()
        fig.add_bar(x=daily.day, y=daily.units, name="생산 단위 (units)", marker_color="#9fb3c8")
        fig.add_bar(x=daily.day, y=daily.defects, name="불량 (defects)", marker_color="#e12d39")
    fig.update_layout(title="일별 생산 단위와 불량 (units and defects per KST day)", barmode="overlay", height=340)
    return fig


def _metrics_chart(row: pd.Series) -> go.Figure:
    fig = go.Figure()
    names = ["PR-AUC", "ROC-AUC"]
    values = [row.pr_auc, row.roc_auc]
    errors_plus = [row.pr_auc_high - row.pr_auc, row.roc_auc_high - row.roc_auc]
    errors_minus = [row.pr_auc - row.pr_auc_low, row.roc_auc - row.roc_auc_low]
    fig.add_bar(x=names, y=values, name="모델 (model, 95% 구간)", marker_color="#2186eb",
                error_y={"type": "data", "array": errors_plus, "arrayminus": errors_minus})
    fig.add_bar(x=names, y=[row.baseline_pr_auc, row.baseline_roc_auc], name="기준: 사전 불량률 (prior-rate baseline)",
                marker_color="#bcccdc")
    fig.update_layout(title="시험 구간 성능 vs 기준모델 (test metrics vs baseline)", barmode="group", height=360,
                      yaxis={"range": [0, 1.05]})
    return fig


def _scores_chart(test: pd.DataFrame, threshold: float) -> go.Figure:
    fig = go.Figure()
    for label, name, color in ((0, "양품 (pass)", "#9fb3c8"), (1, "불량 (defect)", "#e12d39")):
        part = test[test.label == label]
        fig.add_scatter(x=part.end_ts_utc, y=part.score, mode="markers", name=name,
                        marker={"color": color, "size": 5 if label == 0 else 9})
    fig.add_hline(y=threshold, line_dash="dash", annotation_text=f"임계값 threshold {threshold:.3f}")
    fig.update_layout(title="시험 구간 예측 점수 (test-period scores; above the line = 불량 예측)", height=380,
                      yaxis={"title": "불량 확률 (score)"})
    return fig


def _importance_chart(importance: list) -> go.Figure:
    top = list(reversed(importance[:10]))
    fig = go.Figure(go.Bar(x=[v for _, v in top], y=[_feature_label(n) for n, _ in top], orientation="h",
                           marker_color="#2186eb"))
    fig.update_layout(title="주요 변수 (permutation importance: PR-AUC 감소량)", height=380, margin={"l": 260})
    return fig


def _onsite_chart(daily: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    if len(daily):
        fig.add_scatter(x=daily.date_kst, y=daily.cumulative_recall, name="누적 재현율 (recall: 불량 탐지율)",
                        mode="lines+markers")
        fig.add_scatter(x=daily.date_kst, y=daily.cumulative_precision, name="누적 정밀도 (precision)",
                        mode="lines+markers")
        if "rolling_pr_auc" in daily:
            fig.add_scatter(x=daily.date_kst, y=daily.rolling_pr_auc, name="최근 PR-AUC (rolling)", mode="lines",
                            line={"dash": "dot"})
    fig.update_layout(title="실증 결과 추이 (on-site results over time, labelled units)", height=360,
                      yaxis={"range": [0, 1.05]})
    return fig


def _psi_chart(psi: pd.DataFrame, limit: float) -> go.Figure:
    fig = go.Figure()
    if len(psi):
        latest = psi[psi.date_kst == psi.date_kst.max()].sort_values("psi", ascending=False).head(12)
        fig.add_bar(x=[_feature_label(f) for f in latest.feature], y=latest.psi, marker_color="#f0b429")
        fig.add_hline(y=limit, line_dash="dash", annotation_text=f"드리프트 기준 PSI {limit}")
    fig.update_layout(title="변수 분포 변화 (PSI vs training, latest 7 days)", height=360)
    return fig


def _anomaly_chart(anomalies: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    hours = pd.to_datetime(anomalies.hour_utc, utc=True).dt.tz_convert("Asia/Seoul")
    usual = ~anomalies.is_anomaly.astype(bool)
    fig.add_scatter(x=hours[usual], y=anomalies.anomaly_score[usual], mode="markers", name="정상 (usual)",
                    marker={"color": "#9fb3c8", "size": 4})
    fig.add_scatter(x=hours[~usual], y=anomalies.anomaly_score[~usual], mode="markers", name="이상 (flagged)",
                    marker={"color": "#e12d39", "size": 8}, text=anomalies.sensor_id[~usual])
    fig.update_layout(title="설비·센서 시간별 이상 점수 (anomaly score per sensor-hour, KST)", height=340)
    return fig


def _anomaly_summary(anomalies: pd.DataFrame) -> dict | None:
    if not len(anomalies):
        return None
    flagged = anomalies[anomalies.is_anomaly.astype(bool)].sort_values("anomaly_score", ascending=False).head(8)
    top = flagged.assign(hour_kst=pd.to_datetime(flagged.hour_utc, utc=True).dt.tz_convert("Asia/Seoul")
                         .dt.strftime("%Y-%m-%d %H:00"))
    return {"hours": len(anomalies), "flagged": int(anomalies.is_anomaly.astype(bool).sum()),
            "top": top.to_dict("records")}


def render_ai_report(con: duckdb.DuckDBPyConnection, company_id: str, out_path: Path) -> Path:
    """Write the company's demonstration report from the warehouse (`ml.*`, `features.*`)."""
    from orchestration.ml.drift import PSI_DRIFT

    results = store.read_table(con, "model_results", company_id)
    row = results.sort_values("trained_at_utc").iloc[-1] if len(results) else None
    units = con.execute("""
        select unit_key, unit_kind, cast(timezone('Asia/Seoul', end_ts_utc) as date) as day,
               coalesce(is_defect, false) as defect, is_defect is not null as labelled
        from features.production_units where company_id = ? order by end_ts_utc
    """, [company_id]).df()
    unit_word = UNIT_WORDS.get(units.unit_kind.iloc[0] if len(units) else "lot", "LOT")
    test = store.read_table(con, "test_predictions", company_id)
    daily = store.read_table(con, "onsite_daily", company_id)
    psi = store.read_table(con, "feature_psi", company_id)
    flags = store.read_table(con, "drift_flags", company_id)
    charts = [_units_chart(units)]
    fitted = row is not None and pd.notna(row.get("pr_auc"))
    if fitted:
        charts.append(_metrics_chart(row))
        if len(test):
            charts.append(_scores_chart(test, float(row.threshold)))
        importance = json.loads(row.top_features or "[]")
        if importance:
            charts.append(_importance_chart(importance))
    if len(daily):
        charts.append(_onsite_chart(daily.sort_values("date_kst")))
    if len(psi):
        charts.append(_psi_chart(psi, PSI_DRIFT))
    anomalies = store.read_table(con, "equipment_anomalies", company_id)
    if len(anomalies):
        charts.append(_anomaly_chart(anomalies))
    out_path = Path(out_path)
    chart_divs = [chart_html(fig) for fig in charts]
    confusion = plain_confusion(int(row.tp), int(row.fp), int(row.fn), int(row.tn), unit_word) \
        if fitted and pd.notna(row.get("tp")) else None
    onsite = None
    if len(daily):
        tp, fp, fn = (int(daily[c].sum()) for c in ("tp", "fp", "fn"))
        onsite = {"days": len(daily), "scored": int(daily.units_scored.sum()), "labelled": int(daily.units_labelled.sum()),
                  "plain": plain_confusion(tp, fp, fn, int(daily.tn.sum()), unit_word),
                  "precision": tp / (tp + fp) if tp + fp else None, "recall": tp / (tp + fn) if tp + fn else None}
    html = _templates.get_template("ai_report.html.j2").render(
        company=_company(con, company_id), generated_at=datetime.now(KST).strftime("%Y-%m-%d %H:%M KST"),
        row=row.to_dict() if row is not None else None, fitted=fitted, unit_word=unit_word,
        units=len(units), labelled=int(units.labelled.sum()) if len(units) else 0,
        defects=int(units.defect.sum()) if len(units) else 0, confusion=confusion, onsite=onsite,
        flags=flags.to_dict("records") if len(flags) else [], charts=chart_divs,
        anomalies=_anomaly_summary(anomalies),
        plotly_script=plotly_script_tag(out_path, out_path.parent.parent),
        input_version=json.loads(row.input_version) if row is not None else None,
        top=[(_feature_label(n), v) for n, v in json.loads(row.top_features or "[]")[:5]] if row is not None else [],
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(html, encoding="utf-8")
    return out_path
