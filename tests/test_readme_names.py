"""The README and the UI agree: every job, schedule, sensor and asset group the README names is
one the definitions have, and the README lists every asset group there is."""

from __future__ import annotations

import re

from orchestration.definitions import defs
from orchestration.settings import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def _named(suffix: str) -> set[str]:
    return set(re.findall(rf"`([a-z][a-z0-9_]*_{suffix})`", README))


def test_every_job_schedule_and_sensor_the_readme_names_exists():
    definitions = defs()
    assert _named("job") <= {j.name for j in definitions.jobs}, "README names a job the definitions lack"
    assert _named("schedule") <= {s.name for s in definitions.schedules}
    assert _named("sensor") <= {s.name for s in definitions.sensors}
    assert {"nightly_warehouse_schedule", "weekly_bronze_upkeep_schedule", "landing_sensor"} <= (
        _named("schedule") | _named("sensor"))


def test_readme_lists_exactly_the_asset_groups():
    graph = defs().resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    listed = re.search(r"Assets are grouped by stage \(groups:(.*?)\)\. ", README, re.S)
    assert listed, "README lost its list of asset groups"
    assert set(re.findall(r"`([a-z_]+)`", listed.group(1))) == groups
