"""The quarterly KPI workbook for the ministry (분기 성과지표 보고서, XLSX): the same marts as the
dashboard, one sheet per table, Korean sheet and column names, numbers as numbers (rates as
percentages with a percent format), so an officer can forward it or sum a column as it is."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from orchestration.kpis.marts import PERCENT_MEASURES, KpiMarts, read_kpi_marts

HEADLINE_SHEET = "성과지표"
# sheet -> (mart frame, [(column, Korean header)])
SHEETS = {
    HEADLINE_SHEET: ("headline", [("kpi_name_ko", "지표"), ("kpi_name_en", "지표(영문)"), ("unit", "단위"),
                                  ("actual", "실적"), ("target", "목표"), ("progress", "달성률"),
                                  ("measured_to", "집계 기준일"), ("note_ko", "비고")]),
    "지역·업종별": ("breakdowns", [("breakdown_name_ko", "구분"), ("kpi_name_ko", "지표"), ("actual", "실적"),
                              ("target", "목표"), ("progress", "달성률")]),
    "지원단계": ("funnel", [("stage_order", "순서"), ("stage_name_ko", "지원 단계"), ("companies_reached", "도달 기업 수"),
                         ("companies_completed", "완료 기업 수"), ("companies_in_stage", "진행 중 기업 수"),
                         ("first_started_on", "최초 시작일"), ("last_started_on", "최근 시작일"),
                         ("median_days_in_stage", "소요일 중앙값")]),
    "도입전후성과": ("outcomes", [("company_id", "기업 ID"), ("name_ko", "기업명"), ("measure_name_ko", "지표"),
                             ("unit", "단위"), ("baseline_from", "기준기간 시작"), ("baseline_to", "기준기간 종료"),
                             ("baseline_value", "기준값"), ("baseline_days", "기준 일수"), ("baseline_lots", "기준 LOT 수"),
                             ("followup_from", "사후기간 시작"), ("followup_to", "사후기간 종료"),
                             ("followup_value", "사후값"), ("followup_days", "사후 일수"), ("followup_lots", "사후 LOT 수"),
                             ("change", "변화"), ("change_ci_low", "95% 구간 하한"), ("change_ci_high", "95% 구간 상한"),
                             ("status_ko", "판정"), ("insufficient_reason_ko", "데이터 부족 사유")]),
    "사후관리": ("watch_list", [("company_id", "기업 ID"), ("name_ko", "기업명"), ("kind_name_ko", "유형"),
                            ("dataset", "데이터"), ("started_on", "시작일"), ("evidence_ko", "근거"),
                            ("suggested_action_ko", "권장 조치"), ("status_ko", "상태"), ("opened_on", "등록일"),
                            ("resolved_on", "해소일")]),
    "지역벤치마크": ("benchmark", [("company_id", "기업 ID"), ("name_ko", "기업명"), ("industry_name_ko", "업종"),
                              ("measure_name_ko", "지표"), ("company_value", "기업 값"), ("company_days", "일수"),
                              ("industry_median", "업종 중앙값"), ("industry_companies", "업종 기업 수"),
                              ("suppressed_reason_ko", "비공개 사유")]),
    "지표정의": ("definitions", [("name_ko", "지표"), ("name_en", "지표(영문)"), ("unit", "단위"),
                             ("definition_ko", "정의"), ("definition_en", "정의(영문)")]),
}
STATUS_KO = {"improved": "개선", "worsened": "악화", "no_clear_change": "뚜렷한 변화 없음",
             "insufficient_data": "데이터 부족", "open": "진행 중", "resolved": "해소"}


def quarter_of(as_of: pd.Timestamp) -> str:
    return f"{as_of.year}Q{(as_of.month - 1) // 3 + 1}"


def workbook_path(folder: Path, as_of: pd.Timestamp) -> Path:
    return Path(folder) / f"제조AI센터_성과지표_{quarter_of(as_of)}.xlsx"


def write_kpi_workbook(con: duckdb.DuckDBPyConnection, folder: Path) -> Path:
    """Write `<folder>/제조AI센터_성과지표_<year>Q<n>.xlsx` from the `kpi` marts (the quarter of the KPI day)."""
    marts = read_kpi_marts(con)
    frames = _frames(marts)
    book = Workbook()
    book.remove(book.active)
    for sheet_name, (frame_name, columns) in SHEETS.items():
        _write_sheet(book.create_sheet(sheet_name), frames[frame_name], columns)
    sheet = book[HEADLINE_SHEET]
    sheet.insert_rows(1, 2)
    sheet["A1"] = f"충북 제조AI센터 {marts.year}년 성과지표 ({quarter_of(marts.as_of)}, 기준일 {marts.as_of:%Y-%m-%d})"
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.freeze_panes = "A4"
    path = workbook_path(folder, marts.as_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.tmp")
    book.save(partial)
    partial.replace(path)
    return path


def _frames(marts: KpiMarts) -> dict[str, pd.DataFrame]:
    breakdowns = marts.outputs[marts.outputs.breakdown != "total"].sort_values(["breakdown", "breakdown_code"])
    return {
        "headline": marts.headline(),
        "breakdowns": breakdowns,
        "funnel": marts.funnel,
        "outcomes": marts.outcomes.assign(status_ko=marts.outcomes.status.map(STATUS_KO)),
        "watch_list": marts.watch_list.assign(status_ko=marts.watch_list.status.map(STATUS_KO)),
        "benchmark": marts.benchmark,
        "definitions": marts.definitions,
    }


def _is_percent(frame: pd.DataFrame, column: str, index) -> bool:
    if column == "progress":
        return True
    code = frame.get("measure_code", frame.get("kpi_code"))
    return (code is not None and code.loc[index] in PERCENT_MEASURES
            and column in ("baseline_value", "followup_value", "change", "change_ci_low", "change_ci_high",
                           "company_value", "industry_median"))


def _write_sheet(sheet, frame: pd.DataFrame, columns: list[tuple[str, str]]) -> None:
    header_fill = PatternFill("solid", fgColor="DCE6F1")
    sheet.append([header for _, header in columns])
    for cell in sheet[1]:
        cell.font, cell.fill = Font(bold=True), header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index, row in frame.iterrows():
        values = []
        for column, _ in columns:
            value = row.get(column)
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                values.append(None)
            elif isinstance(value, pd.Timestamp):
                values.append(value.date())
            elif hasattr(value, "item"):
                values.append(value.item())
            else:
                values.append(value)
        sheet.append(values)
        for position, (column, _) in enumerate(columns, start=1):
            cell = sheet.cell(row=sheet.max_row, column=position)
            if _is_percent(frame, column, index):
                cell.number_format = "0.0%"
            elif isinstance(cell.value, float):
                cell.number_format = "#,##0.###"
    for position, (column, header) in enumerate(columns, start=1):
        longest = max([len(str(header))] + [len(str(v)) for v in frame.get(column, pd.Series(dtype=str)).head(200)])
        sheet.column_dimensions[get_column_letter(position)].width = min(60, max(10, longest * 1.3))
    sheet.freeze_panes = "A2"
