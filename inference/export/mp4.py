"""H.264 MP4 per multi-frame object, in memory with PyAV (bundled libx264): returns bytes.

yuv420p (what every player accepts) needs even width and height: odd sizes are padded by one
black row/column at the bottom/right, never scaled (pixel geometry stays 1:1 with the DICOM).
"""
from __future__ import annotations

import io
from collections.abc import Iterable
from fractions import Fraction

import av
import numpy as np
from pydicom.dataset import Dataset

DEFAULT_FPS = 10.0
DEFAULT_CRF = 18  # visually lossless for AI work


def fps_from_dataset(ds: Dataset, default: float = DEFAULT_FPS) -> float:
    """Frames per second from CineRate, else FrameTime (ms), else RecommendedDisplayFrameRate."""
    for keyword in ("CineRate", "RecommendedDisplayFrameRate"):
        value = ds.get(keyword)
        if value not in (None, "") and float(value) > 0:
            return float(value)
    frame_time = ds.get("FrameTime")
    if frame_time not in (None, "") and float(frame_time) > 0:
        return 1000.0 / float(frame_time)
    return default


def _even_rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    rows, cols = frame.shape[:2]
    pad = ((0, rows % 2), (0, cols % 2), (0, 0))
    return np.ascontiguousarray(np.pad(frame, pad) if rows % 2 or cols % 2 else frame)


def frames_to_mp4(frames: Iterable[np.ndarray], fps: float = DEFAULT_FPS, crf: int = DEFAULT_CRF) -> bytes:
    """uint8 HxW or HxWx3 (RGB) frames -> H.264 MP4 bytes; frames are encoded as they arrive."""
    buffer = io.BytesIO()
    rate = Fraction(fps).limit_denominator(1000)
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = None
        for frame in frames:
            if frame.dtype != np.uint8:
                raise ValueError(f"expected uint8 frames, got {frame.dtype}")
            rgb = _even_rgb(frame)
            if stream is None:
                stream = container.add_stream("libx264", rate=rate)
                stream.width, stream.height = rgb.shape[1], rgb.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf)}
            elif rgb.shape[:2] != (stream.height, stream.width):
                raise ValueError("all frames of one MP4 must have the same size")
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        if stream is None:
            raise ValueError("no frames to encode")
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


fps_of = fps_from_dataset  # short name used by inference/pipeline.py
