"""`python -m orchestration.onboard run COMPANY`: one process call takes a newly registered
company from its landing files to rows in the warehouse and its quality report."""

from __future__ import annotations

import subprocess
import sys

import duckdb

from tests.onboard.conftest import NEW_COMPANY, REPO, fryer_log

MAPPING = f"""\
company_id: {NEW_COMPANY}
datasets:
  - dataset: sensor_readings
    files: "plc/튀김기_*.csv"
    encoding: cp949
    header_row: 2
    timestamp: {{columns: [일시], format: "%Y-%m-%d %p %I:%M:%S", locale: ko}}
    equipment: {{column: 설비}}
    line: {{value: LINE-1}}
    layout: wide
    sensors:
      "유온(℃)": {{tag: TEMP, unit: degC}}
      "압력(kgf/cm2)": {{tag: PRES, unit: kgf/cm2}}
"""


def onboard(*args, env, timeout=600):
    return subprocess.run([sys.executable, "-m", "orchestration.onboard", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_onboard_run_lands_a_new_company_and_writes_its_report(onboarding_env):
    clients, lake, env = onboarding_env["clients"], onboarding_env["lake"], onboarding_env["env"]
    (clients / "mappings" / f"{NEW_COMPANY}.yaml").write_text(MAPPING, encoding="utf-8")
    export = lake / "landing" / NEW_COMPANY / "plc" / "튀김기_20261130.csv"
    export.parent.mkdir(parents=True)
    export.write_bytes(fryer_log(120))

    done = onboard("run", NEW_COMPANY, env=env)

    assert done.returncode == 0, done.stdout + done.stderr
    con = duckdb.connect(str(lake / "warehouse" / "manufacturing.duckdb"), read_only=True)
    per_tag = dict(con.execute("select tag_code, count(*) from fct_sensor_readings where company_id = ? group by 1",
                               [NEW_COMPANY]).fetchall())
    assert per_tag == {"TEMP": 120, "PRES": 120}
    first = con.execute("select value_si from fct_sensor_readings where company_id = ? and tag_code = 'PRES' "
                        "order by reading_ts_utc, equipment_id limit 1", [NEW_COMPANY]).fetchone()[0]
    assert abs(first - 1.20 * 98.0665) < 1e-6  # kgf/cm2 -> kPa
    report = lake / "reports" / "quality" / f"{NEW_COMPANY}.html"
    assert report.is_file() and "진천한과식품" in report.read_text(encoding="utf-8")
    # a short human summary, Dagster's event log kept out of the terminal
    assert "1 file(s) landed" in done.stdout and "sensor_readings 240" in done.stdout
    assert str(report) in done.stdout
    assert "DEBUG" not in done.stdout + done.stderr and "Traceback" not in done.stdout + done.stderr
    logs = list((lake / "logs").glob("onboard-*.log"))
    assert logs and "STEP_SUCCESS" in logs[0].read_text(encoding="utf-8")
    # the runs are in Dagster's instance (what the UI shows)
    import dagster as dg

    with dg.DagsterInstance.from_config(str(lake / "dagster_home")) as instance:
        jobs = {r.job_name for r in instance.get_runs()}
    assert {"registry_job", "ingest_company_job", "warehouse_job", "quality_report_job"} <= jobs


def test_a_step_that_cannot_go_on_ends_in_one_line_and_exit_1(onboarding_env):
    clients, env = onboarding_env["clients"], onboarding_env["env"]
    (clients / "mappings" / f"{NEW_COMPANY}.yaml").write_text(MAPPING.replace("layout: wide", "layout: sideways"),
                                                              encoding="utf-8")
    done = onboard("run", NEW_COMPANY, env=env, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "layout" in done.stderr and NEW_COMPANY in done.stderr
    assert "Traceback" not in done.stderr

    done = onboard("ingest", "NO-SUCH-01", env=env, timeout=120)
    assert done.returncode == 1 and "NO-SUCH-01 is not in" in done.stderr
