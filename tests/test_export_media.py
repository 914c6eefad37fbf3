"""JPEG and MP4 exporters on redacted frames of a generated cine (real encoders, decoded back)."""
from __future__ import annotations

import io

import av
import cv2
import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, RLELossless

from inference.export.jpg import frames_to_jpeg
from inference.export.mp4 import fps_from_dataset, frames_to_mp4
from inference.pixels import redact_dataset
from pixels_fixtures import TEXT_BOX, BoxDetector, Case, build


def _redacted_cine(photometric="MONOCHROME2", frames=4):
    ds = build(Case("cine", RLELossless if photometric == "RGB" else ExplicitVRLittleEndian, photometric, 8, frames=frames))
    return ds, redact_dataset(ds, BoxDetector())


def test_jpeg_per_frame_text_region_flat():
    ds, report = _redacted_cine("RGB", frames=3)
    jpegs = frames_to_jpeg(report.frames_view)
    assert len(jpegs) == 3
    x0, y0, x1, y1 = TEXT_BOX
    for data in jpegs:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (96, 160, 3)
        inner = img[y0 + 2:y1 - 2, x0 + 2:x1 - 2].astype(int)
        assert inner.reshape(-1, 3).std(axis=0).max() < 2.0  # blank box (JPEG noise only), no text strokes


def test_mp4_cine_frames_and_even_padding():
    ds, report = _redacted_cine("MONOCHROME2", frames=4)
    odd = (f[:95, :159] for f in report.frames_view)  # odd size -> padded, not scaled
    data = frames_to_mp4(odd, fps=fps_from_dataset(ds))
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        decoded = [f.to_ndarray(format="gray") for f in container.decode(stream)]
        assert stream.codec_context.name == "h264"
        assert float(stream.average_rate) == pytest.approx(25.0, rel=0.01)  # FrameTime 40 ms
    assert len(decoded) == 4 and decoded[0].shape == (96, 160)
    x0, y0, x1, y1 = TEXT_BOX
    assert decoded[0][y0 + 2:y1 - 2, x0 + 2:x1 - 2].astype(int).std() < 3.0


def test_fps_sources():
    ds = pydicom.Dataset()
    assert fps_from_dataset(ds) == 10.0
    ds.FrameTime = 33.3333
    assert fps_from_dataset(ds) == pytest.approx(30.0, rel=1e-3)
    ds.CineRate = 15
    assert fps_from_dataset(ds) == 15.0


def test_bad_frames_rejected():
    with pytest.raises(ValueError):
        frames_to_mp4([])
    with pytest.raises(ValueError):
        frames_to_jpeg([np.zeros((4, 4), np.uint16)])
