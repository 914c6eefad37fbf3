"""Pure box/tiling arithmetic of inference/detect (no model needed)."""
import numpy as np
import pytest

from inference.detect.boxes import decode_yolo, grow, nms
from inference.detect.tiling import crop_padded, tile_grid, tile_starts, to_rgb


def test_tile_starts_cover_with_overlap():
    for length in (100, 640, 641, 1000, 1920, 2000):
        starts = tile_starts(length, 640, 64)
        assert starts[0] == 0 and starts[-1] + 640 >= length
        for a, b in zip(starts, starts[1:]):
            assert b - a <= 640 - 64  # consecutive tiles overlap by >= 64 px
    assert tile_starts(500, 640, 64) == [0]


def test_tile_grid_counts():
    assert len(tile_grid(1024, 1280, 640, 64)) == 2 * 3


def test_nms_keeps_best_and_separate():
    d = np.array([[0, 0, 10, 10, 0.9], [1, 1, 11, 11, 0.8], [50, 50, 60, 60, 0.7]], np.float32)
    k = nms(d, 0.5)
    assert k.shape == (2, 5) and k[0, 4] == pytest.approx(0.9) and k[1, 0] == 50


def test_nms_empty():
    assert nms(np.zeros((0, 5), np.float32), 0.5).shape == (0, 5)


def test_grow_uses_thickness_and_clips():
    d = np.array([[10, 10, 110, 20, 0.5], [200, 0, 210, 100, 0.5]], np.float32)
    g = grow(d, 0.5, 1, 205, 300)
    assert g[0, :4].tolist() == [5, 5, 115, 25]  # 0.5 x height 10 = 5 px each side
    assert g[1, 0] == 195 and g[1, 2] == 205  # vertical label: thickness = width 10; clipped at the image edge


def test_decode_yolo_threshold_and_xyxy():
    out = np.zeros((1, 5, 3), np.float32)
    out[0, :, 0] = [50, 40, 20, 10, 0.9]
    out[0, :, 1] = [10, 10, 4, 4, 0.01]
    d = decode_yolo(out, 0.1)
    assert d.tolist() == [[40, 35, 60, 45, pytest.approx(0.9)]]


def test_to_rgb_and_crop():
    g = np.arange(12, dtype=np.uint8).reshape(3, 4)
    rgb = to_rgb(g)
    assert rgb.shape == (3, 4, 3) and (rgb[..., 0] == g).all()
    c = crop_padded(rgb, 0, 2, 5)
    assert c.shape == (5, 5, 3) and c[0, 0, 0] == 2 and c[4, 4, 0] == 0
    with pytest.raises(ValueError):
        to_rgb(g.astype(np.uint16))


def test_detector_never_imports_torch_or_ultralytics():
    import subprocess
    import sys

    code = ("import sys, numpy as np; from inference.detect import TextDetector, ModelError; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'ultralytics', 'torchvision')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_grow_along_text_more_than_across():
    d = np.array([[100, 100, 200, 110, 0.5], [300, 100, 310, 200, 0.5]], np.float32)
    g = grow(d, 0.2, 1, 1000, 1000, margin_along=1.0)
    assert g[0, :4].tolist() == [90, 98, 210, 112]  # horizontal: 10 px along, 2 px across
    assert g[1, :4].tolist() == [298, 90, 312, 210]  # vertical label: along = y


def test_dynamic_tiles_cover_the_image_with_the_overlap_and_no_more_tiles():
    from inference.detect.tiling import axis_tile, tile_plan

    for length in (100, 460, 640, 700, 1024, 1200, 2000, 4096):
        fixed = tile_starts(length, 640, 64)
        t = axis_tile(length, 640, 64, dynamic=True)
        starts = tile_starts(length, t, 64)
        assert t % 32 == 0 and t <= 640 and len(starts) <= len(fixed)
        assert starts[0] == 0 and starts[-1] + t >= length  # covered to the end
        assert all(b - a <= t - 64 for a, b in zip(starts, starts[1:]))  # neighbours overlap by >= 64 px
    assert axis_tile(460, 640, 64, dynamic=False) == 640
    th, tw, starts = tile_plan(768, 1024, 640, 64, dynamic=True)
    assert (th, tw, len(starts)) == (416, 544, 4)
    assert crop_padded(np.ones((10, 10, 3), np.uint8), 0, 0, 32, 64).shape == (32, 64, 3)
