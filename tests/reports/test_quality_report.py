"""What the quality report says, read from its HTML."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import duckdb
import pytest
from contract_warehouse import COMPANY, build_contract_warehouse

from orchestration.quality import inspect_company, load_quality_config
from orchestration.reports.quality_report import render_quality_report

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("report_text")
    warehouse = root / "warehouse.duckdb"
    planted = build_contract_warehouse(warehouse, defects=True)
    config = load_quality_config(COMPANY, REPO / "clients" / "quality.yaml")
    con = duckdb.connect(str(warehouse))
    try:
        result = inspect_company(con, config)
        path = render_quality_report(con, COMPANY, root / f"{COMPANY}.html", config=config)
    finally:
        con.close()
    text = html_lib.unescape(re.sub(r"<script.*?</script>", "", path.read_text(encoding="utf-8"), flags=re.S))
    return text, planted, result


def test_recommendation_names_the_sensor_its_share_of_gaps_and_the_kst_window(page):
    text, planted, _ = page
    equipment, tags, _, _ = planted.gap
    # OVEN-02:T-01 lost 180 of 2 x 1440 readings, 02:00-04:59 KST
    share = 100 * 180 / (2 * 1440)
    assert f"센서 {equipment}:{tags[0]} 데이터의 {share:.1f}%가 02:00–04:59 사이에 누락" in text
    assert f"sensor {equipment}:{tags[0]} has {share:.1f}% gaps" in text


def test_report_shows_company_header_inventory_and_dimension_scores(page):
    text, _, result = page
    assert "테스트정밀(주)" in text and "Test Precision Co., Ltd." in text and "청주시" in text and "자동차부품" in text
    assert "MIX-01:T-03" in text and "OVEN-02:T-01" in text
    assert "2026-11-02 00:00" in text and "2026-11-03 23:59" in text  # the time span in KST
    for dimension in ("completeness", "validity", "uniqueness", "consistency", "timeliness"):
        card = re.search(rf'id="score-{dimension}">\s*<div class="value">([0-9.]+)</div>', text)
        assert card and float(card.group(1)) == pytest.approx(result.scores[dimension], abs=0.05)
    assert "완전성 (completeness) 0.30" in text and "유효성 (validity) 0.25" in text
