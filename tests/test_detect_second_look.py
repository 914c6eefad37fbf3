"""The second look along text lines (inference/detect/second_look.py): pure parts, then the committed model on
development images whose lines run from a black field onto bright anatomy."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.detect import TextDetector
from inference.detect.second_look import (SecondLookSettings, chain_along_lines, flattened, look_regions,
                                          same_line_near, second_look)
from training.evaluate import load_image, score_image

ROOT = Path(__file__).resolve().parents[1]


def boxes(*rows):
    return np.array([[*r, 0.5] for r in rows], np.float32)


def test_flattened_view_ignores_the_background_level():
    flat_dark, flat_bright = np.full((40, 60), 20, np.uint8), np.full((40, 60), 200, np.uint8)
    assert (flattened(flat_dark, 4, 3) == 128).all() and (flattened(flat_bright, 4, 3) == 128).all()
    stroke = flat_bright.copy()
    stroke[20, 10:50] = 215  # a faint line 15 levels above bright anatomy
    v = flattened(stroke, 4, 3)
    assert v[20, 30] > 160 and abs(int(v[5, 30]) - 128) <= 2


def test_median_view_keeps_a_line_that_crosses_from_a_dark_field_onto_bright_anatomy():
    """The Gaussian mixes the dark field and the bright anatomy beside it, so the whole bright side near the edge
    saturates and strokes there vanish; the median follows the edge (training/data/session11_second_look_rule.md)."""
    img = np.full((60, 120), 10, np.uint8)
    img[:, 60:] = 220                       # the edge of the field of view at x = 60
    img[30, 20:100:3] = 245                 # a dotted stroke crossing it, 25 levels above the anatomy
    gauss, median = flattened(img, 12, 5), flattened(img, 12, 5, "median")
    assert abs(int(median[10, 70]) - 128) <= 2 and abs(int(median[10, 50]) - 128) <= 2  # both fields even
    assert int(median[30, 65]) - int(median[30, 66]) > 60   # stroke vs the gap beside it, on the bright side
    assert gauss[10, 62] == 255                              # the Gaussian view is blown out there
    with pytest.raises(ValueError, match="background"):
        SecondLookSettings(background="mean")


def test_look_regions_merge_only_while_worth_it_with_slack():
    lines = boxes([0, 0, 100, 10], [95, 0, 105, 400])  # a line and a tall vertical label touching its end
    assert len(look_regions(lines, 2, 1000, 1000)) == 1            # always merged: one big bounding rect
    assert len(look_regions(lines, 2, 1000, 1000, slack=1.3)) == 2  # the bounding rect would be mostly empty
    near = boxes([0, 0, 100, 10], [50, 2, 150, 12])                # two pieces of one line
    assert len(look_regions(near, 2, 1000, 1000, slack=1.3)) == 1


def test_look_regions_reach_along_the_line_and_merge():
    r = look_regions(boxes([100, 50, 200, 60], [150, 55, 260, 65]), 10, 1000, 500)
    assert r == [(0, 40, 360, 75)]  # 10 x thickness along (clipped at 0), 1 x across; the two rects merged
    v = look_regions(boxes([10, 100, 20, 300]), 5, 1000, 1000)
    assert v == [(0, 50, 30, 350)]  # a vertical label reaches up and down
    assert look_regions(np.zeros((0, 5), np.float32), 10, 100, 100) == []


def test_same_line_near():
    line = boxes([100, 50, 200, 60])
    cands = boxes([205, 51, 260, 61],   # same line, gap 5 <= 1 x 10
                  [215, 50, 260, 60],   # same line, gap 15 > 10
                  [205, 62, 260, 72],   # the line below
                  [205, 45, 260, 85],   # much thicker: not the same line
                  [150, 40, 160, 90])   # vertical
    assert same_line_near(line, cands, 1.0)[0].tolist() == [True, False, False, False, False]
    assert same_line_near(line, cands, 2.0)[0].tolist() == [True, True, False, False, False]


def test_chain_reaches_along_the_line_only():
    line = boxes([100, 50, 200, 60])
    cands = boxes([205, 50, 250, 60], [255, 50, 300, 60], [305, 50, 350, 60],  # a chain of steps of 5 px
                  [600, 50, 650, 60],                                         # same row, far away
                  [100, 200, 200, 210])                                       # elsewhere
    kept = chain_along_lines(line, cands, 1.0)
    assert sorted(kept[:, 0].tolist()) == [205, 255, 305]
    assert len(chain_along_lines(np.zeros((0, 5), np.float32), cands, 1.0)) == 0


def test_second_look_keeps_only_continuations():
    """A stub detector that 'sees' a box beside the line and one far away: only the continuation is kept,
    in image coordinates and with the margin applied."""
    gray = np.zeros((200, 400), np.uint8)
    raw = boxes([20, 20, 120, 30])
    look = SecondLookSettings(reach=10, accept=0.01, gap=1.0)

    def detect_view(view):  # crop coordinates: the region starts at x=0, y=10
        return np.array([[125, 10, 180, 20, 0.02], [200, 150, 260, 160, 0.9], [185, 10, 200, 20, 0.001]], np.float32)

    out = second_look(gray, raw, look, detect_view, lambda d: d)
    assert out[:, :4].tolist() == [[125, 20, 180, 30]]
    assert len(second_look(gray, np.zeros((0, 5), np.float32), look, detect_view, lambda d: d)) == 0


def test_settings_from_sidecar():
    assert SecondLookSettings.from_dict(None) is None and SecondLookSettings.from_dict({}) is None
    assert SecondLookSettings.from_dict({"reach": 5}).reach == 5
    with pytest.raises(TypeError):
        SecondLookSettings.from_dict({"rech": 5})


HARD_DEV_IMAGES = (1262, 1472)  # dev set 9401: lines from a black field onto bright fluoroscopy, missed by gen 5


@pytest.fixture(scope="module")
def hard_dev_images(tmp_path_factory):
    """Two images of development set 9401 (held-out layouts and fonts), regenerated bit for bit by synth."""
    out = tmp_path_factory.mktemp("dev9401")
    for index in HARD_DEV_IMAGES:
        subprocess.run([sys.executable, "-m", "synth.generate", "--out", str(out), "--n", "1", "--start", str(index),
                        "--seed", "9401", "--families", "us_corner_blocks", "inverse_plate_dx", "xa_rf_overlay",
                        "--fonts", "held-out", "--documents-every", "0"], check=True, cwd=ROOT, capture_output=True)
    return out


@pytest.mark.xfail(strict=True, reason="gen 6 regression (issue 16, models/MODEL_CARD.md): at the real-image operating "
                   "point (conf 0.3, grow 0.05) white hairline text running onto bright fluoroscopy is missed again; "
                   "gen 5 at 0.05 / 0.003 covered these two images")
def test_model_covers_lines_running_onto_bright_anatomy(hard_dev_images):
    """Every personal-data item of these images is fully covered by the shipped detector; where the first pass
    alone leaves characters bare, the second look is what covers them."""
    det = TextDetector()
    labels = sorted((hard_dev_images / "gt").glob("*.json"))
    assert len(labels) == len(HARD_DEV_IMAGES), "the images were not regenerated: nothing would be checked"
    for gp in labels:
        gt = json.loads(gp.read_text())
        img = load_image(hard_dev_images / "png" / f"{gp.stem}.png")
        h, w = img.shape[:2]
        raw = det.detect_raw(img)
        first = det.select(raw, h, w)
        both = det.detect(img)
        assert not score_image(gt, both, h, w, img).missed, gp.stem
        if score_image(gt, first, h, w, img).missed:
            assert len(det.look_again(img, raw)), gp.stem
