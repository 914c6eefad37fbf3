"""Blank rectangles in native pixel values (the original photometric space).

Fill rule (documented in README.md): each connected piece of the blanked boxes is filled with the per-channel
MEDIAN of the one-pixel ring just outside it, i.e. the local background. WHY: text sits on a background; the
median of the ring is that background even when a few text strokes touch the ring, so the box
becomes indistinguishable from its surroundings (no black patch over tissue), in any stored
value range (signed CT, MONOCHROME1, 12-bit, palette indices, YBR), and the value is always one
the device itself stored. Areas outside ultrasound regions are filled with the median of that
whole area (the screen background, normally black).
"""
from __future__ import annotations

import cv2
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


def lower_median(pixels: np.ndarray) -> np.ndarray:
    """Per-channel lower median of (N,) or (N, C) pixels: always a value present in them, so palette indices stay
    valid indices."""
    ordered = np.sort(pixels, axis=0)
    return ordered[(len(ordered) - 1) // 2]


def fill_rects(frame: np.ndarray, rects: Rects) -> np.ndarray:
    """Blank the union of rects in place; returns the blanked mask (rows x cols bool).

    Each connected piece of the union (8-connected) is filled with the per-channel lower median of the one-pixel
    ring just outside it, computed on the frame BEFORE anything is blanked. For a lone rect that ring is the rect's
    own border. WHY per piece, not per rect: line completion yields hundreds of overlapping boxes per frame, and one
    median per box cost more than detecting; a piece has one background either way.
    """
    rows, cols = frame.shape[:2]
    mask = np.zeros((rows, cols), np.uint8)
    for x0, y0, x1, y1 in np.asarray(rects, dtype=np.int64).reshape(-1, 4):
        mask[y0:y1, x0:x1] = 1
    blanked = mask.astype(bool)
    if not blanked.any():
        return blanked
    n, labels = cv2.connectedComponents(mask, connectivity=8)
    near = cv2.dilate(labels.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int64)  # highest label nearby
    ring = ~blanked & (near > 0)
    ring_labels, ring_pixels = near[ring], frame[ring]
    order = np.argsort(ring_labels, kind="stable")
    ring_labels, ring_pixels = ring_labels[order], ring_pixels[order]
    bounds = np.searchsorted(ring_labels, np.arange(1, n + 1))
    fills = np.empty((n,) + frame.shape[2:], dtype=frame.dtype)
    for k in range(1, n):
        pixels = ring_pixels[bounds[k - 1]:bounds[k]]
        if len(pixels) == 0:  # no ring of its own: the whole frame, or a ring counted for a neighbouring piece
            piece = cv2.dilate((labels == k).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~blanked
            pixels = frame[piece] if piece.any() else frame.reshape(-1, *frame.shape[2:])
        fills[k] = lower_median(pixels)
    frame[blanked] = fills[labels[blanked]]
    return blanked


def fill_outside(frame: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Blank every pixel where keep is False with the per-channel median of those pixels."""
    outside = ~keep
    if not outside.any():
        return np.zeros(frame.shape[2:], dtype=frame.dtype)
    value = lower_median(frame[outside]).astype(frame.dtype)
    frame[outside] = value
    return value
