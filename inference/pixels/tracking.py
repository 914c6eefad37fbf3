"""Multi-frame box planning: static text gets the union of its boxes on every frame, moving text
keeps its per-frame boxes; identical frames are detected once.

WHY the union: a detector can miss static text on a few frames of a cine (noise, contrast);
text that sits in the same place in many frames is applied to ALL frames, so one miss does not
leak. WHY exact hashing: skipping detection is only safe when the detector input is provably the
same; identical native bytes give an identical view and the detector is deterministic.
"""
from __future__ import annotations

import hashlib

import numpy as np

from inference.detect.boxes import iou_one_to_many

from inference.pixels.redact import Rects


def frame_hash(frame: np.ndarray) -> bytes:
    """Digest of the frame's native bytes and shape (BLAKE2b-128: collisions negligible)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(str((frame.shape, frame.dtype.str)).encode())
    h.update(np.ascontiguousarray(frame).data)
    return h.digest()


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of one rect a against rects b (N,4): the detector's own box arithmetic."""
    return iou_one_to_many(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))


def static_rects(per_frame: list[Rects], min_fraction: float, min_iou: float) -> Rects:
    """Group boxes across frames by overlap; groups seen in enough frames -> their union rect.

    A group is static when it has a box in at least max(2, ceil(min_fraction * n_frames)) frames.
    """
    n_frames = len(per_frame)
    if n_frames < 2:
        return np.zeros((0, 4), dtype=np.int64)
    need = max(2, int(np.ceil(min_fraction * n_frames)))
    groups: list[tuple[np.ndarray, set[int]]] = []  # (union rect, frames seen)
    for index, rects in enumerate(per_frame):
        for rect in rects:
            if groups:
                unions = np.stack([g[0] for g in groups])
                scores = iou(rect, unions)
                best = int(np.argmax(scores))
                if scores[best] >= min_iou:
                    union, frames = groups[best]
                    groups[best] = (
                        np.array([min(union[0], rect[0]), min(union[1], rect[1]),
                                  max(union[2], rect[2]), max(union[3], rect[3])]),
                        frames | {index},
                    )
                    continue
            groups.append((np.asarray(rect).copy(), {index}))
    static = [g[0] for g in groups if len(g[1]) >= need]
    return np.array(static, dtype=np.int64).reshape(-1, 4)


def plan_rects(per_frame: list[Rects], min_fraction: float, min_iou: float) -> tuple[list[Rects], Rects]:
    """Final rects per frame = that frame's own rects + every static union rect."""
    static = static_rects(per_frame, min_fraction, min_iou)
    planned = [np.concatenate([r.reshape(-1, 4), static]).astype(np.int64) for r in per_frame]
    return planned, static
