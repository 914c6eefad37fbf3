"""python -m training.adapt (issue 18.3): reviewed files -> a realset.py-loadable labelled set -> a 1-epoch fine-tune
from the committed checkpoint -> before/after on the hold-out -> installed only if no worse; MLflow run logged.
A smoke test on 2 real reviewed files (a seconds-long fine-tune), never touching models/."""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from review_fixtures import ROOT, US_RGB, run_medanon, trail

US_PHILIPS = "pydicom+deid-data/deid_data/data/ultrasounds/GREYSCALE_IMAGE.dcm"


@pytest.fixture
def reviewed(tmp_path, shared_dicom):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(shared_dicom / US_RGB, src / "siemens.dcm")
    shutil.copy(shared_dicom / US_PHILIPS, src / "philips.dcm")
    out = tmp_path / "out"
    assert run_medanon(src, out).returncode == 0
    from inference.review.items import file_id
    from inference.review.store import ReviewStore
    audit = out.with_name("out.audit")
    store = ReviewStore(audit / "reviews.sqlite")
    recs = {r["source"]: r for r in trail(out)}
    first = recs["siemens.dcm"]["actions"]["pixels"]["regions"][0]
    store.save(file_id("siemens.dcm"), "siemens.dcm", recs["siemens.dcm"]["digest"], "approved", "DM",
               added=[[-1, 2, 170, 30, 340]], removed=[first])
    store.save(file_id("philips.dcm"), "philips.dcm", recs["philips.dcm"]["digest"], "needs redaction", "DM",
               added=[[-1, 400, 300, 500, 340]])
    return audit, first


def test_labelled_set_follows_the_realset_layout(reviewed, tmp_path):
    from training.adapt import reviewed_files, split, write_set
    from training.realset import load_real_set
    audit, removed = reviewed
    files = reviewed_files(audit)
    assert {f["source"] for f in files} == {"siemens.dcm", "philips.dcm"}
    siemens = next(f for f in files if f["source"] == "siemens.dcm")
    assert [2, 170, 30, 340] in siemens["labels"][0] and removed not in siemens["labels"][0]
    train, hold = split(files, 0.3)
    assert len(train) == 1 and len(hold) == 1
    write_set(files, tmp_path / "set")
    loaded = load_real_set(tmp_path / "set")
    assert len(loaded) == 2 and all(boxes for _, boxes in loaded)
    assert all(0 <= v <= 1 for _, boxes in loaded for b in boxes for v in b)


def test_no_reviews_is_a_clear_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "training.adapt", "--reviews", str(tmp_path), "--no-mlflow"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no review database" in r.stderr


def test_verdict_installs_only_when_no_worse():
    from training.adapt import verdict
    b = {"hold": {"items": 10, "missed": 2, "over_redaction": 0.05}}
    assert verdict(b, {"hold": {"items": 10, "missed": 1, "over_redaction": 0.05}})[0]
    assert not verdict(b, {"hold": {"items": 10, "missed": 3, "over_redaction": 0.01}})[0]
    assert not verdict(b, {"hold": {"items": 10, "missed": 0, "over_redaction": 0.06}})[0]


@pytest.mark.slow
@pytest.mark.train
@pytest.mark.timeout(900)
def test_one_epoch_adaptation_end_to_end(reviewed, tmp_path):
    pytest.importorskip("ultralytics")
    audit, _ = reviewed
    model = tmp_path / "model" / "text_detector.onnx"  # a copy: the committed model is never replaced by a test
    model.parent.mkdir()
    shutil.copy(ROOT / "models" / "text_detector.onnx", model)
    shutil.copy(ROOT / "models" / "text_detector.json", model.with_suffix(".json"))
    before = model.read_bytes()
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}", "YOLO_CONFIG_DIR": str(tmp_path / "yolo")}
    import os
    r = subprocess.run([sys.executable, "-m", "training.adapt", "--reviews", str(audit), "--epochs", "1",
                        "--model", str(model), "--work", str(tmp_path / "work"), "--params",
                        str(ROOT / "params_small.yaml"), "--replay-limit", "0"],
                       cwd=ROOT, capture_output=True, text=True, timeout=850, env={**os.environ, **env})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    report = json.loads((tmp_path / "work" / "adapt_report.json").read_text())
    assert report["counts"]["files_reviewed"] == 2 and report["counts"]["boxes_added"] == 2
    hold_b, hold_a = report["before"]["reviewed hold-out"], report["after"]["reviewed hold-out"]
    assert hold_b["items"] == hold_a["items"] > 0
    assert "What changed with the new model" in r.stdout and "text items missed" in r.stdout
    no_worse = hold_a["missed"] <= hold_b["missed"] and hold_a["over_redaction"] <= hold_b["over_redaction"] + 1e-9
    synth_b, synth_a = report["before"]["synthetic held-out"], report["after"]["synthetic held-out"]
    if synth_b and synth_a:
        no_worse &= synth_a["missed"] <= synth_b["missed"] and synth_a["over_redaction"] <= synth_b["over_redaction"] + 1e-9
    assert report["installed"] == no_worse
    assert (model.read_bytes() != before) == no_worse  # replaced only when no worse
    runs = sqlite3.connect(tmp_path / "mlflow.db").execute("SELECT name FROM runs").fetchall()
    assert ("adapt",) in runs


def test_labels_are_trimmed_to_their_ink_and_replay_draws_from_what_exists(tmp_path):
    """The run's boxes carry the safety margin: a label is cut back to the ink inside it (else the fine-tuned model
    learns fatter boxes). The replay sample links only existing folders' pairs, evenly, up to the limit."""
    from training.adapt import ink_tight, replay_set

    view = np.zeros((40, 80), np.uint8)
    view[12:20, 10:50] = 255                                   # the ink
    assert ink_tight(view, [4, 8, 60, 26]) == [10, 12, 50, 20]  # a margin-grown box -> the ink's box
    assert ink_tight(np.zeros((40, 80), np.uint8), [4, 8, 60, 26]) == [4, 8, 60, 26]  # no ink: unchanged
    for name in ("a", "b"):
        (tmp_path / name / "png").mkdir(parents=True)
        (tmp_path / name / "labels").mkdir()
        for i in range(5):
            (tmp_path / name / "png" / f"{i}.png").write_bytes(b"png")
            (tmp_path / name / "labels" / f"{i}.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    out = replay_set([str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "missing")], 6, tmp_path / "r")
    assert out is not None and len(list((out / "png").iterdir())) == 6 == len(list((out / "labels").iterdir()))
    assert {p.name[:2] for p in (out / "png").iterdir()} == {"r0", "r1"}  # both pools, 3 each
    assert replay_set([str(tmp_path / "missing")], 6, tmp_path / "r2") is None
