"""The demo's per-shot die caster (JC-DCS-03): its shot tables and verdict files are written as its
mapping reads them, with a learnable pattern at a realistic defect rate, the last day's verdicts
not back yet (what the model scores first) and that day's melt drifted (what post-management must
flag). Numbers are read back from the CSV files, not from the generator's own counts."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from orchestration.ingest.mapping import load_mapping
from orchestration.sample_clients import generate_sample
from orchestration.settings import clients_dir

COMPANY = "JC-DCS-03"


def read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_per_shot_company(tmp_path):
    load_mapping(clients_dir() / "mappings" / f"{COMPANY}.yaml")  # the checked-in mapping is valid
    manifest = generate_sample(tmp_path / "landing", seed=42, days=3, companies=[COMPANY])
    root = tmp_path / "landing" / COMPANY
    shot_files = sorted((root / "shots").glob("*.csv"))
    verdict_files = sorted((root / "qc").glob("*.csv"))
    assert len(shot_files) == 3 and len(verdict_files) == 2  # the last day's verdicts are not back yet
    days = [read(f) for f in shot_files]
    verdicts = {r["샷번호"]: r["판정"] == "불량" for f in verdict_files for r in read(f)}
    labelled = [r for day in days[:2] for r in day]
    assert set(verdicts) == {r["count"] for r in labelled}
    assert len({r["count"] for day in days for r in day}) == sum(len(d) for d in days)  # shot numbers unique
    rate = np.mean(list(verdicts.values()))
    assert 0.005 <= rate <= 0.05
    melt = np.array([float(r["molten_temp"]) for r in labelled])
    failed = np.array([verdicts[r["count"]] for r in labelled])
    assert melt[failed].mean() > melt[~failed].mean() + 2 * melt[~failed].std() / 2  # the planted hot melt
    drifted = np.array([float(r["molten_temp"]) for r in days[2]])
    assert drifted.mean() - melt[~failed].mean() > 0.8 * melt[~failed].std()
    assert manifest.companies[COMPANY]["planted_pattern"] and manifest.companies[COMPANY]["unit_kind"] == "shot"
    assert {f["path"] for f in manifest.files} == {f"{COMPANY}/{p.relative_to(root).as_posix()}"
                                                   for p in shot_files + verdict_files}
