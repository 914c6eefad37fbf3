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

from inference.pixels.redact import Rects, drop_contained


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
    total = sum(len(r) for r in per_frame)
    unions = np.zeros((total, 4), dtype=np.int64)  # group union rects, first n in use (no re-stacking per box)
    seen: list[set[int]] = []  # frames each group was seen in
    for index, rects in enumerate(per_frame):
        for rect in rects:
            n = len(seen)
            if n:
                scores = iou(rect, unions[:n])
                best = int(np.argmax(scores))
                if scores[best] >= min_iou:
                    u = unions[best]
                    unions[best] = (min(u[0], rect[0]), min(u[1], rect[1]), max(u[2], rect[2]), max(u[3], rect[3]))
                    seen[best].add(index)
                    continue
            unions[n] = rect
            seen.append({index})
    static = [unions[k] for k, frames in enumerate(seen) if len(frames) >= need]
    return np.array(static, dtype=np.int64).reshape(-1, 4)


def plan_rects(per_frame: list[Rects], min_fraction: float, min_iou: float) -> tuple[list[Rects], Rects]:
    """Final rects per frame = that frame's own rects + every static union rect."""
    static = static_rects(per_frame, min_fraction, min_iou)
    planned = [drop_contained(np.concatenate([r.reshape(-1, 4), static]).astype(np.int64)) for r in per_frame]
    return planned, static


def static_pixels(varies: np.ndarray | None) -> np.ndarray | None:
    """Bool mask of pixels equal on every frame (None: single frame), from the running 'varies' mask."""
    return None if varies is None else ~varies


def spread_static(per_frame: list[Rects], still: np.ndarray, min_still: float = 0.9) -> Rects:
    """Every rect of any frame that lies on still pixels (>= min_still of it equal on every frame): the content
    under it is the same on every frame, so the text found on one frame is there on all of them."""
    out = []
    for rects in per_frame:
        for x0, y0, x1, y1 in np.asarray(rects, dtype=np.int64).reshape(-1, 4):
            area = still[y0:y1, x0:x1]
            if area.size and area.mean() >= min_still:
                out.append((x0, y0, x1, y1))
    return np.unique(np.array(out, dtype=np.int64).reshape(-1, 4), axis=0)


def plan_static_pixels(per_frame: list[Rects], still: np.ndarray, min_fraction: float, min_iou: float
                       ) -> tuple[list[Rects], Rects]:
    """Final rects per frame = that frame's own rects + every rect on still pixels from any frame + the static
    groups of static_rects (text seen in place on enough frames, e.g. a timer whose digits change).

    WHY: a box found on one frame of a cine is blanked on every frame where that is provably the same text (the
    pixels under it never change), and wherever the tracker sees text in place; boxes on moving anatomy (false
    alarms on a changing sector) stay on their own frame instead of piling up on every frame."""
    spread = spread_static(per_frame, still)
    static = static_rects(per_frame, min_fraction, min_iou)
    everywhere = np.concatenate([spread, static]).astype(np.int64)
    planned = [drop_contained(np.concatenate([r.reshape(-1, 4), everywhere]).astype(np.int64)) for r in per_frame]
    return planned, everywhere
