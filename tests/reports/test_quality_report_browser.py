"""The quality report opens offline in a real browser (headless Chromium): title, score, charts,
no JavaScript errors, and a screenshot that is a real picture."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import duckdb
import pytest
from contract_warehouse import COMPANY, build_contract_warehouse

from orchestration.quality import inspect_company, load_quality_config
from orchestration.reports.quality_report import render_quality_report

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
                  "--no-first-run", "--disable-extensions"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    warehouse = root / "warehouse.duckdb"
    build_contract_warehouse(warehouse, defects=True)
    config = load_quality_config(COMPANY, REPO / "clients" / "quality.yaml")
    con = duckdb.connect(str(warehouse))
    try:
        result = inspect_company(con, config)
        name_ko = con.execute("select name_ko from main.dim_company where company_id = ?", [COMPANY]).fetchall()[0][0]
        path = render_quality_report(con, COMPANY, root / "quality" / f"{COMPANY}.html", config=config)
    finally:
        con.close()
    return path, result, name_ko


def _chromium() -> str:
    binary = shutil.which("chromium")
    assert binary, "chromium is not installed (Debian package `chromium`); CI installs it"
    return binary


def test_report_works_offline_with_the_shared_plotly_script(report):
    path, _, name_ko = report
    html = path.read_text(encoding="utf-8")
    sources = re.findall(r"<script[^>]+src=\"([^\"]+)\"", html)
    # one script, the shared plotly.js beside the reports (relative: no CDN, no server)
    assert len(sources) == 1 and not re.match(r"[a-z]+:", sources[0]) and sources[0].startswith("../assets/plotly-")
    assert (path.parent / sources[0]).resolve().stat().st_size > 3_000_000
    assert not re.search(r"<link[^>]+href=\"https?:", html), "no external stylesheets either"
    assert "Plotly.newPlot" in html and len(html.encode()) < 1_000_000  # plotly.js is not embedded any more
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert name_ko in title and "데이터 품질 보고서" in title


def test_report_renders_in_headless_chromium_without_errors(report, tmp_path):
    path, result, name_ko = report
    dom = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=20000",
         "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    assert re.search(rf"<title>[^<]*{re.escape(name_ko)}[^<]*데이터 품질 보고서", page)
    overall = re.search(r'id="score-overall">\s*<div class="value">([0-9.]+)</div>', page)
    assert overall and float(overall.group(1)) == pytest.approx(result.scores["overall"], abs=0.05)
    # plotly drew its charts (an svg.main-svg per chart, after the inline plotly.js ran)
    assert page.count('class="main-svg"') >= 3
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, "\n".join(console)


def test_screenshot_is_a_real_picture(report, tmp_path):
    path, _, _ = report
    shot = tmp_path / "report.png"
    run = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, "--virtual-time-budget=20000", f"--screenshot={shot}",
         "--window-size=1280,2000", path.as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    assert len(data) > 50_000  # text, score cards and charts, not a blank page
