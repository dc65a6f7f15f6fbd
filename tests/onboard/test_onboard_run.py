"""The README's "Onboard a client" walkthrough, run as written: the file lands, `draft --write`
drafts the mapping, `validate` checks it, and one `onboard run` call takes the newly registered
company from its landing files to rows in the warehouse and its quality report."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import duckdb

from orchestration.warehouse.ducklake import Warehouse
from tests.onboard.conftest import NEW_COMPANY, REPO, fryer_log

ROWS = 120


def walkthrough_commands() -> list[str]:
    """The shell lines of the README's walkthrough block (comments are the steps done by hand)."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## Onboard a client", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    lines = [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [line.replace("uv run python", f'"{sys.executable}"') for line in lines]


def onboard(*args, env, timeout=600):
    return subprocess.run([sys.executable, "-m", "orchestration.onboard", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_the_readme_walkthrough_onboards_a_new_company(onboarding_env, tmp_path):
    clients, lake, env = onboarding_env["clients"], onboarding_env["lake"], onboarding_env["env"]
    home = tmp_path / "home"
    export = home / "Downloads" / "튀김기_20261130.csv"  # what the client sent
    export.parent.mkdir(parents=True)
    export.write_bytes(fryer_log(ROWS))
    os.utime(export, (time.time() - 3600, time.time() - 3600))
    env = {**env, "HOME": str(home)}

    commands = walkthrough_commands()
    assert [c.split(" -m orchestration.onboard ")[-1].split()[0] for c in commands[1:]] == ["draft", "validate", "run"]
    outputs = []
    for command in commands:
        done = subprocess.run(["bash", "-ec", command], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done)
    run = outputs[-1]

    assert (clients / "mappings" / f"{NEW_COMPANY}.yaml").is_file()  # drafted, unedited
    con = Warehouse.in_folder(lake / "warehouse").connect_read_only()
    per_tag = dict(con.execute("select tag_code, count(*) from fct_sensor_readings where company_id = ? group by 1",
                               [NEW_COMPANY]).fetchall())
    assert per_tag == {"TEMP": ROWS, "PRES": ROWS}
    first = con.execute("select value_si from fct_sensor_readings where company_id = ? and tag_code = 'PRES' "
                        "order by reading_ts_utc, equipment_id limit 1", [NEW_COMPANY]).fetchone()[0]
    assert abs(first - 1.20 * 98.0665) < 1e-6  # 1.20 kgf/cm2 in kPa
    report = lake / "reports" / "quality" / f"{NEW_COMPANY}.html"
    assert report.is_file() and "진천한과식품" in report.read_text(encoding="utf-8")
    # a short human summary; Dagster's event log kept out of the terminal and in the log file
    assert "1 file(s) landed" in run.stdout and f"sensor_readings {2 * ROWS}" in run.stdout
    assert str(report) in run.stdout
    assert "DEBUG" not in run.stdout + run.stderr and "Traceback" not in run.stdout + run.stderr
    logs = list((lake / "logs").glob("onboard-*.log"))
    assert logs and "STEP_SUCCESS" in logs[0].read_text(encoding="utf-8")
    # every step is a run in Dagster's instance (what the UI shows)
    import dagster as dg

    with dg.DagsterInstance.from_config(str(lake / "dagster_home")) as instance:
        jobs = {r.job_name for r in instance.get_runs()}
    assert {"registry_job", "ingest_company_job", "warehouse_job", "quality_report_job"} <= jobs


def test_a_step_that_cannot_go_on_ends_in_one_line_and_exit_1(onboarding_env):
    clients, env = onboarding_env["clients"], onboarding_env["env"]
    (clients / "mappings" / f"{NEW_COMPANY}.yaml").write_text(
        f"company_id: {NEW_COMPANY}\ndatasets:\n  - dataset: sensor_readings\n    files: 'plc/*.csv'\n"
        "    timestamp: {columns: [일시], format: '%Y-%m-%d %H:%M:%S'}\n    equipment: {column: 설비}\n"
        "    layout: sideways\n", encoding="utf-8")
    done = onboard("run", NEW_COMPANY, env=env, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "layout" in done.stderr and NEW_COMPANY in done.stderr
    assert "Traceback" not in done.stderr

    done = onboard("ingest", "NO-SUCH-01", env=env, timeout=120)
    assert done.returncode == 1 and "NO-SUCH-01 is not in" in done.stderr
