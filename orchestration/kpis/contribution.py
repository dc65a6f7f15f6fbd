"""Data contributed back (데이터 개방): a consenting company's standardised data, anonymised, with a
data card, in a KAMP-like layout (data files + a card that says what every column is).

    <out_root>/<dataset_id>/
        data/lots.csv            one row per production lot: pseudonymous equipment and product,
                                 start/end (KST), quantity, defects, label PassOrFail
        data/inspections.csv     one row per quality inspection of those lots
        data/sensor_hourly.csv   hourly statistics per equipment and standard tag, SI units
        datacard.json            columns (type, unit, meaning), time span, quality indices, label balance
        데이터카드.md             the same card for people, Korean first

Anonymised: no company id, name or region below the province, no file names or row numbers;
equipment, lines, products and lots get sequential codes; the dataset id is a keyed hash of the
company id (`CONTRIB_PSEUDONYM_KEY`), stable across exports so a re-export replaces the old one.
Only companies with `data_contribution_consent: true` in clients/registry.yaml are exported.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

PUBLISHED_TABLE = "contrib.published_datasets"
DEFAULT_KEY = "chungbuk-manufacturing-ai-center"


@dataclass(frozen=True)
class Contribution:
    company_id: str
    dataset_id: str
    industry_code: str
    path: Path
    rows: dict[str, int]
    time_from: str | None
    time_to: str | None
    defect_ratio: float | None


def consenting_companies(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute(
        "select company_id from staging.stg_company_programme where data_contribution_consent order by company_id"
    ).fetchall()]


def dataset_id(company_id: str, industry_code: str, key: str | None = None) -> str:
    key = key or os.environ.get("CONTRIB_PSEUDONYM_KEY", DEFAULT_KEY)
    digest = hmac.new(key.encode(), company_id.encode(), hashlib.sha256).hexdigest()[:10]
    return f"CBMAI-{industry_code.upper()}-{digest}"


COLUMNS = {  # file -> [(column, type, unit, Korean meaning, English meaning)]
    "lots.csv": [
        ("lot_seq", "integer", None, "LOT 순번 (익명)", "lot number (anonymised)"),
        ("line", "string", None, "라인 코드 (익명)", "line code (anonymised)"),
        ("equipment", "string", None, "설비 코드 (익명)", "equipment code (anonymised)"),
        ("product", "string", None, "제품 코드 (익명)", "product code (anonymised)"),
        ("start_kst", "datetime", "KST", "LOT 시작 시각", "lot start"),
        ("end_kst", "datetime", "KST", "LOT 종료 시각", "lot end"),
        ("quantity", "number", "ea", "생산수량", "units produced"),
        ("defect_quantity", "number", "ea", "불량수량", "defective units"),
        ("PassOrFail", "string", None, "라벨: 검사 불합격이 하나라도 있으면 Fail", "label: Fail when any inspection failed"),
    ],
    "inspections.csv": [
        ("lot_seq", "integer", None, "LOT 순번 (lots.csv)", "lot number (lots.csv)"),
        ("inspected_kst", "datetime", "KST", "검사 시각", "inspection time"),
        ("characteristic", "string", None, "검사 항목", "characteristic"),
        ("measured_value", "number", "(unit 열)", "측정값", "measured value"),
        ("lower_spec", "number", "(unit 열)", "하한 규격", "lower spec limit"),
        ("upper_spec", "number", "(unit 열)", "상한 규격", "upper spec limit"),
        ("unit", "string", None, "측정 단위", "unit of the measurement"),
        ("result", "string", None, "판정 (pass/fail)", "result (pass/fail)"),
        ("defect_code", "string", None, "표준 불량유형 코드", "standard defect code"),
    ],
    "sensor_hourly.csv": [
        ("equipment", "string", None, "설비 코드 (익명)", "equipment code (anonymised)"),
        ("tag", "string", None, "표준 태그 (dim_tag)", "standard tag code"),
        ("unit", "string", None, "SI 단위", "SI unit"),
        ("hour_kst", "datetime", "KST", "시간 (정시)", "hour"),
        ("readings", "integer", None, "측정 건수", "readings in the hour"),
        ("mean", "number", "(unit 열)", "평균", "mean"),
        ("min", "number", "(unit 열)", "최솟값", "minimum"),
        ("max", "number", "(unit 열)", "최댓값", "maximum"),
        ("std", "number", "(unit 열)", "표준편차", "standard deviation"),
    ],
}


def export_contribution(con: duckdb.DuckDBPyConnection, company_id: str, out_root: Path) -> Contribution:
    """Write the company's anonymised dataset and its data card under `out_root/<dataset_id>/`."""
    industry = con.execute("select industry_code from main.dim_company where company_id = ?", [company_id]).fetchone()
    if industry is None:
        raise ValueError(f"{company_id}: not in dim_company; nothing to export")
    ident = dataset_id(company_id, industry[0])
    lots = con.execute("""
        select lot_key, line_id, equipment_id, product_code,
               timezone('Asia/Seoul', start_ts_utc) as start_kst, timezone('Asia/Seoul', end_ts_utc) as end_kst,
               quantity, defect_quantity
        from main.fct_production_lots where company_id = ? order by start_ts_utc, lot_key""", [company_id]).df()
    inspections = con.execute("""
        select lot_key, timezone('Asia/Seoul', inspected_at_utc) as inspected_kst, characteristic, measured_value,
               lower_spec, upper_spec, unit, result, is_defect, defect_code
        from main.fct_quality_inspections where company_id = ? order by inspected_at_utc""", [company_id]).df()
    hourly = con.execute("""
        select equipment_id, tag_code as tag, si_unit as unit, timezone('Asia/Seoul', hour_utc) as hour_kst,
               readings, avg_value_si as mean, min_value_si as min, max_value_si as max, stddev_value_si as std
        from main.fct_sensor_readings_hourly where company_id = ? order by hour_utc, equipment_id, tag_code""",
        [company_id]).df()

    codes = _Pseudonyms()
    lot_seq = {key: n for n, key in enumerate(lots.lot_key, start=1)}
    failed = set(inspections.loc[inspections.is_defect.fillna(False).astype(bool), "lot_key"])
    lots_out = pd.DataFrame({
        "lot_seq": lots.lot_key.map(lot_seq), "line": lots.line_id.map(lambda v: codes.code("L", v)),
        "equipment": lots.equipment_id.map(lambda v: codes.code("E", v)),
        "product": lots.product_code.map(lambda v: codes.code("P", v)),
        "start_kst": lots.start_kst, "end_kst": lots.end_kst, "quantity": lots.quantity,
        "defect_quantity": lots.defect_quantity,
        "PassOrFail": ["Fail" if k in failed else "Pass" for k in lots.lot_key]})
    inspections_out = pd.DataFrame({
        "lot_seq": inspections.lot_key.map(lot_seq).astype("Int64"), "inspected_kst": inspections.inspected_kst,
        **{c: inspections[c] for c in ("characteristic", "measured_value", "lower_spec", "upper_spec", "unit",
                                       "result", "defect_code")}})
    hourly_out = hourly.assign(equipment=hourly.equipment_id.map(lambda v: codes.code("E", v)))[
        [c for c, *_ in COLUMNS["sensor_hourly.csv"]]]

    folder = Path(out_root) / ident
    (folder / "data").mkdir(parents=True, exist_ok=True)
    frames = {"lots.csv": lots_out, "inspections.csv": inspections_out, "sensor_hourly.csv": hourly_out}
    for name, frame in frames.items():
        frame.to_csv(folder / "data" / name, index=False, encoding="utf-8-sig", date_format="%Y-%m-%d %H:%M:%S")
    times = pd.concat([lots_out.start_kst, lots_out.end_kst, hourly_out.hour_kst]).dropna()
    span = (str(times.min()), str(times.max())) if len(times) else (None, None)
    labels = lots_out.PassOrFail.value_counts().to_dict()
    defect_ratio = labels.get("Fail", 0) / len(lots_out) if len(lots_out) else None
    card = {
        "dataset_id": ident, "title_ko": f"충북 {_industry_name(con, industry[0])} 공정·품질 데이터셋",
        "industry_code": industry[0], "region": "충청북도", "published_at": datetime.now(timezone.utc).isoformat(),
        "time_span_kst": {"from": span[0], "to": span[1]},
        "files": {name: {"rows": int(len(frame)),
                         "columns": [{"name": c, "type": t, "unit": u, "description_ko": ko, "description_en": en}
                                     for c, t, u, ko, en in COLUMNS[name]]}
                  for name, frame in frames.items()},
        "units_of_tags": _tag_units(hourly_out),
        "label_balance": {"column": "lots.csv PassOrFail", "pass": int(labels.get("Pass", 0)),
                          "fail": int(labels.get("Fail", 0)), "fail_ratio": defect_ratio},
        "quality_indices": _quality_indices(con, company_id),
        "anonymisation": "no company id, name, city/county, file names or row numbers; equipment, lines, "
                         "products and lots recoded; timestamps kept (KST)",
    }
    (folder / "datacard.json").write_text(json.dumps(card, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    (folder / "데이터카드.md").write_text(_card_markdown(card), encoding="utf-8")
    return Contribution(company_id, ident, industry[0], folder, {n: len(f) for n, f in frames.items()},
                        span[0], span[1], defect_ratio)


def record_published(con: duckdb.DuckDBPyConnection, contributions: list[Contribution], at: datetime) -> int:
    """Keep one row per dataset in contrib.published_datasets (the KPI "datasets published").

    DuckLake tables carry no key constraints, so one row per dataset is kept by delete + insert
    inside the caller's transaction."""
    con.execute("create schema if not exists contrib")
    con.execute(f"""create table if not exists {PUBLISHED_TABLE} (
        dataset_id varchar, company_id varchar, industry_code varchar, published_at timestamptz,
        path varchar, lots bigint, inspections bigint, sensor_hours bigint, time_from varchar, time_to varchar,
        label_fail_ratio double)""")
    for c in contributions:
        con.execute(f"delete from {PUBLISHED_TABLE} where dataset_id = ?", [c.dataset_id])
        con.execute(f"insert into {PUBLISHED_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [c.dataset_id, c.company_id, c.industry_code, at, str(c.path), c.rows["lots.csv"],
                     c.rows["inspections.csv"], c.rows["sensor_hourly.csv"], c.time_from, c.time_to, c.defect_ratio])
    return con.execute(f"select count(*) from {PUBLISHED_TABLE}").fetchone()[0]


class _Pseudonyms:
    def __init__(self):
        self.codes: dict[tuple[str, str], str] = {}

    def code(self, prefix: str, value) -> str | None:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        key = (prefix, str(value))
        if key not in self.codes:
            self.codes[key] = f"{prefix}{sum(1 for p, _ in self.codes if p == prefix) + 1:02d}"
        return self.codes[key]


def _industry_name(con, code: str) -> str:
    row = con.execute("select name_ko from main.dim_industry where industry_code = ?", [code]).fetchone()
    return row[0] if row else code


def _tag_units(hourly: pd.DataFrame) -> dict[str, str]:
    return {t: u for t, u in hourly[["tag", "unit"]].drop_duplicates().itertuples(index=False)}


def _quality_indices(con, company_id: str) -> dict:
    exists = con.execute("select count(*) from information_schema.tables where table_schema = 'quality' "
                         "and table_name = 'dq_latest'").fetchone()[0]
    if not exists:
        return {"note": "quality inspection not run yet"}
    rows = con.execute("select dimension, avg(score) from quality.dq_latest where company_id = ? group by dimension "
                       "order by dimension", [company_id]).fetchall()
    return {dimension: round(float(score), 2) for dimension, score in rows if score is not None}


def _card_markdown(card: dict) -> str:
    lines = [f"# {card['title_ko']} ({card['dataset_id']})", "",
             f"- 업종 (industry): {card['industry_code']} · 지역: {card['region']}",
             f"- 기간 (time span, KST): {card['time_span_kst']['from']} ~ {card['time_span_kst']['to']}",
             f"- 라벨 균형 (label balance): Pass {card['label_balance']['pass']}, Fail {card['label_balance']['fail']}"
             + (f" (불량 비율 {card['label_balance']['fail_ratio']:.2%})" if card['label_balance']['fail_ratio'] is not None
                else ""),
             "- 품질 지수 (quality indices, 0-100): " + ", ".join(f"{k} {v}" for k, v in card["quality_indices"].items()),
             f"- 익명화 (anonymisation): {card['anonymisation']}", ""]
    for name, spec in card["files"].items():
        lines += [f"## data/{name} ({spec['rows']:,} 행)", "", "| 열 | 형식 | 단위 | 설명 | description |", "|---|---|---|---|---|"]
        lines += [f"| {c['name']} | {c['type']} | {c['unit'] or ''} | {c['description_ko']} | {c['description_en']} |"
                  for c in spec["columns"]]
        lines.append("")
    if card["units_of_tags"]:
        lines += ["## 태그 단위 (units of the sensor tags)", ""] + [f"- {t}: {u}" for t, u in card["units_of_tags"].items()]
    return "\n".join(lines) + "\n"
