"""`dvc repro` of synth -> train -> export -> evaluate with the small profile, offline, in a fresh copy of the
project (what a clean clone contains: code, dvc.yaml, .dvc/config, the gen-1 checkpoint; no data, no runs, no ONNX model)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COPY = ["training", "synth", "inference", "models/checkpoints", "dvc.yaml", ".dvc/config", ".dvcignore"]


@pytest.mark.slow
@pytest.mark.train
@pytest.mark.timeout(300)
def test_dvc_repro_small_profile(tmp_path):
    pytest.importorskip("ultralytics")
    if shutil.which("dvc") is None:
        pytest.skip("dvc not installed (scripts/install.sh train)")
    work = tmp_path / "project"
    for name in COPY:
        src, dst = ROOT / name, work / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(src, dst)
    shutil.copy(ROOT / "params_small.yaml", work / "params.yaml")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
           "YOLO_CONFIG_DIR": str(tmp_path / "yolo"), "MEDANON_PARAMS": "",
           "MEDANON_SHARED": str(ROOT.parent / "shared")}  # the copy has no ../shared beside it
    env.pop("MEDANON_PARAMS")
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    r = subprocess.run(["dvc", "repro"], cwd=work, env=env, capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    m = json.loads((work / "metrics.json").read_text())
    assert m["images"] == 4 and m["instances"] > 0 and 0.0 <= m["over_redaction"] <= 1.0
    side = json.loads((work / "models" / "text_detector.json").read_text())
    assert side["settings"]["tile"] == 320 and len(side["sha256"]) == 64
    shown = subprocess.run(["dvc", "metrics", "show", "--json"], cwd=work, env=env, capture_output=True, text=True)
    assert shown.returncode == 0 and "instance_recall" in shown.stdout
    # the run is logged to MLflow: a train and an evaluate run
    assert (tmp_path / "mlflow.db").exists()
