"""Blank rectangles in native pixel values (the original photometric space).

Fill rule (documented in README.md): each box is filled with the per-channel MEDIAN of the
one-pixel ring just outside it, i.e. the local background. WHY: text sits on a background; the
median of the ring is that background even when a few text strokes touch the ring, so the box
becomes indistinguishable from its surroundings (no black patch over tissue), in any stored
value range (signed CT, MONOCHROME1, 12-bit, palette indices, YBR), and the value is always one
the device itself stored. Areas outside ultrasound regions are filled with the median of that
whole area (the screen background, normally black).
"""
from __future__ import annotations

import numpy as np

# Integer rectangles: rows of [x0, y0, x1, y1], x1/y1 exclusive, clipped to the frame.
Rects = np.ndarray


def to_rects(boxes: np.ndarray, rows: int, cols: int) -> Rects:
    """Detector float boxes (x0,y0,x1,y1[,score]) -> integer pixel rects covering them fully."""
    if boxes is None or len(boxes) == 0:
        return np.zeros((0, 4), dtype=np.int64)
    b = np.asarray(boxes, dtype=np.float64)[:, :4]
    rects = np.stack(
        [np.floor(b[:, 0]), np.floor(b[:, 1]), np.ceil(b[:, 2]), np.ceil(b[:, 3])], axis=1
    ).astype(np.int64)
    rects[:, [0, 2]] = np.clip(rects[:, [0, 2]], 0, cols)
    rects[:, [1, 3]] = np.clip(rects[:, [1, 3]], 0, rows)
    keep = (rects[:, 2] > rects[:, 0]) & (rects[:, 3] > rects[:, 1])
    return rects[keep]


def drop_contained(rects: Rects) -> Rects:
    """The rects minus duplicates and minus every rect lying inside another one: the union of blanked pixels is
    the same. WHY: a cine's static union rects cover most per-frame boxes, and the line completion adds many small
    boxes inside bigger ones; each rect costs a border median, so 250 rects a frame made filling cost more than
    detecting."""
    r = np.unique(np.asarray(rects, dtype=np.int64).reshape(-1, 4), axis=0)
    if len(r) < 2:
        return r
    inside = ((r[:, None, 0] >= r[None, :, 0]) & (r[:, None, 1] >= r[None, :, 1])
              & (r[:, None, 2] <= r[None, :, 2]) & (r[:, None, 3] <= r[None, :, 3]))
    np.fill_diagonal(inside, False)
    return r[~inside.any(axis=1)]


def border_median(frame: np.ndarray, rect: np.ndarray) -> np.ndarray:
    """Per-channel median of the 1-pixel ring around rect (inside the frame), in frame dtype."""
    rows, cols = frame.shape[:2]
    x0, y0, x1, y1 = (int(v) for v in rect)
    ring = []
    if y0 > 0:
        ring.append(frame[y0 - 1, max(x0 - 1, 0):min(x1 + 1, cols)])
    if y1 < rows:
        ring.append(frame[y1, max(x0 - 1, 0):min(x1 + 1, cols)])
    if x0 > 0:
        ring.append(frame[y0:y1, x0 - 1])
    if x1 < cols:
        ring.append(frame[y0:y1, x1])
    pixels = np.concatenate(ring, axis=0) if ring else frame.reshape(-1, *frame.shape[2:])
    if pixels.size == 0:  # box covers the whole frame: use the frame's minimum stored value
        pixels = frame.reshape(-1, *frame.shape[2:]).min(axis=0, keepdims=True)
    # lower median: always a value present in the ring (palette indices stay valid indices)
    ordered = np.sort(pixels, axis=0)
    return ordered[(len(ordered) - 1) // 2].astype(frame.dtype)


def fill_rects(frame: np.ndarray, rects: Rects) -> list[np.ndarray]:
    """Blank each rect in place with its border median; returns the fill value used per rect.

    Fill values are computed on the frame BEFORE any rect is blanked, so overlapping rects do
    not depend on their order.
    """
    fills = [border_median(frame, r) for r in rects]
    for (x0, y0, x1, y1), value in zip(rects, fills):
        frame[y0:y1, x0:x1] = value
    return fills


def fill_outside(frame: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Blank every pixel where keep is False with the per-channel median of those pixels."""
    outside = ~keep
    if not outside.any():
        return np.zeros(frame.shape[2:], dtype=frame.dtype)
    pixels = frame[outside]
    ordered = np.sort(pixels, axis=0)
    value = ordered[(len(ordered) - 1) // 2].astype(frame.dtype)
    frame[outside] = value
    return value
