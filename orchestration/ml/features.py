"""Training frames over the dbt feature models, and the same models run outside dbt.

dbt builds the feature models in the warehouse (schema `features`). The models use nothing but
`ref()`, so tests and the benchmark can render the very same SQL and run it on any DuckDB
connection holding the marts they read (`build_feature_tables`): one definition, two runners.
"""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import jinja2
import numpy as np
import pandas as pd

from orchestration.ml.catalog import PER_SENSOR_MODEL, features_of
from orchestration.settings import DBT_PROJECT_DIR

FEATURE_DIR = DBT_PROJECT_DIR / "models" / "features"
INPUT_DIR = DBT_PROJECT_DIR / "models" / "intermediate"
# In build order (each reads only marts and the models before it).
FEATURE_MODELS = ("production_units", "unit_window_versions", "unit_sensor_window_features", "unit_equipment_state", "unit_history_features",
                  "equipment_hourly_features")
# Intermediate models the feature models read, built before them (schema intermediate).
FEATURE_INPUTS = ("int_sensor_shots",)
UNIT_COLUMNS = ["unit_key", "company_id", "unit_kind", "line_id", "equipment_id", "unit_id", "product_code",
                "start_ts_utc", "end_ts_utc", "label_ts_utc", "is_defect"]


def render_feature_model(name: str) -> str:
    """The model's SQL as a full build renders it, with `ref('x')` resolved: feature models to
    `features.x`, their intermediate inputs to `intermediate.x`, marts to `main.x`."""
    def ref(model: str) -> str:
        if model in FEATURE_MODELS:
            return f"features.{model}"
        return f"intermediate.{model}" if model in FEATURE_INPUTS else f"main.{model}"

    # `do` as in dbt's own Jinja environment (the macros collect lists with it)
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"])
    # the project's macros the models call (surrogate_key: a shot's unit_key is the lot_key of its
    # labels; readings_in_unit_windows)
    macros = "".join((DBT_PROJECT_DIR / "macros" / name).read_text(encoding="utf-8")
                     for name in ("expressions.sql", "unit_windows.sql"))
    folder = INPUT_DIR if name in FEATURE_INPUTS else FEATURE_DIR
    sql = (folder / f"{name}.sql").read_text(encoding="utf-8")
    return environment.from_string(macros + sql).render(
        ref=ref, config=lambda **_: "", is_incremental=lambda: False, execute=False,
        run_started_at=datetime.now(timezone.utc)).strip()


def build_feature_tables(con: duckdb.DuckDBPyConnection, models: tuple[str, ...] = FEATURE_MODELS) -> None:
    """Build the feature models on `con` (which holds the marts in `main`) as a full dbt build
    would, their intermediate inputs first."""
    for schema, names in (("intermediate", FEATURE_INPUTS), ("features", models)):
        con.execute(f"create schema if not exists {schema}").fetchall()
        for name in names:
            con.execute(f"create or replace table {schema}.{name} as {render_feature_model(name)}").fetchall()


def unit_frame(con: duckdb.DuckDBPyConnection, company_id: str) -> pd.DataFrame:
    """One row per unit of the company, wide: unit columns, state and history features, and per-tag
    window features named <TAG>__<feature>. Sorted by unit end, then key (time order for splits)."""
    unit_features = features_of("production_units")
    state, history = features_of("unit_equipment_state"), features_of("unit_history_features")
    units = con.execute(f"""
        select {', '.join('u.' + c for c in UNIT_COLUMNS + unit_features)},
               {', '.join('s.' + c for c in state)}, {', '.join('h.' + c for c in history)}
        from features.production_units as u
        left join features.unit_equipment_state as s using (unit_key)
        left join features.unit_history_features as h using (unit_key)
        where u.company_id = ?
        order by u.end_ts_utc, u.unit_key
    """, [company_id]).df()
    per_sensor = features_of(PER_SENSOR_MODEL)
    tags = con.execute(f"""
        select t.unit_key, t.source_tag, {', '.join('t.' + c for c in per_sensor)}
        from features.unit_sensor_window_features as t
        join features.production_units as u using (unit_key)
        where u.company_id = ?
    """, [company_id]).df()
    if len(tags):
        wide = tags.pivot(index="unit_key", columns="source_tag", values=per_sensor)
        wide.columns = [f"{sensor}__{feature}" for feature, sensor in wide.columns]
        wide = wide[sorted(wide.columns)]
        units = units.merge(wide, left_on="unit_key", right_index=True, how="left")
    return units.reset_index(drop=True)


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The model's inputs: every catalogue feature present in the frame (per-sensor ones for each sensor)."""
    known = set(features_of("production_units") + features_of("unit_equipment_state")
                + features_of("unit_history_features"))
    per_sensor = set(features_of(PER_SENSOR_MODEL))
    return [c for c in frame.columns
            if c in known or ("__" in c and c.split("__", 1)[1] in per_sensor)]


def as_matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Features as floats (missing stays NaN: the model handles it); columns absent from the frame are NaN."""
    return frame.reindex(columns=columns).astype("float64").to_numpy()
