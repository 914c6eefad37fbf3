"""8-bit detection view: windowing, MONOCHROME1 inversion, colour conversion (pure functions)."""
from __future__ import annotations

import numpy as np
from pydicom.pixels import convert_color_space
from pydicom.uid import ExplicitVRLittleEndian

from inference.pixels.decode import decoded_photometric, iter_frames
from inference.pixels.view import ViewParams, fix_window, to_view, view_params
from pixels_fixtures import Case, build, text_mask


def test_header_window_maps_linearly():
    frame = np.array([[0, 1000, 1040, 1080, 4000]], np.uint16)
    view = to_view(frame, ViewParams("MONOCHROME2", 12, window=(1040.5, 81)))
    assert view.tolist() == [[0, 0, 127, 255, 255]]


def test_monochrome1_is_inverted():
    ds = build(Case("m1", ExplicitVRLittleEndian, "MONOCHROME1", 12))
    params = view_params(ds, decoded_photometric(ds))
    frame = next(iter_frames(ds))
    view = to_view(frame, fix_window(params, frame))
    # text is stored at the maximum value: in MONOCHROME1 that is black in the view
    assert view[text_mask()].mean() < 10 and view[40:, :].mean() > 40


def test_12bit_without_window_uses_percentiles_once():
    ds = build(Case("m2", ExplicitVRLittleEndian, "MONOCHROME2", 12, frames=3))
    params = view_params(ds, "MONOCHROME2")
    assert params.window is None
    frames = list(iter_frames(ds))
    fixed = fix_window(params, frames[0])
    assert fixed.window is not None
    views = [to_view(f, fixed) for f in frames]
    assert all(v.dtype == np.uint8 for v in views)
    assert views[0][text_mask()].mean() > 250  # text (max value) saturates white


def test_ybr_full_view_is_rgb():
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 200
    ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    view = to_view(ybr, ViewParams("YBR_FULL", 8))
    assert np.abs(view.astype(int) - rgb).max() <= 2


def test_palette_view_uses_lut():
    ds = build(Case("pal", ExplicitVRLittleEndian, "PALETTE COLOR"))
    frame = next(iter_frames(ds))
    view = to_view(frame, view_params(ds, "PALETTE COLOR"))
    assert view.shape == frame.shape + (3,)
    # green LUT is the reversed ramp: index 255 (text) -> green 0, red 255
    assert tuple(view[text_mask()][0][:2]) == (255, 0)


def test_a_big_endian_palette_shows_the_same_picture_as_its_little_endian_twin(shared_dicom):
    """view.palette_source: pydicom reads plain LUT data in the machine's byte order, so a Big Endian palette file
    showed black to the detector, which found nothing, and the file went out with its burned-in text. Each Big Endian
    palette sample must show exactly what its Little Endian re-encoding shows."""
    from training.realdata import dicom_views

    data = shared_dicom / "pydicom+pydicom-data" / "data_store" / "data"
    for big, little in (("OBXXXX1A_expb.dcm", "OBXXXX1A.dcm"), ("gdcm-US-ALOKA-16_big.dcm", "gdcm-US-ALOKA-16.dcm")):
        shown, twin = dicom_views(data / big)[0], dicom_views(data / little)[0]
        assert shown.max() > 200, big                   # not a black screen
        assert np.array_equal(shown, twin), big


def test_a_frame_whose_view_is_blank_but_whose_values_vary_is_refused():
    """pixels.check_view: fail closed when the detector would look at a flat screen while the stored values vary."""
    import pytest

    from inference.pixels import PixelError, check_view

    frame = np.zeros((8, 8), np.uint16)
    frame[2, 2:6] = 900                                   # text the view does not show
    with pytest.raises(PixelError, match="flat value"):
        check_view(frame, np.zeros((8, 8), np.uint8))
    check_view(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8))   # an empty frame is fine
    check_view(frame, (frame > 0).astype(np.uint8) * 255)
