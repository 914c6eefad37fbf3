"""The committed ONNX detector (models/text_detector.onnx) on real synthetic images, and its failure modes."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.detect import DEFAULT_MODEL, ModelError, TextDetector
from inference.detect.boxes import iou_one_to_many
from inference.detect.tiling import crop_padded, to_rgb
from training.evaluate import load_image, score_image

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def detector():
    return TextDetector()


@pytest.fixture(scope="module")
def synth_images(tmp_path_factory):
    """Three fresh synthetic images (seed unseen in training) from the real generator."""
    out = tmp_path_factory.mktemp("synth")
    subprocess.run([sys.executable, "-m", "synth.generate", "--out", str(out), "--n", "4", "--seed", "424242"],
                   check=True, cwd=ROOT, capture_output=True)
    return out


def test_missing_model_raises(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        TextDetector(tmp_path / "nope.onnx")


def test_model_without_matching_sidecar_is_refused(tmp_path):
    m = tmp_path / "m.onnx"
    shutil.copy(DEFAULT_MODEL, m)
    with pytest.raises(ModelError, match="missing"):
        TextDetector(m)
    side = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    side["sha256"] = "0" * 64
    m.with_suffix(".json").write_text(json.dumps(side))
    with pytest.raises(ModelError, match="sha256"):
        TextDetector(m)


def test_corrupt_model_raises(tmp_path):
    m = tmp_path / "m.onnx"
    m.write_bytes(b"not an onnx graph")
    side = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    side.pop("sha256")
    m.with_suffix(".json").write_text(json.dumps(side))
    with pytest.raises(ModelError, match="cannot load"):
        TextDetector(m)


def test_detects_personal_text_on_unseen_images(detector, synth_images):
    found = total = 0
    for gp in sorted((synth_images / "gt").glob("*.json")):
        gt = json.loads(gp.read_text())
        img = load_image(synth_images / "png" / f"{gp.stem}.png")
        dets = detector.detect(img)
        assert dets.dtype == np.float32 and dets.shape[1] == 5
        h, w = img.shape[:2]
        assert (dets[:, 0] >= 0).all() and (dets[:, 2] <= w).all() and (dets[:, 3] <= h).all()
        r = score_image(gt, dets, h, w)
        found += r.tally.found
        total += r.tally.items
    assert total >= 5
    assert found / total >= 0.9, f"only {found}/{total} personal-data items fully covered"


def test_blank_image_has_no_boxes(detector):
    assert len(detector.detect(np.zeros((700, 900), np.uint8))) == 0


def test_grey_and_rgb_give_same_boxes(detector, synth_images):
    p = sorted((synth_images / "png").glob("*.png"))[0]
    grey = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
    a = detector.detect(grey)
    b = detector.detect(np.repeat(grey[:, :, None], 3, axis=2))
    np.testing.assert_allclose(a, b)


@pytest.mark.train
def test_same_boxes_as_ultralytics(detector, synth_images):
    """Our numpy pre/post-processing == ultralytics' on the same ONNX model, tile by tile."""
    pytest.importorskip("ultralytics")
    from training.env import configure_ultralytics

    configure_ultralytics()
    from ultralytics import YOLO

    s = detector.settings
    yolo = YOLO(str(detector.model_path), task="detect")
    compared = 0
    for p in sorted((synth_images / "png").glob("*.png"))[:3]:
        rgb = to_rgb(load_image(p))
        tile = crop_padded(rgb, 0, 0, s.tile)
        ours = detector.detect_tile(tile)
        res = yolo.predict(np.ascontiguousarray(tile[:, :, ::-1]), imgsz=s.tile, conf=detector.floor_conf, iou=s.iou,
                           max_det=s.max_det, device="cpu", verbose=False)[0]
        theirs = np.concatenate([res.boxes.xyxy.numpy(), res.boxes.conf.numpy()[:, None]], 1)
        assert abs(len(ours) - len(theirs)) <= max(1, len(theirs) // 50)
        for box in theirs:  # every ultralytics box has a twin in ours: same place (IoU >= 0.85), same score.
            # (not exact: among equal-score duplicates NMS tie-breaking may keep a neighbour 1-3 px away)
            iou = iou_one_to_many(box, ours) if len(ours) else np.zeros(1)
            k = int(iou.argmax())
            assert iou[k] >= 0.85 and abs(ours[k, 4] - box[4]) <= 0.01
        compared += len(theirs)
    assert compared > 0


def test_a_tiny_frame_is_looked_at_enlarged_and_its_noise_is_no_text(detector):
    """Detector.detect enlarges frames with both sides below small_side (the committed sidecar: 160 px, 3x): a real
    72 px MR matrix (dev split, text-free) whose noise the model took for 81 % text at its own size is left alone;
    a 96 x 256 strip with a name line is no tiny frame (looked at as it is, its line blanked)."""
    from conftest import SHARED
    from inference.detect.detector import small_frame_scale
    from training.realdata import load_frame

    s = detector.settings
    assert (s.small_side, s.small_upscale) == (160, 3.0)
    assert small_frame_scale(72, 72, 160, 3.0) == 3.0
    assert small_frame_scale(96, 256, 160, 3.0) == small_frame_scale(72, 72, 0, 3.0) == 1.0

    def blanked(boxes, shape):
        m = np.zeros(shape[:2], bool)
        for x0, y0, x1, y1 in np.asarray(boxes)[:, :4]:
            m[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))] = True
        return m

    mr = load_frame(SHARED / "data" / "real" / "frames" / "MR" / "dcm-qa-xa30i_7.png")
    assert mr.shape == (72, 72)
    assert blanked(detector._detect(mr, None), mr.shape).mean() > 0.5      # at its own size: "text" everywhere
    assert blanked(detector.detect(mr), mr.shape).mean() < 0.03
    strip = np.zeros((96, 256), np.uint8)
    cv2.putText(strip, "PETRAUSKIENE ONA", (8, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 1, cv2.LINE_AA)
    ink = strip > 0
    assert blanked(detector.detect(strip), strip.shape)[ink].mean() > 0.97


def test_an_mr_mosaic_is_no_text_but_a_tiny_frames_big_text_is(detector):
    """max_thickness (training/data/session14_max_thickness_rule.md): a real Siemens EPI mosaic (rows of small brain
    slices; training split, text-free) was 92 % blanked at 0.25, its slices taken for lines of huge glyphs; at
    max(32 px, 0.12 of the short side) it is left alone. A tiny frame is looked at enlarged and keeps 0.25 and a
    floor of 16 STORED px: an 8-px line of a 64 px frame, 24 px thick when enlarged, is still text."""
    from dataclasses import replace

    from conftest import SHARED
    from inference.detect.detector import drop_thick
    from training.realdata import load_frame

    def blanked(boxes, shape):
        m = np.zeros(shape[:2], bool)
        for x0, y0, x1, y1 in np.asarray(boxes)[:, :4]:
            m[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))] = True
        return m.mean()

    assert (detector.settings.max_thickness, detector.settings.max_thickness_enlarged) == (0.12, 0.25)
    mosaic = load_frame(SHARED / "data" / "real" / "frames" / "MR" / "dcm-qa_4.png")
    assert mosaic.shape[:2] == (384, 384)
    assert blanked(detector.detect(mosaic), mosaic.shape) < 0.05
    old = TextDetector(settings=replace(detector.settings, max_thickness=0.25))
    assert blanked(old.detect(mosaic), mosaic.shape) > 0.5                     # what 0.25 did

    line = np.array([[10, 60, 180, 84, 0.9]], np.float32)                       # 24 px thick in a 192 px view
    assert len(drop_thick(line, 192, 192, 0.12, floor=16.0)) == 0              # 16 looked-at px cut it
    assert len(drop_thick(line, 192, 192, 0.12, floor=48.0)) == 1              # 16 stored px x 3
    assert len(drop_thick(line, 192, 192, 0.12)) == 1                          # the 32 px floor of stored frames
