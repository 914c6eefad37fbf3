"""Log an audit run's numbers to MLflow so the dashboard shows QA over time. Optional: mlflow is imported lazily.

Tracking store: $MLFLOW_TRACKING_URI if set, else a SQLite file in the project (mlflow.db, git-ignored) with
artifacts under mlruns/. Without mlflow installed the audit still runs and says how to get the logging.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

EXPERIMENT = "medanon-audit"
PROJECT = Path(__file__).resolve().parents[2]


def default_tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{PROJECT / 'mlflow.db'}"


def numeric_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """Flat numeric metrics: totals, rates, ground truth, per-modality residual rates."""
    keys = ("files", "flagged", "residual_rate", "frames_checked", "seconds", "files_per_s", "seconds_per_frame")
    out = {k: float(summary[k]) for k in keys}
    for k, v in (summary.get("ground_truth") or {}).items():
        out[f"gt_{k}"] = float(v)
    for modality, row in summary.get("by_modality", {}).items():
        safe = "".join(c if c.isalnum() else "_" for c in modality)
        out[f"residual_rate_{safe}"] = float(row["residual_rate"])
    return out


def log_to_mlflow(summary: dict[str, Any], report_dir: Path | None, tracking_uri: str | None = None) -> str:
    """Log one run; returns a line for the user (logged where, or why not)."""
    try:
        import mlflow
    except ImportError:
        return "MLflow not installed: metrics not logged (install with scripts/install.sh train, or pip install mlflow)"
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = tracking_uri or default_tracking_uri()
    mlflow.set_tracking_uri(uri)
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        # artifacts beside a SQLite store, never in whatever folder the user happens to be in
        artifacts = (Path(uri[len("sqlite:///"):]).parent / "mlruns").resolve().as_uri() \
            if uri.startswith("sqlite:///") else None
        mlflow.create_experiment(EXPERIMENT, artifact_location=artifacts)
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=f"audit {Path(summary['output']).name}") as run:
        mlflow.log_params({"ocr_engine": summary["ocr_engine"], "threshold": summary["threshold"],
                           "flag_any_text": summary["flag_any_text"], "output": summary["output"]})
        mlflow.log_metrics(numeric_metrics(summary))
        mlflow.set_tag("passed", str(summary["passed"]))
        if report_dir is not None and (report_dir / "report.json").is_file():
            mlflow.log_artifact(str(report_dir / "report.json"))
        return f"MLflow: run {run.info.run_id} in experiment '{EXPERIMENT}' at {uri}"
