"""The real-image pixel metrics of issue 16, as pure functions on masks (one definition, used by
benchmarks/real_pixels.py for the pipeline's outputs and by the operating-point sweep for detector boxes).

- A text item counts as REMOVED when at least 97 % of its ink pixels changed. Ink = the pixels of the item's
  labelled box that stand out from the local background (median of a 2-pixel ring around the box). An item with
  fewer than 3 ink pixels (nothing visible) is not counted.
- Non-text pixels = every pixel outside all labelled boxes of that frame; their changed share is the
  over-redaction of a file with text. On a text-free frame the changed share of all pixels is reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

REMOVED_SHARE = 0.97  # share of an item's ink pixels that must change for it to count as removed
RING = 2  # px around a box whose median is the local background
MIN_INK = 3  # items with fewer visible ink pixels are not counted (nothing to remove)


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
