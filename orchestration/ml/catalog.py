"""The feature catalogue: name, meaning, window, source and grain of every feature.

One documented place: the dbt yml beside the feature models (dbt_project/models/features/
_features__models.yml), where analysts read it in the dbt docs. A column is a feature when its
`meta` says `feature: true`; this module only reads that file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import yaml

from orchestration.settings import DBT_PROJECT_DIR

FEATURES_YML = DBT_PROJECT_DIR / "models" / "features" / "_features__models.yml"
PER_SENSOR_MODEL = "unit_sensor_window_features"


@dataclass(frozen=True)
class FeatureDefinition:
    name: str  # column in its model; per-sensor features appear as <source_tag>__<name> in a training set
    model: str
    meaning: str
    window: str
    source: str
    grain: str

    @property
    def per_sensor(self) -> bool:
        return self.model == PER_SENSOR_MODEL


@functools.lru_cache(maxsize=1)
def feature_catalog() -> tuple[FeatureDefinition, ...]:
    models = yaml.safe_load(FEATURES_YML.read_text(encoding="utf-8"))["models"]
    return tuple(
        FeatureDefinition(column["name"], model["name"], column["description"], str(meta["window"]),
                          str(meta["source"]), str(meta["grain"]))
        for model in models for column in model.get("columns") or []
        if (meta := column.get("meta") or {}).get("feature"))


def features_of(model: str) -> list[str]:
    return [f.name for f in feature_catalog() if f.model == model]


def describe(column: str) -> FeatureDefinition | None:
    """The definition behind a training-set column (`TEMP_PV__mean_value` -> mean_value of sensor TEMP_PV)."""
    name = column.split("__", 1)[1] if "__" in column else column
    return next((f for f in feature_catalog() if f.name == name and f.per_sensor == ("__" in column)), None)
