"""Blank rectangles in native pixel values (the original photometric space).

Fill rule (documented in README.md): each connected piece of the blanked boxes is filled with the per-channel
MEDIAN of the one-pixel ring just outside it, i.e. the local background. WHY: text sits on a background; the
median of the ring is that background even when a few text strokes touch the ring, so the box
becomes indistinguishable from its surroundings (no black patch over tissue), in any stored
value range (signed CT, MONOCHROME1, 12-bit, palette indices, YBR), and the value is always one
the device itself stored. Areas outside ultrasound regions are filled with the median of that
whole area (the screen background, normally black).

Noise rule: inside a piece, only the pixels that stand out from that background are rewritten. A pixel stands out
when some channel differs from the fill by more than noise_tolerance(): NOISE_LEVELS_8BIT of 255, scaled down
for a frame that uses less of the range (invisible on any display). Only 8-bit stored data (the screens of
ultrasound, endoscopy, captures) uses it: deeper data is windowed narrowly (CT: 5 levels of 4096 can be a visible
1 % of a soft-tissue window), 1-bit data (segmentations) has only two values, and palette indices have no
distances, so there every pixel that is not the fill stands out. Those pixels, grown by GROW px
(anti-aliasing), take values drawn from the ring's own quiet pixels (the background noise), so the rewritten
strokes carry the same noise as what surrounds them and no letter shape is left as a flat silhouette; the draw is
seeded by the piece's place, so a re-run writes the same bytes. A piece that mostly stands out (text on tissue)
is filled whole with the median, as before. WHY: a box on a noisy dark screen (JPEG, YBR) used to rewrite every
noise pixel of the box: nothing of the text, but most of the "changed pixels" of a real ultrasound frame.
"""
from __future__ import annotations

import cv2
import numpy as np

# Integer rectangles: rows of [x0, y0, x1, y1], x1/y1 exclusive, clipped to the frame.
Rects = np.ndarray

NOISE_LEVELS_8BIT = 5   # an 8-bit pixel within this many levels of the fill is background noise (2 % of 255)
GROW = 1                # px around each standing-out pixel rewritten too (anti-aliasing; ringing beyond
                        # it stands out itself)
MOSTLY = 0.5            # a piece where more than this share stands out is texture under text: filled whole


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


def deviation(pixels: np.ndarray, fill: np.ndarray, channel_axis: int) -> np.ndarray:
    """Largest per-channel distance of each pixel from ``fill`` (grey pixels: the distance itself)."""
    dev = np.abs(pixels.astype(np.float64) - fill.astype(np.float64))
    return dev.max(axis=channel_axis) if dev.ndim > channel_axis else dev


def rewrite_piece(sub: np.ndarray, piece: np.ndarray, ring: np.ndarray, fill: np.ndarray, tol: float,
                  seed: int) -> None:
    """Blank one piece in place (``sub``: the piece's bounding box of the frame; ``piece``: its mask there; ``ring``:
    its ring pixels), by the noise rule of the module docstring."""
    strong = piece & (deviation(sub, fill, 2) > tol)
    if not strong.any():
        return
    grown = cv2.dilate(strong.astype(np.uint8), np.ones((2 * GROW + 1, 2 * GROW + 1), np.uint8)).astype(bool) & piece
    quiet = ring[deviation(ring, fill, 1) <= tol]
    if grown.sum() > MOSTLY * piece.sum() or len(quiet) == 0:
        sub[piece] = fill
        return
    pick = np.random.default_rng(seed).integers(len(quiet), size=int(grown.sum()))
    sub[grown] = quiet[pick]


def noise_tolerance(frame: np.ndarray, bits_stored: int, photometric: str,
                    window_width: float | None = None) -> float:
    """The noise rule's tolerance for one frame in stored units: 0 unless the data is 8-bit stored (not a
    palette); then NOISE_LEVELS_8BIT x the share of 0..255 that a viewer spreads over the screen: all of it for
    colour (shown as stored); for grey data the frame's own span (viewers stretch min..max) or the header's VOI
    window when narrower. WHY: a dim or narrowly windowed grey frame makes 5 levels visible, so it gets less."""
    if bits_stored != 8 or photometric == "PALETTE COLOR" or frame.dtype != np.uint8 or frame.size == 0:
        return 0.0
    if not photometric.startswith("MONOCHROME"):
        return float(NOISE_LEVELS_8BIT)
    shown = float(np.ptp(frame))
    if window_width is not None and window_width > 0:
        shown = min(shown, float(window_width))
    return NOISE_LEVELS_8BIT * shown / 255.0


def fill_rects(frame: np.ndarray, rects: Rects, tolerance: float = 0.0) -> np.ndarray:
    """Blank the union of rects in place; returns the blanked mask (rows x cols bool): the area decided as text.

    Each connected piece of the union (8-connected) is filled with the per-channel lower median of the one-pixel
    ring just outside it, computed on the frame BEFORE anything is blanked. For a lone rect that ring is the rect's
    own border. WHY per piece, not per rect: line completion yields hundreds of overlapping boxes per frame, and one
    median per box cost more than detecting; a piece has one background either way. Within a piece only what
    stands out from that background is rewritten (module docstring, noise rule); ``tolerance`` is that noise
    level in stored units (noise_tolerance(); 0, the default: every pixel that is not the fill).
    """
    rows, cols = frame.shape[:2]
    mask = np.zeros((rows, cols), np.uint8)
    for x0, y0, x1, y1 in np.asarray(rects, dtype=np.int64).reshape(-1, 4):
        mask[y0:y1, x0:x1] = 1
    blanked = mask.astype(bool)
    if not blanked.any():
        return blanked
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    near = cv2.dilate(labels.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int64)  # highest label nearby
    ring = ~blanked & (near > 0)
    ring_labels, ring_pixels = near[ring], frame[ring]
    order = np.argsort(ring_labels, kind="stable")
    ring_labels, ring_pixels = ring_labels[order], ring_pixels[order]
    bounds = np.searchsorted(ring_labels, np.arange(1, n + 1))
    for k in range(1, n):
        pixels = ring_pixels[bounds[k - 1]:bounds[k]]
        if len(pixels) == 0:  # no ring of its own: the whole frame, or a ring counted for a neighbouring piece
            piece = cv2.dilate((labels == k).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~blanked
            pixels = frame[piece] if piece.any() else frame.reshape(-1, *frame.shape[2:])
        fill = lower_median(pixels)
        x, y, w, h, _ = stats[k]
        sub = frame[y:y + h, x:x + w]
        piece = labels[y:y + h, x:x + w] == k
        rewrite_piece(sub, piece, pixels, fill, tolerance, seed=(int(y) * cols + int(x)) * 65_537 + int(w) * int(h))
    return blanked


def fill_outside(frame: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Blank every pixel where keep is False with the per-channel median of those pixels."""
    outside = ~keep
    if not outside.any():
        return np.zeros(frame.shape[2:], dtype=frame.dtype)
    value = lower_median(frame[outside]).astype(frame.dtype)
    frame[outside] = value
    return value
