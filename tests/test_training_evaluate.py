"""Recall harness arithmetic (training/evaluate.py): what counts as found, CI, over-redaction."""
import numpy as np
import pytest

from training.evaluate import box_mask, covered, instances_needed, score_image, wilson


def test_wilson_interval():
    lo, hi = wilson(3000, 3000)
    assert 0.998 < lo < 0.9988 and hi == 1.0  # zero misses in 3000 -> lower bound ~99.87 %
    lo, hi = wilson(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-3) and hi == pytest.approx(0.5962, abs=1e-3)
    assert wilson(0, 0) == (0.0, 1.0)


def test_instances_needed_rule_of_three():
    assert instances_needed(0.9999) == 29956  # ~3 / 0.0001
    assert instances_needed(0.999) == 2995


def test_covered_needs_every_pixel():
    m = box_mask(np.array([[10, 10, 20, 20, 1.0]]), 30, 30)
    assert covered(m, [11, 11, 19, 19])
    assert not covered(m, [11, 11, 21, 19])  # one pixel column outside


GT = {"items": [
    {"text": "JONAS", "phi": True, "box": [10, 10, 60, 20],
     "chars": [[10, 10, 20, 20], [20, 10, 30, 20], None, [40, 10, 50, 20], [50, 10, 60, 20]]},
    {"text": "kV 120", "phi": False, "box": [10, 50, 60, 60], "chars": [[10, 50, 60, 60]]},
    {"text": "OTHER FRAME", "phi": True, "box": [70, 70, 90, 80], "chars": [[70, 70, 90, 80]], "frames": [3, 4]},
]}


def test_instance_found_only_if_every_char_covered():
    full = np.array([[8, 8, 62, 22, 0.9]], np.float32)
    r = score_image(GT, full, 100, 100)
    assert (r.tally.items, r.tally.found, r.tally.chars, r.tally.chars_found) == (1, 1, 4, 4)  # frame-3 item ignored
    cut = np.array([[8, 8, 55, 22, 0.9]], np.float32)  # last character half outside
    r = score_image(GT, cut, 100, 100)
    assert (r.tally.found, r.tally.chars_found) == (0, 3)
    assert r.missed and r.missed[0]["text"] == "JONAS"


def test_precision_and_over_redaction():
    dets = np.array([[8, 8, 62, 22, 0.9], [80, 30, 100, 40, 0.5]], np.float32)  # second box on background
    r = score_image(GT, dets, 100, 100)
    assert (r.preds, r.preds_on_text) == (2, 1)
    nontext = 100 * 100 - 50 * 10 - 50 * 10
    assert r.nontext_px == nontext
    assert r.blanked_nontext_px == (54 * 14 - 50 * 10) + 20 * 10


def test_invisible_characters_are_not_required():
    """Text drawn in its background's own value (white on a saturated field) holds no information: an item with no
    visible character is counted apart, and a partly visible item needs only its visible characters covered."""
    img = np.zeros((100, 100), np.uint8)
    img[12:18, 12:18] = 255  # only the first character of JONAS has ink that differs from its background
    r = score_image(GT, np.zeros((0, 5), np.float32), 100, 100, img)
    assert (r.tally.items, r.tally.found, r.tally.chars) == (1, 0, 1)  # J must be covered; O, A, S are invisible
    flat = np.full((100, 100), 255, np.uint8)
    r = score_image(GT, np.zeros((0, 5), np.float32), 100, 100, flat)
    assert (r.tally.items, r.tally.invisible) == (0, 1)
    assert r.tally.summary()["invisible_items"] == 1


def test_evaluate_reports_what_the_second_look_adds(tmp_path):
    """evaluate() scores the operating point with the second look and, apart, without it: a stub detector whose
    first pass covers half a line and whose second look covers the rest."""
    import json

    import cv2

    from inference.detect.detector import DetectorSettings
    from inference.detect.second_look import SecondLookSettings
    from training.evaluate import evaluate

    (tmp_path / "gt").mkdir()
    (tmp_path / "png").mkdir()
    chars = [[10 + 10 * i, 40, 18 + 10 * i, 52] for i in range(10)]
    img = np.zeros((100, 200), np.uint8)
    for x0, y0, x1, y1 in chars:
        img[y0 + 2:y1 - 2, x0 + 2:x1 - 2] = 255  # ink: characters with one pixel value are not required
    cv2.imwrite(str(tmp_path / "png" / "a.png"), img)
    (tmp_path / "gt" / "a.json").write_text(json.dumps({"family": "f", "exam_type": "e", "items": [
        {"text": "0123456789", "phi": True, "kind": "name", "box": [10, 40, 108, 52], "chars": chars}]}))

    class Stub:
        settings = DetectorSettings(conf=0.5, margin_rel=0.0, margin_along=0.0, margin_min=0,
                                    second_look=SecondLookSettings())

        def detect_raw(self, img):
            return np.array([[8, 38, 60, 54, 0.9]], np.float32)

        def look_again(self, img, raw):
            return np.array([[55, 38, 110, 54, 0.01]], np.float32)

    m = evaluate(tmp_path, Stub())
    assert m["instance_recall"] == 1.0 and m["first_pass_only"]["instance_recall"] == 0.0
    assert m["first_pass_only"]["instances"] == m["instances"] == 1
