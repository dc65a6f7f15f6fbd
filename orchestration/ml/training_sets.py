"""Frozen training sets: the exact rows a model was trained on, kept under the lake.

A training set is written once, as `<root>/<company_id>/<training_set_id>.parquet`, and never
rewritten, so retraining against the recorded input version gives the same model after new data
landed, after a warehouse rebuild and after upkeep (which compacts and vacuums only bronze and the
warehouse). Its sha256 is recorded with the run; the warehouse snapshot it was read from is
recorded beside it when the warehouse has snapshots.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


@dataclass(frozen=True)
class TrainingSet:
    company_id: str
    training_set_id: str
    path: Path
    rows: int
    sha256: str

    def as_version(self) -> dict:
        return {"training_set_id": self.training_set_id, "path": str(self.path), "rows": self.rows,
                "sha256": self.sha256}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_training_set(root: Path, company_id: str, training_set_id: str, frame: pd.DataFrame) -> TrainingSet:
    path = Path(root) / company_id / f"{training_set_id}.parquet"
    if path.exists():
        raise FileExistsError(f"training set {training_set_id} of {company_id} already exists at {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".parquet.partial")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), partial)
    partial.replace(path)
    return TrainingSet(company_id, training_set_id, path, len(frame), _sha256(path))


def load_training_set(root: Path, company_id: str, training_set_id: str, *, sha256: str | None = None) -> pd.DataFrame:
    path = Path(root) / company_id / f"{training_set_id}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{company_id}: no training set {training_set_id} under {Path(root) / company_id}")
    if sha256 is not None and _sha256(path) != sha256:
        raise ValueError(f"{company_id}: training set {training_set_id} at {path} has changed since it was recorded")
    return pq.read_table(path).to_pandas()
