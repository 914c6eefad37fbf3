"""Real data for gen 6: the written split, real backgrounds under synthetic text, the real-image metric, the prior
boost and the operating-point rule."""
from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.detect.detector import boost_prior
from synth.samples import clean_samples, is_dev_source, real_background
from training.realdata import background_frames, labelled_files, real_frames, source_split
from training.realeval import RealTally, ink_mask, item_removed
from training.sweep_real import choose

ROOT = Path(__file__).resolve().parents[1]


def test_split_keeps_vendors_and_copies_on_one_side():
    dev, train = labelled_files("dev", with_copies=True), labelled_files("train", with_copies=True)
    dev_paths, train_paths = {f.path for f in dev}, {f.path for f in train}
    assert dev and train and not dev_paths & train_paths
    assert sum(it["phi"] for f in labelled_files("dev") for it in f.label["items"]) >= 50  # enough to judge


def test_dev_sources_never_reach_training():
    assert all(source_split(f.source) == "dev" for f in real_frames("dev"))
    train_bg = set(background_frames("train"))
    assert train_bg and not train_bg & {f.path for f in real_frames("dev")}
    for p in clean_samples(()):
        rel = p.relative_to(ROOT.parent / "shared" / "data" / "dicom")
        assert not is_dev_source(rel.parts[0]), p
    bright = background_frames("train", ("CR", "DX", "MG", "XA", "RF"))   # a hard block's modality filter
    mods = {f.path: f.modality for f in real_frames("train", has_text=False)}
    assert bright and set(bright) < train_bg and {mods[p] for p in bright} <= {"CR", "DX", "MG", "XA", "RF"}


def test_real_background_is_deterministic_and_sized():
    paths = background_frames("train")[:5]
    a = real_background(random.Random("1:2:real"), 200, 120, paths)
    b = real_background(random.Random("1:2:real"), 200, 120, paths)
    assert a.shape[:2] == (120, 200) and np.array_equal(a, b)


def test_synth_real_frames_option(tmp_path):
    bg = tmp_path / "bg.txt"
    bg.write_text("".join(f"{p}\n" for p in background_frames("train")[:10]))
    base = [sys.executable, "-m", "synth.generate", "--n", "3", "--seed", "3", "--documents-every", "0",
            "--families", "us_banner"]
    subprocess.run(base + ["--out", str(tmp_path / "plain")], check=True, cwd=ROOT, capture_output=True)
    subprocess.run(base + ["--out", str(tmp_path / "zero"), "--real-frames", "0", "--backgrounds", str(bg)],
                   check=True, cwd=ROOT, capture_output=True)
    subprocess.run(base + ["--out", str(tmp_path / "real"), "--real-frames", "1", "--backgrounds", str(bg)],
                   check=True, cwd=ROOT, capture_output=True)
    for name in ("s3_000000", "s3_000001", "s3_000002"):
        plain = cv2.imread(str(tmp_path / "plain" / "png" / f"{name}.png"))
        assert np.array_equal(plain, cv2.imread(str(tmp_path / "zero" / "png" / f"{name}.png")))
        assert not np.array_equal(plain, cv2.imread(str(tmp_path / "real" / "png" / f"{name}.png")))
        assert '"frame_generator": "real"' in (tmp_path / "real" / "gt" / f"{name}.json").read_text()
    bad = subprocess.run(base + ["--out", str(tmp_path / "bad"), "--real-frames", "1"], cwd=ROOT, capture_output=True,
                         text=True)
    assert bad.returncode != 0 and "--backgrounds" in bad.stderr


def _text_image() -> tuple[np.ndarray, list[float]]:
    img = np.full((60, 200), 40, np.uint8)
    cv2.putText(img, "DOE JOHN", (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 230, 2)
    return img, [8.0, 14.0, 160.0, 46.0]


def test_item_removed_needs_97_percent_of_ink():
    img, box = _text_image()
    ink = ink_mask(img, box)
    assert ink is not None and 50 < ink.sum() < ink.size
    changed = np.zeros(img.shape, bool)
    changed[14:46, 8:160] = True
    assert item_removed(changed, box, ink)
    changed[14:46, 120:160] = False  # the last letters stay readable
    assert not item_removed(changed, box, ink)
    assert ink_mask(np.full((60, 200), 40, np.uint8), box) is None  # nothing visible: not counted


def test_tally_reports_nontext_and_missed_personal_items():
    img, box = _text_image()
    changed = np.zeros(img.shape, bool)
    changed[:, 150:] = True  # misses most of the item and changes non-text pixels
    t = RealTally()
    t.add_text_frame("f", img, changed, [{"box": box, "text": "DOE JOHN", "phi": True}])
    s = t.summary()
    assert (s["phi_removed"], s["phi"]) == (0, 1) and s["missed_phi"] == ["f: 'DOE JOHN'"]
    assert len(s["missed_items"]) == 1 and s["missed_items"][0].startswith("f: 'DOE JOHN' (")  # with its share
    assert s["nontext_changed"]["mean"] == pytest.approx((50 * 60 - 10 * 32) / (60 * 200 - 152 * 32))


def test_boost_prior_only_inside_and_capped():
    raw = np.array([[0, 0, 10, 10, 0.02], [50, 50, 60, 60, 0.02], [0, 0, 10, 10, 0.5]], np.float32)
    prior = np.zeros((100, 100), bool)
    prior[:20, :20] = True
    out = boost_prior(raw, prior, conf=0.2, prior_conf=0.02)
    assert out[0, 4] == pytest.approx(0.2) and out[1, 4] == pytest.approx(0.02) and out[2, 4] == 1.0
    assert np.array_equal(boost_prior(raw, None, 0.2, 0.02), raw)
    assert np.array_equal(boost_prior(raw, prior, 0.2, None), raw)


def _row(name, **m):
    base = {"real_phi_missed": 0, "synth_phi_missed": 0, "real_text_missed": 0, "real_text_share": 1.0,
            "real_nontext_mean": 0.01, "free_mean": 0.001, "free_max": 0.01, "synth_or": 0.01}
    return {"model": name, "point": {}, "m": {**base, **m}}


def test_rule_prefers_fewest_misses_among_feasible_then_drops_limits_in_order():
    rows = [_row("a", synth_phi_missed=3), _row("b", synth_phi_missed=1, free_mean=0.004),
            _row("c", synth_phi_missed=0, free_mean=0.02)]  # c: over the real text-free limit
    best, dropped = choose(rows)
    assert best["model"] == "b" and dropped == []
    rows = [_row("a", synth_or=0.05, synth_phi_missed=2), _row("b", synth_or=0.03, synth_phi_missed=1)]
    best, dropped = choose(rows)
    assert best["model"] == "b" and dropped == ["synthetic over-redaction <= 2 %"]
