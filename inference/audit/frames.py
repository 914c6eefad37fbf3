"""Released frames as 8-bit images for OCR, decoded by the auditor itself (not the redactor's view).

The view is what a person would see: MONOCHROME1 inverted, colour as RGB, full stored range stretched to 8 bits
(burned-in text is usually at the top of the range, so min-max keeps it legible).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
from pydicom.dataset import Dataset


class FrameError(RuntimeError):
    """Pixel data that cannot be decoded cannot be shown to be clean."""


def frame_count(ds: Dataset) -> int:
    return int(ds.get("NumberOfFrames", 1) or 1)


def frame_indices(n: int, max_frames: int | None) -> list[int]:
    """All frames, or at most max_frames evenly spaced (first and last included)."""
    if max_frames is None or n <= max_frames:
        return list(range(n))
    return sorted({int(round(i * (n - 1) / (max_frames - 1))) for i in range(max_frames)}) if max_frames > 1 else [0]


def native_frames(ds: Dataset) -> np.ndarray:
    """Decoded pixels as (frames, rows, cols[, samples]) in stored values (colour converted to RGB)."""
    try:
        arr = ds.pixel_array
    except Exception as e:
        raise FrameError(f"pixel data cannot be decoded: {type(e).__name__}: {e}") from e
    if frame_count(ds) == 1:
        arr = arr[None, ...]
    if str(ds.get("PhotometricInterpretation", "")) == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut
        arr = apply_color_lut(arr, ds)
    return arr


def to_view(frame: np.ndarray, photometric: str) -> np.ndarray:
    """One frame to uint8 (HxW or HxWx3)."""
    f = frame.astype(np.float32)
    lo, hi = float(f.min()), float(f.max())
    if hi > lo and not (frame.dtype == np.uint8 and lo >= 0):
        f = (f - lo) * (255.0 / (hi - lo))
    elif hi <= lo:
        f = np.zeros_like(f)
    view = np.clip(f, 0, 255).astype(np.uint8)
    if photometric == "MONOCHROME1":
        view = 255 - view
    return view


def views(ds: Dataset, max_frames: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, 8-bit view) for the frames to check."""
    arr = native_frames(ds)
    photometric = str(ds.get("PhotometricInterpretation", ""))
    for i in frame_indices(arr.shape[0], max_frames):
        yield i, to_view(arr[i], photometric)
