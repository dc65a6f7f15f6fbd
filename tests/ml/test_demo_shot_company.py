"""The demo (`make pipeline`) shows a demonstrable model and a drift flag end to end: its per-shot
die caster JC-DCS-03 (three days of shots; the last day's verdicts not back yet and its melt
running hot) is ingested, built, trained, scored and reported by the pipeline itself."""

from __future__ import annotations

import re

import pytest

from orchestration.pipeline import DEMO_MARKER, run_pipeline
from orchestration.warehouse.ducklake import Warehouse


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    lake = tmp_path_factory.mktemp("demo_shots") / "lake"
    lake.mkdir()
    (lake / DEMO_MARKER).touch()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DEMO_LAKE_ROOT", str(lake))
        outcome = run_pipeline(days=3, companies=["JC-DCS-03"], echo=lambda *_: None)
    return lake, outcome


def test_the_per_shot_company_is_demonstrable_and_its_drift_flagged(demo):
    lake, outcome = demo
    assert outcome.companies["JC-DCS-03"].failure is None
    con = Warehouse.in_folder(lake / "warehouse").connect_read_only()
    demonstrable, pr_auc, pr_low, baseline, test_defects = con.execute(
        "select demonstrable, pr_auc, pr_auc_low, baseline_pr_auc, test_defects from ml.model_results "
        "where company_id = 'JC-DCS-03'").fetchone()
    assert demonstrable and pr_low > baseline and test_defects >= 5
    scored = dict(con.execute("select cast(date_kst as varchar), count(*) from ml.predictions "
                              "where company_id = 'JC-DCS-03' group by 1").fetchall())
    assert scored == {"2026-11-04": 2400}  # the shots whose verdicts are not back yet, each scored once
    flag = con.execute("select flagged, cast(since_date_kst as varchar), value, detail from ml.drift_flags "
                       "where company_id = 'JC-DCS-03' and kind = 'feature_drift'").fetchone()
    assert flag[0] and flag[1] == "2026-11-04" and flag[2] > 0.25 and "molten_temp" in flag[3]
    html = (lake / "reports" / "ai" / "JC-DCS-03.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", "", html, flags=re.S)))
    assert "실증 가능" in text and "샷" in text
    assert re.search(r"경고 \(flagged\) 2026-11-04", text), text[text.find("드리프트"):][:400]
