"""The fill alone, on synthetic images whose text is known exactly: render a synthetic set in memory (the
generator's own scenes, so every text pixel is known), blank every item box (grown by the detector's committed
margins) with the pipeline's fill (inference/pixels/redact.fill_rects, the 8-bit noise rule), and count the items
whose ink is erased (>= 97 % of the pixels where the drawn text differs visibly from the clean frame no longer
stand out, erased_share()), plus the non-text pixels changed.

    python benchmarks/fill_recall.py [--seed 9501] [--n 300] [--families A B ..] [--fonts held-out] [--out FILE]
                                     [--detector]

``--detector``: blank the committed detector's boxes instead of the items' (detector + fill, end to end on the
pixels): the boxes a fill really gets are looser and reach onto the field beside the text, where the rules for a
piece that mostly stands out apply (an item the detector misses counts as not removed for every fill alike).

WHY: the real benchmark (benchmarks/real_pixels.py) has 13 dev files, and its ink (pixels standing out from the
ring's median) also counts a second background inside a box as ink; a change to the fill's background rules
(panels, tones, noise) must be shown not to leave text on thousands of items in many fonts, plates and backgrounds,
measured on the true text pixels, before any detector is involved. Frames are treated as 8-bit stored data (grey:
MONOCHROME2, colour: RGB), the regime where the noise and panel rules apply (deeper data blanks every pixel that is
not the fill).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inference.detect.boxes import grow  # noqa: E402
from inference.detect import TextDetector  # noqa: E402
from inference.detect.detector import DetectorSettings, load_sidecar  # noqa: E402
from inference.pixels.redact import deviation, fill_rects, noise_tolerance, to_rects  # noqa: E402
from inference.resources import DEFAULT_MODEL  # noqa: E402
from synth.fonts import discover_fonts, select_fonts  # noqa: E402
from synth.generate import render_one  # noqa: E402
from synth.render import Scene, composite  # noqa: E402
from synth.layout import load_layouts  # noqa: E402
from training.config import load_params  # noqa: E402
from training.evaluate import wilson  # noqa: E402
from training.realeval import REMOVED_SHARE, box_union, changed_mask, erased_share, true_ink  # noqa: E402

def item_rects(boxes: list[list[int]], s: DetectorSettings, height: int, width: int) -> np.ndarray:
    """The items' boxes grown by the committed margins, as fill rects."""
    boxes = np.array([[*b, 1.0] for b in boxes], np.float64).reshape(-1, 5)
    return to_rects(grow(boxes, s.margin_rel, s.margin_min, width, height, s.margin_along), height, width)


def check_scene(view: np.ndarray, drawn: np.ndarray, clean: np.ndarray, boxes: list[list[int]],
                rects: np.ndarray) -> tuple[list[float | None], float]:
    """Share of each item's true ink erased by filling ``rects`` (None: nothing visible), and the non-text share
    changed."""
    h, w = view.shape[:2]
    out = view.copy()
    tol = noise_tolerance(out, 8, "RGB" if out.ndim == 3 else "MONOCHROME2")
    fill_rects(out, rects, tol)
    shares: list[float | None] = []
    for x0, y0, x1, y1 in boxes:
        ink = true_ink(drawn, clean, [x0, y0, x1, y1])
        contrast = float(deviation(drawn[y0:y1, x0:x1], clean[y0:y1, x0:x1], 2).max()) if ink is not None else 0.0
        shares.append(None if ink is None else erased_share(out, ink, [x0, y0, x1, y1], contrast, tol))
    nontext = ~box_union(boxes, h, w)
    changed = changed_mask(view, out)
    return shares, float(changed[nontext].mean()) if nontext.any() else 0.0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=9501, help="9501: the synthetic dev set's seed (never trained on)")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--families", nargs="*", default=None, help="default: params.yaml synth.heldout_families")
    ap.add_argument("--fonts", nargs="*", default=["held-out"])
    ap.add_argument("--out", type=Path, default=None, help="results JSON (default: print only)")
    ap.add_argument("--detector", action="store_true", help="blank the committed detector's boxes, not the items'")
    a = ap.parse_args(argv)
    s = DetectorSettings.from_sidecar(load_sidecar(DEFAULT_MODEL))
    detector = TextDetector() if a.detector else None
    layouts = load_layouts()
    fonts = select_fonts(discover_fonts(), a.fonts, None)
    families = tuple(sorted(a.families or load_params().synth.heldout_families))
    t0 = time.time()
    n = removed = phi = phi_removed = 0
    nontext: list[float] = []
    missed: list[str] = []
    by_family: Counter[str] = Counter()
    for index in range(a.n):
        family = families[index % len(families)]
        r = render_one(layouts[family], fonts, a.seed, index)
        view, drawn = r["png"], r["display"][0]
        clean = composite(np.asarray(r["clean"][0], np.float32), Scene(plates=r["scene"].plates), 0)  # no text
        if view.shape != drawn.shape or view.dtype != np.uint8:
            continue  # a frame stored otherwise (16-bit): the tolerance rules do not apply there
        items = [it for it in r["scene"].items if it.frames is None or 0 in it.frames]
        if not items:
            continue
        h, w = view.shape[:2]
        rects = (item_rects([it.box for it in items], s, h, w) if detector is None
                 else to_rects(detector.detect(view), h, w))
        shares, share = check_scene(view, drawn, clean, [it.box for it in items], rects)
        nontext.append(share)
        for it, got in zip(items, shares, strict=True):
            if got is None:
                continue
            ok = got >= REMOVED_SHARE
            n += 1
            removed += ok
            phi += it.phi
            phi_removed += ok and it.phi
            if not ok:
                missed.append(f"{r['id']} {family} {it.font_id}: {it.text!r} ({got:.0%})")
                by_family[family] += 1
    lo, hi = wilson(removed, n)
    what = "detector boxes + fill" if detector else "fill only"
    print(f"{what}, {len(nontext)} 8-bit images of seed {a.seed} ({time.time() - t0:.0f} s)")
    print(f"  items removed {removed}/{n} = {removed / max(1, n):.3%} (95 % CI {lo:.3%}-{hi:.3%}); "
          f"personal {phi_removed}/{phi}")
    print(f"  non-text changed: mean {np.mean(nontext):.3%}, max {np.max(nontext):.3%}")
    for line in missed[:40]:
        print("  not removed:", line)
    if a.out:
        a.out.write_text(json.dumps({"seed": a.seed, "n": a.n, "detector": a.detector, "items": n, "removed": removed,
                                     "phi": phi,
                                     "phi_removed": phi_removed, "nontext_mean": float(np.mean(nontext)),
                                     "nontext_max": float(np.max(nontext)), "missed": missed,
                                     "missed_by_family": dict(by_family)}, indent=1))


if __name__ == "__main__":
    main()
