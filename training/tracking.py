"""MLflow logging for train and evaluate runs: a local sqlite store under the project unless MLFLOW_TRACKING_URI says
otherwise. Open the UI with ``mlflow ui --backend-store-uri sqlite:///mlflow.db`` from the project root."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from training.env import ROOT, setup_offline

EXPERIMENT = "text-detector"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{ROOT / 'mlflow.db'}"


@contextlib.contextmanager
def mlflow_run(name: str, params: dict[str, Any]) -> Iterator[Any]:
    """Start an MLflow run with params logged; yields the mlflow module (log_metric(s), log_artifact...)."""
    setup_offline()
    import logging

    import mlflow  # noqa: PLC0415 - training extra only

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(tracking_uri())
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=name):
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        yield mlflow


def safe_metric_name(name: str) -> str:
    """MLflow allows alphanumerics, _ - . space / only."""
    return "".join(c if c.isalnum() or c in "_-./ " else "_" for c in name)


def log_artifacts_if_exist(mlflow: Any, paths: list[Path], subdir: str | None = None) -> None:
    for p in paths:
        if Path(p).exists():
            mlflow.log_artifact(str(p), artifact_path=subdir)
