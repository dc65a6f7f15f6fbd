"""Model runs in MLflow: a SQLite tracking store and artifacts under the lake, one experiment
and one registered model per company.

The project installs `mlflow-skinny` (tracking client, model registry, SQLite store through the
SQLAlchemy/Alembic that Dagster already brings); the full `mlflow` package would pin pyarrow
below the project's 26. The UI runs from the same MLflow version in its own tool environment,
reading the same store (README, "AI solutions"):

    uvx --from mlflow==3.17.2 mlflow ui --backend-store-uri sqlite:///lake/mlflow/mlflow.db --host 127.0.0.1 --port 5000
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # offline machines; nothing leaves the center
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

UI_PORT = 5000


def experiment_name(company_id: str) -> str:
    return f"defect_prediction/{company_id}"


def registered_model_name(company_id: str) -> str:
    return f"defect_prediction_{company_id}"


def code_version() -> str:
    """The git commit of the code that trained (with `+dirty` when the tree has changes)."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@dataclass(frozen=True)
class TrackedRun:
    run_id: str
    experiment_id: str
    model_name: str | None
    model_version: str | None
    tracking_uri: str

    def ui_url(self, port: int = UI_PORT) -> str:
        return f"http://127.0.0.1:{port}/#/experiments/{self.experiment_id}/runs/{self.run_id}"


class Tracking:
    """MLflow for one lake: `<mlflow_root>/mlflow.db` and `<mlflow_root>/artifacts/<experiment>`."""

    def __init__(self, mlflow_root: Path):
        self.root = Path(mlflow_root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.uri = f"sqlite:///{self.root / 'mlflow.db'}"

    def client(self):
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def experiment_id(self, company_id: str) -> str:
        client = self.client()
        name = experiment_name(company_id)
        found = client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = self.root / "artifacts" / company_id
        return client.create_experiment(name, artifact_location=location.as_uri())

    def log_training(self, company_id: str, *, params: dict, metrics: dict, tags: dict, model=None,
                     artifacts: dict[str, str] | None = None) -> TrackedRun:
        """One run: params, metrics, tags (input version, code version, verdict), text artifacts,
        and the fitted model registered as a new version of the company's model."""
        import mlflow
        import mlflow.sklearn

        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        experiment = self.experiment_id(company_id)
        name = registered_model_name(company_id)
        with mlflow.start_run(experiment_id=experiment, run_name=f"{company_id} defect prediction") as run:
            mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
            mlflow.log_metrics(metrics)
            mlflow.set_tags(tags)
            with tempfile.TemporaryDirectory() as folder:
                for file_name, text in (artifacts or {}).items():
                    (Path(folder) / file_name).write_text(text, encoding="utf-8")
                if artifacts:
                    mlflow.log_artifacts(folder, artifact_path="report")
            version = None
            if model is not None:
                info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name,
                                                serialization_format="cloudpickle")
                version = str(info.registered_model_version)
                client = self.client()
                for key in ("demonstrable", "training_set_id"):
                    if key in tags:
                        client.set_model_version_tag(name, version, key, str(tags[key]))
        return TrackedRun(run.info.run_id, experiment, name if version else None, version, self.uri)

    def load_model(self, company_id: str, version: str):
        import mlflow.sklearn

        import mlflow
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        return mlflow.sklearn.load_model(f"models:/{registered_model_name(company_id)}/{version}")
