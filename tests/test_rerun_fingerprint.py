"""Re-runs (issue 19.5): the fingerprint that decides "already done" includes the code version (package version
and a digest of the inference/ files) and the model's hash, so a de-identification fix processes files again."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from inference.context import RunOptions
from inference.resources import code_digest
from inference.run import fingerprint
from test_run_cli import GSPS, make_object

ROOT = Path(__file__).resolve().parents[1]
KEY = b"medanon-test-key-0123456789abcdef"


def test_the_digest_follows_every_code_and_data_file_but_not_the_model(tmp_path: Path) -> None:
    code = tmp_path / "inference"
    shutil.copytree(ROOT / "inference", code, ignore=shutil.ignore_patterns("__pycache__"))
    before = code_digest(code)
    (code / "models").mkdir(exist_ok=True)
    (code / "models" / "text_detector.json").write_text("{}")
    assert code_digest(code) == before  # the model has its own hash in the fingerprint
    profile = code / "header" / "profiles" / "basic.yaml"
    profile.write_text(profile.read_text() + "\n# a site's change\n")
    after_profile = code_digest(code)
    assert after_profile != before
    engine = code / "header" / "engine.py"
    engine.write_text(engine.read_text() + "\n# a fix\n")
    assert code_digest(code) not in (before, after_profile)


def test_fingerprint_has_the_code_version_and_the_model(tmp_path: Path, monkeypatch) -> None:
    import inference.run as run
    base = fingerprint(RunOptions(), KEY)
    monkeypatch.setattr(run, "code_version", lambda: "0.1.0+another")
    assert fingerprint(RunOptions(), KEY) != base
    monkeypatch.undo()
    model = tmp_path / "m.onnx"
    model.write_bytes((ROOT / "models" / "text_detector.onnx").read_bytes() + b"\0")
    assert fingerprint(RunOptions(model_path=model), KEY) != base


def _run(code_root: Path, src: Path, out: Path) -> dict:
    env = {**os.environ, "MEDANON_KEY": KEY.decode()}
    proc = subprocess.run([sys.executable, "-m", "inference.run", str(src), str(out), "--quiet"], cwd=code_root,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summaries = sorted(out.with_name(out.name + ".audit").glob("summary-*.json"))
    return json.loads(summaries[-1].read_text())


def test_a_code_change_processes_done_files_again(tmp_path: Path) -> None:
    """Real runs from a copy of the package: unchanged code skips the file, a changed file processes it again."""
    code_root = tmp_path / "code"
    shutil.copytree(ROOT / "inference", code_root / "inference", ignore=shutil.ignore_patterns("__pycache__"))
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    make_object(GSPS, "1.2.3", "1.2.3.4").save_as(src / "pr.dcm", enforce_file_format=True)
    assert _run(code_root, src, out)["counts"] == {"written": 1}
    assert _run(code_root, src, out)["counts"] == {"already done": 1}
    handlers = code_root / "inference" / "header" / "handlers.py"
    handlers.write_text(handlers.read_text() + "\n# a de-identification fix\n")
    assert _run(code_root, src, out)["counts"] == {"written": 1}
