"""Pure box/tiling arithmetic of inference/detect (no model needed)."""
import numpy as np
import pytest

from inference.detect.boxes import decode_yolo, grow, hysteresis, nms, select
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


def _boxes(*rows):
    return np.array(rows, np.float32).reshape(-1, 5)


def test_hysteresis_keeps_low_boxes_only_where_they_continue_a_confident_one():
    d = _boxes([0, 0, 10, 10, 0.5],      # seed
               [10, 0, 20, 10, 0.01],    # touches the seed -> kept
               [20, 0, 30, 10, 0.003],   # touches the kept low box -> kept (chain)
               [30, 0, 40, 10, 0.001],   # touches, but below the grow threshold -> dropped
               [100, 100, 110, 110, 0.01])  # low and alone (texture) -> dropped
    kept = hysteresis(d, 0.02, 0.002, d)
    np.testing.assert_array_equal(kept[:, 4], np.float32([0.5, 0.01, 0.003]))


def test_hysteresis_without_a_seed_keeps_nothing_and_off_equals_a_plain_threshold():
    d = _boxes([0, 0, 10, 10, 0.01], [10, 0, 20, 10, 0.015])
    assert len(hysteresis(d, 0.02, 0.002, d)) == 0
    d2 = _boxes([0, 0, 10, 10, 0.5], [10, 0, 20, 10, 0.01])
    assert len(hysteresis(d2, 0.02, 0.02, d2)) == 1  # grow >= seed: no hysteresis
    assert len(hysteresis(_boxes(), 0.02, 0.002, _boxes())) == 0


def test_hysteresis_along_lines_drops_a_low_box_that_touches_the_line_from_below():
    d = _boxes([0, 0, 100, 10, 0.5],     # seed line
               [100, 0, 140, 10, 0.01],  # the line's missed end: same line -> kept either way
               [0, 8, 100, 30, 0.01])    # touches the seed, but lies under it (anatomy below the text)
    assert len(hysteresis(d, 0.02, 0.002, d)) == 3
    kept = hysteresis(d, 0.02, 0.002, d, along_lines=True)
    np.testing.assert_array_equal(kept[:, 1], np.float32([0, 0]))


def test_hysteresis_thickness_ratio_keeps_the_next_line_and_drops_a_thick_box_on_the_anatomy():
    """grow_ratio (session 12): a low box joins only through boxes within the ratio of its thickness. The next line
    of a block (as thick as its line, stacked below) still grows; a low box three times as thick touching the line
    (the top rows of an ultrasound sector under a label) does not, and neither does what only it touches."""
    d = _boxes([0, 0, 100, 10, 0.5],      # seed line, 10 px thick
               [0, 10, 90, 21, 0.01],     # the next line: stacked, 11 px thick -> kept
               [0, 21, 120, 51, 0.01],    # 30 px thick under the second line: anatomy -> dropped at ratio 2
               [120, 30, 200, 40, 0.01])  # touches only the thick box -> dropped with it
    assert len(hysteresis(d, 0.02, 0.002, d)) == 4
    kept = hysteresis(d, 0.02, 0.002, d, thickness_ratio=2.0)
    np.testing.assert_array_equal(kept[:, 1], np.float32([0, 10]))
    np.testing.assert_array_equal(select(d, 0.02, 0.002, 0.0, 0, 300, 60, 0.0, grow_ratio=2.0)[:, 1],
                                  np.float32([0, 10]))


def test_select_touching_is_judged_after_the_margin():
    """Two words 6 px apart on a 10 px line: apart as detected, joined once each is grown along the line."""
    raw = _boxes([0, 0, 40, 10, 0.6], [46, 0, 80, 10, 0.005])
    plain = select(raw, 0.02, None, 0.25, 2, 200, 50, 1.0)
    grown = select(raw, 0.02, 0.002, 0.25, 2, 200, 50, 1.0)
    assert len(plain) == 1 and len(grown) == 2
    assert grown[:, 0].min() == 0 and grown[:, 2].max() == 90  # 80 + 1.0 x thickness 10


def test_bridge_gaps_joins_pieces_of_one_line_only():
    from inference.detect.boxes import bridge_gaps

    line = _boxes([0, 0, 40, 10, 0.9], [55, 0, 90, 10, 0.4],   # one line, 15 px gap = 1.5 x thickness
                  [0, 30, 40, 40, 0.9], [200, 30, 240, 40, 0.9],  # one line, 160 px gap: two fields, kept apart
                  [100, 0, 130, 30, 0.9])                          # 3x thicker: another line, not joined
    out = bridge_gaps(line, 2.0)
    assert len(out) == len(line) + 1
    np.testing.assert_array_equal(out[-1], np.float32([40, 0, 55, 10, 0.4]))
    assert len(bridge_gaps(line, 1.0)) == len(line)  # gap above the factor
    vertical = _boxes([0, 0, 10, 40, 0.9], [0, 50, 10, 80, 0.9])
    np.testing.assert_array_equal(bridge_gaps(vertical, 2.0)[-1, :4], np.float32([0, 40, 10, 50]))


def test_nms_matches_the_greedy_reference_on_random_boxes():
    from inference.detect.boxes import nms_reference

    rng = np.random.default_rng(3)
    for _ in range(100):
        n = int(rng.integers(1, 200))
        xy, wh = rng.uniform(0, 300, (n, 2)), rng.uniform(2, 60, (n, 2))
        d = np.concatenate([xy, xy + wh, rng.uniform(0, 1, (n, 1))], 1).astype(np.float32)
        a, b = nms(d, 0.5), nms_reference(d, 0.5)
        np.testing.assert_array_equal(a[np.argsort(-a[:, 4])], b)
    assert len(nms(d, 0.5, max_det=1)) == 1
