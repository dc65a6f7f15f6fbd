"""The officers' dashboard opens offline in headless Chromium with every headline KPI, its
value and target, at least four charts and no console errors; the quarterly workbook opens
with openpyxl and holds the same numbers as the marts."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from openpyxl import load_workbook

from orchestration.kpis.dashboard import render_kpi_dashboard
from orchestration.kpis.marts import format_value
from orchestration.kpis.workbook import HEADLINE_SHEET, write_kpi_workbook
from orchestration.warehouse.ducklake import Warehouse

CHROMIUM_FLAGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
                  "--no-first-run", "--disable-extensions"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "lake" / "test-screenshots"


@pytest.fixture(scope="module")
def outputs(kpi_warehouse, tmp_path_factory):
    _, warehouse = kpi_warehouse
    reports = tmp_path_factory.mktemp("reports")
    (reports / "quality").mkdir()
    (reports / "quality" / "TS-COS-01.html").write_text("<html></html>", encoding="utf-8")
    con = Warehouse.in_folder(warehouse).connect_read_only()
    try:
        dashboard = render_kpi_dashboard(con, reports / "kpi" / "index.html")
        workbook = write_kpi_workbook(con, reports / "kpi")
        headline = con.execute("select * from kpi.programme_outputs where breakdown = 'total' and programme_year = "
                               "(select max(programme_year) from kpi.programme_outputs) order by display_order").df()
        outcomes = con.execute("select * from kpi.company_outcomes order by company_id, display_order").df()
    finally:
        con.close()
    return dashboard, workbook, headline, outcomes


def _chromium() -> str:
    binary = shutil.which("chromium")
    assert binary, "chromium is not installed (Debian package `chromium`); CI installs it"
    return binary


def test_dashboard_loads_the_shared_plotly_and_nothing_from_the_network(outputs):
    dashboard = outputs[0]
    html = dashboard.read_text(encoding="utf-8")
    sources = re.findall(r"<script[^>]+src=\"([^\"]+)\"", html)
    assert sources == [s for s in sources if s.startswith("../assets/plotly-")] and len(sources) == 1
    assert (dashboard.parent / sources[0]).is_file()
    assert len(html.encode()) < 1_000_000
    assert 'href="../quality/TS-COS-01.html"' in html


def test_dashboard_in_headless_chromium(outputs):
    dashboard, _, headline, _ = outputs
    run = subprocess.run([_chromium(), *CHROMIUM_FLAGS, "--enable-logging=stderr", "--v=0",
                          "--virtual-time-budget=20000", "--dump-dom", dashboard.as_uri()],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    page = run.stdout
    for kpi in headline.itertuples():
        card = re.search(rf'id="kpi-{kpi.kpi_code}">(.*?class="label">.*?)</div>', page, re.S)
        assert card, kpi.kpi_code
        value = re.search(r'data-kpi="[^"]+">([^<]+)<', card.group(1)).group(1).strip()
        target = re.search(r'class="target-value">([^<]+)<', card.group(1)).group(1).strip()
        assert value == format_value(kpi.kpi_code, kpi.actual), kpi.kpi_code
        assert target == (format_value(kpi.kpi_code, kpi.target) if pd.notna(kpi.target) else "–"), kpi.kpi_code
        assert kpi.kpi_name_ko in card.group(1)
    assert len(headline) == 8
    assert page.count('class="plot-container plotly"') >= 4  # plotly drew them (the shared script ran)
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, "\n".join(console)
    assert "사후관리 대상" in page and "지역 동종업종 비교" in page and "도입 전후 성과" in page


def test_dashboard_screenshot(outputs):
    dashboard = outputs[0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "kpi_dashboard.png"
    run = subprocess.run([_chromium(), *CHROMIUM_FLAGS, "--virtual-time-budget=20000", f"--screenshot={shot}",
                          "--window-size=1400,2400", dashboard.as_uri()], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1400, 2400)
    assert len(data) > 100_000


def test_workbook_holds_the_same_numbers(outputs):
    _, workbook, headline, outcomes = outputs
    assert workbook.parent.name == "kpi" and re.fullmatch(r"제조AI센터_성과지표_\d{4}Q[1-4]\.xlsx", workbook.name)
    book = load_workbook(workbook, read_only=True)
    assert {HEADLINE_SHEET, "지역·업종별", "지원단계", "도입전후성과", "사후관리", "지역벤치마크", "지표정의"} <= set(book.sheetnames)
    rows = list(book[HEADLINE_SHEET].iter_rows(values_only=True))
    header = rows[2]
    assert header[:6] == ("지표", "지표(영문)", "단위", "실적", "목표", "달성률")
    sheet = {r[0]: r for r in rows[3:]}
    for kpi in headline.itertuples():
        row = sheet[kpi.kpi_name_ko]
        assert row[3] == pytest.approx(kpi.actual) if pd.notna(kpi.actual) else row[3] is None
        assert row[4] == pytest.approx(kpi.target) if pd.notna(kpi.target) else row[4] is None
    rows = list(book["도입전후성과"].iter_rows(values_only=True))
    header = rows[0]
    got = {(r[header.index("기업 ID")], r[header.index("지표")]): r for r in rows[1:]}
    assert len(got) == len(outcomes)
    for o in outcomes.itertuples():
        r = got[(o.company_id, o.measure_name_ko)]
        for column, value in (("기준값", o.baseline_value), ("사후값", o.followup_value), ("변화", o.change),
                              ("기준 일수", o.baseline_days), ("사후 LOT 수", o.followup_lots)):
            cell = r[header.index(column)]
            assert (cell is None) if pd.isna(value) else cell == pytest.approx(value), (o.company_id, column)
