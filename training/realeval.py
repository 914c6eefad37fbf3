"""The real-image pixel metrics of issue 16, as pure functions on masks (one definition, used by
benchmarks/real_pixels.py for the pipeline's outputs and by the operating-point sweep for detector boxes).

- A text item counts as REMOVED when at least 97 % of its ink pixels changed. Ink = the pixels of the item's
  labelled box that stand out from the local background (median of a 2-pixel ring around the box). An item with
  fewer than 3 ink pixels (nothing visible) is not counted.
- Synthetic scenes know their text exactly (true_ink: where the drawn frame differs from the frame drawn without
  text); there an item counts as erased when its ink pixels no longer stand out (erased_share), so that a fill
  which keeps a second background inside a box is not counted against it (benchmarks/fill_recall.py).
- Non-text pixels = every pixel outside all labelled boxes of that frame; their changed share is the
  over-redaction of a file with text. On a text-free frame the changed share of all pixels is reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inference.pixels.redact import deviation, nearest_values

REMOVED_SHARE = 0.97  # share of an item's ink pixels that must change for it to count as removed
RING = 2  # px around a box whose median is the local background
MIN_INK = 3  # items with fewer visible ink pixels are not counted (nothing to remove)
ERASED = 0.25  # an ink pixel is erased when it stands out from the nearest non-ink pixel by at most this x contrast


def _int_box(box, height: int, width: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return (max(0, int(np.floor(x0))), max(0, int(np.floor(y0))),
            min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1))))


def ink_mask(view: np.ndarray, box) -> np.ndarray | None:
    """Bool mask (box-sized) of the pixels of ``view`` (8-bit grey or RGB) inside ``box`` that are ink; None when
    the box shows no ink."""
    h, w = view.shape[:2]
    x0, y0, x1, y1 = _int_box(box, h, w)
    if x1 <= x0 or y1 <= y0:
        return None
    v = view.astype(np.int16).reshape(h, w, -1)
    ox0, oy0, ox1, oy1 = max(0, x0 - RING), max(0, y0 - RING), min(w, x1 + RING), min(h, y1 + RING)
    outer = v[oy0:oy1, ox0:ox1]
    ring = np.ones(outer.shape[:2], bool)
    ring[y0 - oy0:y1 - oy0, x0 - ox0:x1 - ox0] = False
    inner = v[y0:y1, x0:x1]
    bg = np.median(outer[ring], axis=0) if ring.any() else np.median(inner.reshape(-1, inner.shape[2]), axis=0)
    diff = np.abs(inner - bg).max(axis=2)
    thr = max(10.0, 0.4 * float(np.percentile(diff, 99)))
    ink = diff >= thr
    return ink if int(ink.sum()) >= MIN_INK else None


def changed_mask(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Pixels whose stored value changed in any channel (same grid)."""
    if before.shape != after.shape:
        raise ValueError(f"pixel grids differ: {before.shape} vs {after.shape}")
    d = before != after
    return d.any(axis=2) if d.ndim == 3 else d


def box_union(boxes, height: int, width: int) -> np.ndarray:
    m = np.zeros((height, width), bool)
    for b in boxes:
        x0, y0, x1, y1 = _int_box(b[:4], height, width)
        m[y0:y1, x0:x1] = True
    return m


def ink_changed(changed: np.ndarray, box, ink: np.ndarray) -> float:
    """Share of an item's ink pixels that changed."""
    h, w = changed.shape
    x0, y0, x1, y1 = _int_box(box, h, w)
    return float(changed[y0:y1, x0:x1][ink].mean())


def item_removed(changed: np.ndarray, box, ink: np.ndarray) -> bool:
    return ink_changed(changed, box, ink) >= REMOVED_SHARE


@dataclass
class RealTally:
    """Counts over files with labelled text and over text-free frames."""

    phi: int = 0
    phi_removed: int = 0
    items: int = 0
    items_removed: int = 0
    invisible: int = 0
    nontext_shares: list[float] = field(default_factory=list)  # per file with text
    free_shares: list[float] = field(default_factory=list)  # per text-free frame
    missed: list[str] = field(default_factory=list)  # "file: text" of personal items not removed
    missed_text: list[str] = field(default_factory=list)  # "file: text (share of ink changed)" of every item not removed

    def add_text_frame(self, name: str, view: np.ndarray, changed: np.ndarray, items: list[dict]) -> None:
        """One frame of a labelled file: its items (dicts with box, text, phi) and what changed."""
        h, w = changed.shape
        for it in items:
            ink = ink_mask(view, it["box"])
            if ink is None:
                self.invisible += 1
                continue
            ok = item_removed(changed, it["box"], ink)
            if not ok:
                self.missed_text.append(f"{name}: {it['text']!r} ({ink_changed(changed, it['box'], ink):.0%})")
            self.items += 1
            self.items_removed += ok
            if it["phi"]:
                self.phi += 1
                self.phi_removed += ok
                if not ok:
                    self.missed.append(f"{name}: {it['text']!r}")
        nontext = ~box_union([it["box"] for it in items], h, w)
        self.nontext_shares.append(float(changed[nontext].mean()) if nontext.any() else 0.0)

    def add_free_frame(self, changed: np.ndarray) -> None:
        self.free_shares.append(float(changed.mean()))

    def add(self, other: RealTally) -> None:
        for k in ("phi", "phi_removed", "items", "items_removed", "invisible"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.nontext_shares += other.nontext_shares
        self.free_shares += other.free_shares
        self.missed += other.missed
        self.missed_text += other.missed_text

    def summary(self) -> dict:
        def stat(v: list[float]) -> dict:
            return {"n": len(v), "mean": float(np.mean(v)) if v else None, "max": float(np.max(v)) if v else None}

        return {"phi_removed": self.phi_removed, "phi": self.phi, "items_removed": self.items_removed,
                "items": self.items, "invisible_items": self.invisible,
                "nontext_changed": stat(self.nontext_shares), "textfree_changed": stat(self.free_shares),
                "missed_phi": self.missed, "missed_items": self.missed_text}


def summary_line(name: str, s: dict) -> str:
    def pct(d: dict) -> str:
        return "n/a" if d["n"] == 0 else f"{d['mean']:.2%} / {d['max']:.2%} (n={d['n']})"

    items = f"{s['items_removed']}/{s['items']}" + (f" = {s['items_removed'] / s['items']:.1%}" if s["items"] else "")
    return (f"{name:28s} personal {s['phi_removed']}/{s['phi']}  all text {items:16s}  "
            f"non-text changed (files with text) {pct(s['nontext_changed'])}  text-free changed {pct(s['textfree_changed'])}")


def true_ink(drawn: np.ndarray, clean: np.ndarray, box: list[int]) -> np.ndarray | None:
    """Bool mask (box-sized) of the item's visible text pixels: where the drawn frame differs from the same frame
    drawn without text (plates kept) by at least max(10, 40 % of the item's strongest difference) in some channel;
    None when fewer than MIN_INK."""
    x0, y0, x1, y1 = box
    diff = deviation(drawn[y0:y1, x0:x1], clean[y0:y1, x0:x1], 2)
    if diff.size == 0:
        return None
    ink = diff >= max(10.0, 0.4 * float(diff.max()))
    return ink if int(ink.sum()) >= MIN_INK else None


def erased_share(out: np.ndarray, ink: np.ndarray, box: list[int], contrast: float, tol: float) -> float:
    """Share of an item's ink pixels that no longer stand out in ``out`` (erased_mask). WHY not "changed": a fill
    that paints a box the text's own colour (white letters, white field) leaves the letters' pixels as they were and
    the text gone, one that moves the edge between two backgrounds leaves outline pixels as they were and the text
    gone, and one that rewrites letters to a near copy of themselves leaves them legible."""
    return float(erased_mask(out, ink, box, contrast, tol)[ink].mean())


def erased_mask(out: np.ndarray, ink: np.ndarray, box: list[int], contrast: float, tol: float) -> np.ndarray:
    """Box-sized bool: pixels within max(tol, ERASED x the item's contrast) of the nearest pixel of the box that was
    not ink, or of any such pixel within 2 px (on ``ink`` pixels: erased)."""
    x0, y0, x1, y1 = box
    crop = out[y0:y1, x0:x1].astype(np.int32).reshape(y1 - y0, x1 - x0, -1)
    h, w = ink.shape
    if ink.all():
        return np.zeros((h, w), bool)
    pad = np.pad(crop, ((2, 2), (2, 2), (0, 0)))
    free = np.pad(~ink, 2)  # non-ink pixels of the box (the padding is not)
    best = np.full((h, w), np.iinfo(np.int32).max, np.int64)
    for dy in range(5):
        for dx in range(5):
            d = np.abs(crop - pad[dy:dy + h, dx:dx + w]).max(axis=2)
            best = np.where(free[dy:dy + h, dx:dx + w], np.minimum(best, d), best)
    nearest = deviation(crop, nearest_values(crop, ~ink), 2)  # also: thick strokes have no non-ink pixel that close
    return np.minimum(best, nearest) <= max(tol, ERASED * contrast)
