"""Ground-truth metrics: how much of the labelled personal text the redaction removed, and what else it blanked.

Labels follow synth/'s format: DIR/gt/<id>.json with items [{text, phi, kind, box, chars, angle, frames}], boxes
[x0, y0, x1, y1] in pixels of the original image. A character counts as removed when nearly all its ink (pixels
that stand out from the box background in the input) changed in the output; an item when all its characters are.
Over-redaction: share of pixels changed outside every labelled box (grown by a small margin).

"A personal item was removed" has two definitions on purpose, for two different questions:
- here (the auditor, and the tests that audit outputs): measured on PIXELS, input against output, because an
  independent auditor must not trust the redactor's own boxes; per character, >= 90 % of its ink changed (or the
  area left flat).
- training/evaluate.py ``covered`` (the detector's recall, and tests/test_pipeline_synth.py on the released
  rectangles): GEOMETRIC, every pixel of each character box inside the blanked boxes.
training/realeval.py ``item_removed`` (real, hand-labelled frames: item boxes, no character boxes) is the pixel
rule at item level with a stricter share (97 % of the item's ink), because it has no character boxes to require.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .findings import Finding, Region

INK_FRACTION_REMOVED = 0.9   # a character is removed when >= 90 % of its ink pixels changed
MARGIN = 3                   # px around labelled boxes not counted as over-redaction


@dataclass(frozen=True)
class GtItem:
    text: str
    phi: bool
    kind: str
    box: tuple[int, int, int, int]
    chars: tuple[tuple[int, int, int, int], ...]
    frames: tuple[int, ...] | None   # None: every frame


@dataclass
class GtMetrics:
    phi_items: int = 0
    phi_items_removed: int = 0
    phi_chars: int = 0
    phi_chars_removed: int = 0
    outside_pixels: int = 0
    outside_changed: int = 0
    nonphi_pixels: int = 0
    nonphi_changed: int = 0
    missed: list[tuple[int, GtItem]] = field(default_factory=list)

    def add(self, other: "GtMetrics") -> None:
        for k in ("phi_items", "phi_items_removed", "phi_chars", "phi_chars_removed", "outside_pixels",
                  "outside_changed", "nonphi_pixels", "nonphi_changed"):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def as_dict(self) -> dict[str, float]:
        def rate(a: int, b: int) -> float:
            return a / b if b else 1.0
        return {
            "instance_recall": rate(self.phi_items_removed, self.phi_items),
            "char_recall": rate(self.phi_chars_removed, self.phi_chars),
            "over_redaction_outside": self.outside_changed / self.outside_pixels if self.outside_pixels else 0.0,
            "over_redaction_nonphi_text": self.nonphi_changed / self.nonphi_pixels if self.nonphi_pixels else 0.0,
            "phi_items": float(self.phi_items), "phi_chars": float(self.phi_chars),
        }


def load_items(path: Path) -> list[GtItem]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    raw = data.get("items", []) if isinstance(data, dict) else data
    return [_item(r) for r in raw]


def _box(b: Any) -> tuple[int, int, int, int]:
    if isinstance(b, dict):
        b = b.get("box", [b.get("x0"), b.get("y0"), b.get("x1"), b.get("y1")])
    x0, y0, x1, y1 = (float(v) for v in b[:4])
    return int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1))


def _item(r: dict) -> GtItem:
    frames = r.get("frames")
    if isinstance(frames, int):
        frames = [frames]
    return GtItem(text=str(r.get("text", "")), phi=bool(r.get("phi", True)), kind=str(r.get("kind", "")),
                  box=_box(r["box"]), chars=tuple(_box(c) for c in (r.get("chars") or []) if c),
                  frames=tuple(int(f) for f in frames) if frames else None)


def compare(before: np.ndarray, after: np.ndarray, items: list[GtItem]) -> GtMetrics:
    """Metrics for one object: before/after are native pixel arrays shaped (frames, rows, cols[, samples])."""
    if before.shape != after.shape:
        raise ValueError(f"output pixels {after.shape} do not match the input {before.shape}: cannot compare")
    m = GtMetrics()
    a = before.astype(np.float32)
    b = after.astype(np.float32)
    rng = max(float(a.max() - a.min()), 1.0)
    changed = np.abs(a - b)
    if changed.ndim == 4:
        changed = changed.max(axis=-1)
        a = a.max(axis=-1)
        b = b.max(axis=-1)
    tol = max(1.0, 0.04 * rng)
    n_frames, rows, cols = changed.shape
    for f in range(n_frames):
        on = [it for it in items if it.frames is None or f in it.frames]
        outside = np.ones((rows, cols), bool)
        for it in on:
            x0, y0, x1, y1 = _clip(it.box, rows, cols, MARGIN)
            outside[y0:y1, x0:x1] = False
        m.outside_pixels += int(outside.sum())
        m.outside_changed += int((changed[f][outside] > tol).sum())
        for it in on:
            if not it.phi:
                x0, y0, x1, y1 = _clip(it.box, rows, cols, 0)
                m.nonphi_pixels += (x1 - x0) * (y1 - y0)
                m.nonphi_changed += int((changed[f, y0:y1, x0:x1] > tol).sum())
                continue
            removed_all = True
            for cb in it.chars or (it.box,):
                ink = _ink_mask(a[f], cb, rng)
                if ink is None:
                    continue
                x0, y0, x1, y1 = _clip(cb, rows, cols, 0)
                m.phi_chars += 1
                frac = float((changed[f, y0:y1, x0:x1][ink] > tol).mean())
                flat = float(np.ptp(b[f, y0:y1, x0:x1])) <= tol     # blanked with the ink's own colour
                if frac >= INK_FRACTION_REMOVED or flat:
                    m.phi_chars_removed += 1
                else:
                    removed_all = False
            m.phi_items += 1
            if removed_all:
                m.phi_items_removed += 1
            else:
                m.missed.append((f, it))
    return m


def findings_from(m: GtMetrics) -> list[Finding]:
    """Every labelled personal item not fully removed is a reason to flag the file."""
    out = []
    for f, it in m.missed:
        out.append(Finding("ground_truth", f"residual:{it.kind or 'phi'}", f"frame {f + 1}",
                           "labelled personal text not fully removed", Region(f, *it.box)))
    return out


def _clip(box, rows: int, cols: int, margin: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return (max(0, x0 - margin), max(0, y0 - margin), min(cols, x1 + margin), min(rows, y1 + margin))


def _ink_mask(frame: np.ndarray, box, rng: float) -> np.ndarray | None:
    """Pixels of a character box that stand out from its background (the glyph strokes); None if none do."""
    rows, cols = frame.shape[:2]
    x0, y0, x1, y1 = _clip(box, rows, cols, 0)
    if x1 <= x0 or y1 <= y0:
        return None
    patch = frame[y0:y1, x0:x1]
    ink = np.abs(patch - np.median(patch)) > 0.15 * rng
    return ink if ink.any() else None
