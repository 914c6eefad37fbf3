"""JPEG per frame, as bytes (the runner names and writes the files)."""
from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

DEFAULT_QUALITY = 95


def frame_to_jpeg(frame: np.ndarray, quality: int = DEFAULT_QUALITY) -> bytes:
    """uint8 HxW (grey) or HxWx3 (RGB) -> baseline JPEG bytes."""
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3):
        raise ValueError(f"expected uint8 HxW or HxWx3 frame, got {frame.dtype} {frame.shape}")
    image = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def frames_to_jpeg(frames: Iterable[np.ndarray], quality: int = DEFAULT_QUALITY) -> list[bytes]:
    """One JPEG per frame, in frame order (frames are consumed one at a time)."""
    return [frame_to_jpeg(frame, quality) for frame in frames]
