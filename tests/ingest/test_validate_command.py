"""`python -m orchestration.ingest.validate`: what an engineer sees before a file lands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ingest_fixtures import LONG_HEADER, World

REPO = Path(__file__).resolve().parents[2]


def validate(world: World, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestration.ingest.validate", *args,
                           "--clients-dir", str(world.clients)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_good_file_with_unmapped_column(world: World):
    before = sorted(p.relative_to(world.root) for p in world.root.rglob("*"))
    result = validate(world, "ACME", str(world.landing / "ACME/sensors/wide_good.csv"), "--rows", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "sensor_readings" in out and "cp949" in out
    assert "unmapped   비고" in out
    assert "3 data rows read -> 6 standard rows, 0 rejected" in out
    assert "MIX-01" in out and "2026-10-31T23:00:00Z" in out  # first rows, 오전 08:00 KST in UTC
    assert "MIX-02" not in out  # --rows 2 shows only the first two readings
    assert sorted(p.relative_to(world.root) for p in world.root.rglob("*")) == before  # nothing written


def test_partially_bad_file_lists_rejections_by_reason(world: World, tmp_path):
    sample = tmp_path / "long_sample.csv"  # outside the landing area: matched by its name
    sample.write_text(LONG_HEADER + "2026-11-01 08:00:00,M1,T-03,1,degC\n2026-11-01 08:00:00,M1,T-03,ERR,degC\n"
                      "2026-11-01 08:00:00,M1,Q-9,1,degC\n", encoding="utf-8")
    result = validate(world, "ACME", str(sample))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "non_numeric_value: 1" in result.stdout and "unknown_tag: 1" in result.stdout
    assert "'ERR'" in result.stdout and "LANDS PARTIALLY" in result.stdout


def test_file_that_would_be_quarantined(world: World, tmp_path):
    sample = tmp_path / "long_cp949.csv"
    sample.write_bytes((LONG_HEADER + "2026-11-01 08:00:00,혼합기,T-03,1,degC\n").encode("cp949"))
    result = validate(world, "ACME", str(sample))
    assert result.returncode == 1
    assert "QUARANTINED  wrong_encoding" in result.stdout
    unmapped = tmp_path / "notes.txt"
    unmapped.write_text("hello\n", encoding="utf-8")
    result = validate(world, "ACME", str(unmapped))
    assert result.returncode == 1 and "unmapped_file" in result.stdout


def test_broken_mapping(world: World):
    mapping = world.clients / "mappings" / "ACME.yaml"
    mapping.write_text(mapping.read_text(encoding="utf-8").replace("unit: psi", "unit: PSI"), encoding="utf-8")
    result = validate(world, "ACME", str(world.landing / "ACME/sensors/wide_good.csv"))
    assert result.returncode == 2
    assert "MAPPING ERROR" in result.stdout and "unknown unit 'PSI'" in result.stdout


def test_validate_says_when_a_file_waits_for_its_completion_marker(world: World):
    mapping = world.clients / "mappings" / "ACME.yaml"
    mapping.write_text(mapping.read_text(encoding="utf-8").replace("\ndatasets:", '\ncompletion_marker: "{name}.done"'
                                                                   "\ndatasets:", 1), encoding="utf-8")
    data = world.landing / "ACME/sensors/wide_good.csv"
    waiting = validate(world, "ACME", str(data))
    assert waiting.returncode == 0, waiting.stdout + waiting.stderr
    assert "once sensors/wide_good.csv.done exists beside it (not there yet" in waiting.stdout
    marker = data.with_name(data.name + ".done")
    marker.write_bytes(b"")
    assert "(it does)" in validate(world, "ACME", str(data)).stdout
    on_marker = validate(world, "ACME", str(marker))
    assert on_marker.returncode == 0 and "MARKER       a completion marker" in on_marker.stdout
