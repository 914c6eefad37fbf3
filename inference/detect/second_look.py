"""Second look along text lines: the detector runs again, on a background-flattened view of the regions beside
the lines it found, and what it sees there is kept only where it continues one of those lines.

WHY: the detector's remaining misses (models/MODEL_CARD.md) are the parts of a line that run from a dark field onto
bright anatomy, and hairline or faint text on a textured field: the start of the line is found with confidence,
its continuation is not, because the same white strokes now sit on a background almost as bright as they are.
Subtracting the local background (a Gaussian blur of a few line heights) and stretching the difference turns that
continuation back into what the detector knows best, light strokes on an even field. Texture turns into noise in
the same view, so nothing from the second look is trusted on its own: a box is kept only if it lies on the same
text line as a confident first-pass box, within a short gap of it or of a box already kept this way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from inference.detect.boxes import grow, same_line


BACKGROUNDS = frozenset({"gauss", "median"})


@dataclass(frozen=True)
class SecondLookSettings:
    """Sidecar ``settings.second_look``; absent or null = off."""

    seed_conf: float = 0.05  # first-pass boxes at or above this score are the lines to continue
    reach: float = 10.0  # how far beside a line to look, x its thickness along it (1 x across)
    accept: float = 0.01  # lowest second-look score kept (only where it continues a line)
    gap: float = 1.0  # largest gap along the line to a kept box, x the thinner box's thickness
    gain: float = 3.0  # contrast stretch of the flattened view
    blur: float = 1.5  # background blur sigma, x the median line thickness (at least 2 px)
    background: str = "gauss"  # "gauss": Gaussian of that sigma; "median": median over a window that wide
    slack: float | None = None  # overlapping regions are merged only while their bounding rect is at most this x
                                # their union's area (None: always, one bounding rect per overlapping group)

    def __post_init__(self) -> None:
        if self.background not in BACKGROUNDS:
            raise ValueError(f"second_look.background must be one of {sorted(BACKGROUNDS)}, not {self.background!r}")

    @classmethod
    def from_dict(cls, data: dict | None) -> SecondLookSettings | None:
        return None if not data else cls(**data)


def thickness(boxes: np.ndarray) -> np.ndarray:
    """Line height of horizontal boxes, line width of vertical ones."""
    return np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])


def flattened(gray: np.ndarray, sigma: float, gain: float, kind: str = "gauss") -> np.ndarray:
    """uint8 view: 128 + gain x (pixel - background), clipped. Text keeps its strokes; the brightness of the
    anatomy under it no longer matters."""
    g = gray.astype(np.float32)
    bg = median_background(gray, sigma) if kind == "median" else background(g, max(2.0, sigma))
    return np.clip(np.rint(128.0 + gain * (g - bg)), 0, 255).astype(np.uint8)


def median_background(gray: np.ndarray, size: float) -> np.ndarray:
    """Median over a size x size window (odd, 3..255 px) of a uint8 image, as float. WHY: a Gaussian mixes a dark
    field and the bright anatomy beside it, so text crossing that edge vanished in the flattened view; a median
    follows the edge and still ignores strokes, which fill less than half of a window of a few line heights."""
    k = max(3, min(255, int(round(size)) | 1))
    g = gray if gray.dtype == np.uint8 else np.clip(gray, 0, 255).astype(np.uint8)
    return cv2.medianBlur(g, k).astype(np.float32)


def background(g: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of float image g; for sigma > 4 px computed at 1/f resolution (f = sigma // 4) and scaled
    back. WHY: the kernel grows with the line height (sigma 90 px for 60 px text took half a second on one
    image); the background under text is smooth, so a blur of 4+ px per level loses nothing a detector sees."""
    f = int(sigma // 4)
    if f < 2:
        return cv2.GaussianBlur(g, (0, 0), sigma)
    h, w = g.shape[:2]
    small = cv2.resize(g, (max(1, -(-w // f)), max(1, -(-h // f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), sigma / f), (w, h), interpolation=cv2.INTER_LINEAR)


def reach_rects(lines: np.ndarray, reach: float, width: int, height: int) -> np.ndarray:
    """(N, 4) float: each line box widened by reach x thickness along the text and 1 x across it, clipped."""
    b = lines[:, :4].astype(np.float64)
    t = thickness(b)
    horizontal = (b[:, 2] - b[:, 0]) >= (b[:, 3] - b[:, 1])
    ex, ey = np.where(horizontal, reach * t, t), np.where(horizontal, t, reach * t)
    return np.stack([np.maximum(0, b[:, 0] - ex), np.maximum(0, b[:, 1] - ey),
                     np.minimum(width, b[:, 2] + ex), np.minimum(height, b[:, 3] + ey)], axis=1)


def inside_any(boxes: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """(len(boxes),) bool: the box lies wholly inside at least one of the rects."""
    b, r = boxes[:, None, :4], rects[None, :, :4]
    return np.asarray(((b[..., 0] >= r[..., 0]) & (b[..., 1] >= r[..., 1]) & (b[..., 2] <= r[..., 2])
                       & (b[..., 3] <= r[..., 3])).any(axis=1))


def area(r: list[float]) -> float:
    return max(0.0, r[2] - r[0]) * max(0.0, r[3] - r[1])


def worth_merging(r: list[float], o: list[float], slack: float | None) -> bool:
    """Overlapping rects r and o are looked at as one when slack is None, or when their bounding rect is at most
    slack x the area they cover together. WHY: a screen's stacked lines chained into one bounding rect of 86 % of
    the frame, a second full detector pass that cost as much as the first and mostly looked at anatomy."""
    if not (r[0] <= o[2] and o[0] <= r[2] and r[1] <= o[3] and o[1] <= r[3]):
        return False
    if slack is None:
        return True
    inter = area([max(r[0], o[0]), max(r[1], o[1]), min(r[2], o[2]), min(r[3], o[3])])
    bound = area([min(r[0], o[0]), min(r[1], o[1]), max(r[2], o[2]), max(r[3], o[3])])
    return bound <= slack * (area(r) + area(o) - inter)


def look_regions(lines: np.ndarray, reach: float, width: int, height: int,
                 slack: float | None = None) -> list[tuple[int, int, int, int]]:
    """Integer rects (x0, y0, x1, y1) to look at again: the reach_rects of the lines, overlapping ones merged into
    their bounding rect (one detector run each) where worth_merging says so."""
    if len(lines) == 0:
        return []
    rects = [list(r) for r in reach_rects(lines, reach, width, height)]
    merged = True
    while merged:
        merged = False
        out: list[list[float]] = []
        for r in rects:
            for o in out:
                if worth_merging(r, o, slack):
                    o[:] = [min(o[0], r[0]), min(o[1], r[1]), max(o[2], r[2]), max(o[3], r[3])]
                    merged = True
                    break
            else:
                out.append(r)
        rects = out
    return [(int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1))) for x0, y0, x1, y1 in rects
            if x1 - x0 >= 1 and y1 - y0 >= 1]


def same_line_near(a: np.ndarray, b: np.ndarray, gap: float) -> np.ndarray:
    """(len(a), len(b)) bool: box b lies on the same text line as box a (boxes.same_line) and at most gap x the
    thinner one's thickness away along it (overlapping counts)."""
    tmin = np.minimum(thickness(a)[:, None], thickness(b)[None, :])
    horizontal = ((a[:, 2] - a[:, 0]) >= (a[:, 3] - a[:, 1]))[:, None]
    along_h = np.maximum(a[:, None, 0], b[None, :, 0]) - np.minimum(a[:, None, 2], b[None, :, 2])
    along_v = np.maximum(a[:, None, 1], b[None, :, 1]) - np.minimum(a[:, None, 3], b[None, :, 3])
    return same_line(a, b) & (np.where(horizontal, along_h, along_v) <= gap * tmin)


def chain_along_lines(lines: np.ndarray, candidates: np.ndarray, gap: float) -> np.ndarray:
    """The candidates reachable from ``lines`` through same_line_near steps (each step from a line or from a
    candidate kept in an earlier step); rows of candidates, in the order they were reached."""
    kept, frontier, left = [], lines, candidates
    while len(left) and len(frontier):
        hit = same_line_near(frontier, left, gap).any(axis=0)
        if not hit.any():
            break
        kept.append(left[hit])
        frontier, left = left[hit], left[~hit]
    return np.concatenate(kept) if kept else candidates[:0]


def second_look(gray: np.ndarray, raw: np.ndarray, look: SecondLookSettings,
                detect_view: Callable[[np.ndarray], np.ndarray], margin: Callable[[np.ndarray], np.ndarray]
                ) -> np.ndarray:
    """Boxes (margin-grown, image coordinates) that continue confident lines of ``raw`` (first-pass detections,
    no margin), found by ``detect_view`` (uint8 grey crop -> (N, 5) boxes in crop pixels) on flattened crops.
    ``margin`` grows boxes exactly as the first pass's selection does."""
    h, w = gray.shape[:2]
    lines = margin(raw[raw[:, 4] >= look.seed_conf]) if len(raw) else raw
    if len(lines) == 0:
        return np.zeros((0, 5), np.float32)
    sigma = look.blur * float(np.median(thickness(lines)))
    found = [np.zeros((0, 5), np.float32)]
    for x0, y0, x1, y1 in look_regions(lines, look.reach, w, h, look.slack):
        d = detect_view(flattened(gray[y0:y1, x0:x1], sigma, look.gain, look.background))
        d = d[d[:, 4] >= look.accept]
        if len(d):
            d = d.copy()
            d[:, [0, 2]] += x0
            d[:, [1, 3]] += y0
            found.append(d)
    candidates = margin(np.concatenate(found))
    candidates = candidates[inside_any(candidates, reach_rects(lines, look.reach, w, h))]  # merged rects are larger
    return chain_along_lines(lines, candidates, look.gap).astype(np.float32)


def margin_fn(margin_rel: float, margin_min: float, width: int, height: int,
              margin_along: float | None) -> Callable[[np.ndarray], np.ndarray]:
    """boxes.grow with the detector's margins bound (the callable second_look takes)."""
    return lambda d: grow(d, margin_rel, margin_min, width, height, margin_along)
