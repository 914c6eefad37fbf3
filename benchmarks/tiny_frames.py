"""Tiny frames (both sides < 160 px): text found and anatomy kept, at the frame's own size and enlarged.

    python benchmarks/tiny_frames.py [--model models/text_detector.onnx] [--variants native,x2,x3,x4]

Why: at its own size the noise of a 64-72 px MR matrix looks like rows of small glyphs to the detector (up to
69 % of such a frame was blanked on the real dev frames). The sidecar's small_side / small_upscale look at such
frames enlarged instead; this script is the measurement behind that choice.

Sets (none of them trained on as such):
- text: the TRAINING split's tiny text-free real frames (both sides < 160 px) (training/data/real_split.yaml) with 1-2 synthetic strings
  of 7-13 px drawn on each (every non-bitmap font found, seeded); an item counts as found when the detector's boxes
  cover at least 97 % of its ink (training/realeval.REMOVED_SHARE, as benchmarks/real_pixels.py);
- free: the tiny text-free real frames of the dev and of the training split: the share of pixels inside boxes.
Variants: "native" (the frame as it is), "xK" (enlarged K times, bicubic, boxes mapped back). Result:
benchmarks/results/tiny_frames.txt.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inference.detect.detector import TextDetector  # noqa: E402
from synth.fonts import discover_fonts  # noqa: E402
from training.realdata import load_frame, real_frames  # noqa: E402
from training.realeval import REMOVED_SHARE  # noqa: E402

SMALL = 160
STRINGS = ("ID 4471203", "M 49", "12/07/94", "SMITH J", "14:43:31", "F 63Y", "Se 4 Im 12", "DOE^JANE", "L", "R 2.5")


def tiny_frames(split: str) -> list[np.ndarray]:
    """Grey tiny text-free real frames of one split."""
    out = []
    for fr in real_frames(split, has_text=False):
        img = load_frame(fr.path)
        if max(img.shape[:2]) < SMALL:
            out.append(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img)
    return out


def with_text(frames: list[np.ndarray], seed: int = 0) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """Each frame with 1-2 strings drawn on it; returns (image, [ink mask per item])."""
    rng = random.Random(seed)
    fonts = [f for f in discover_fonts() if not f.bitmap]
    out = []
    for img in frames:
        img, items = img.copy(), []
        h, w = img.shape
        for _ in range(rng.choice((1, 2))):
            font = ImageFont.truetype(rng.choice(fonts).path, rng.randint(7, 13))
            text = rng.choice(STRINGS)
            left, top, right, bottom = font.getbbox(text)
            if right - left >= w - 2:
                text = text[:max(1, len(text) * (w - 4) // max(1, right - left))]
                left, top, right, bottom = font.getbbox(text)
            x, y = rng.randint(0, max(0, w - (right - left) - 1)), rng.randint(0, max(0, h - (bottom - top) - 1))
            mask = Image.new("L", (w, h), 0)
            ImageDraw.Draw(mask).text((x - left, y - top), text, fill=255, font=font)
            ink = np.asarray(mask) > 127
            if ink.sum() >= 5:
                img[ink] = rng.choice((255, 230, 200))
                items.append(ink)
        out.append((img, items))
    return out


def covered(boxes: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    m = np.zeros(shape[:2], bool)
    for x0, y0, x1, y1 in np.asarray(boxes)[:, :4].reshape(-1, 4):
        m[int(np.floor(y0)):int(np.ceil(y1)), int(np.floor(x0)):int(np.ceil(x1))] = True
    return m


def detect_at(det: TextDetector, img: np.ndarray, k: float) -> np.ndarray:
    """The detector's boxes for ``img`` looked at k times enlarged (k 1: as it is), in the frame's pixels."""
    if k == 1.0:
        return det._detect(img, None)
    big = cv2.resize(img, (round(img.shape[1] * k), round(img.shape[0] * k)), interpolation=cv2.INTER_CUBIC)
    boxes = det._detect(big, None, k).copy()
    boxes[:, :4] /= k
    return boxes


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "text_detector.onnx")
    ap.add_argument("--variants", default="native,x2,x3,x4")
    a = ap.parse_args(argv)
    det = TextDetector(a.model)
    text = with_text(tiny_frames("train"))
    free = {split: tiny_frames(split) for split in ("dev", "train")}
    n_items = sum(len(items) for _, items in text)
    lines = [f"tiny frames (both sides < {SMALL} px), {a.model.name}: {len(text)} training-split frames with "
             f"{n_items} synthetic items; text-free: {len(free['dev'])} dev, {len(free['train'])} train frames"]
    for name in a.variants.split(","):
        k = 1.0 if name == "native" else float(name[1:])
        found, over = 0, []
        for img, items in text:
            m = covered(detect_at(det, img, k), img.shape)
            found += sum(m[ink].mean() >= REMOVED_SHARE for ink in items)
            ink_all = np.any(items, axis=0) if items else np.zeros(img.shape, bool)
            over.append(m[~ink_all].mean())
        shares = {s: [covered(detect_at(det, img, k), img.shape).mean() for img in fr] for s, fr in free.items()}
        lines.append(f"  {name:7s} items found {found}/{n_items} = {found / max(1, n_items):.1%}   non-text in boxes "
                     f"(text frames) {np.mean(over):.2%}   text-free dev {np.mean(shares['dev']):.2%} mean / "
                     f"{np.max(shares['dev']):.2%} max   train {np.mean(shares['train']):.2%} / "
                     f"{np.max(shares['train']):.2%}")
        print(lines[-1], flush=True)
    out = ROOT / "benchmarks" / "results" / "tiny_frames.txt"
    out.write_text(f"$ python benchmarks/tiny_frames.py {' '.join(argv or sys.argv[1:])}\n" + "\n".join(lines) + "\n")
    print(lines[0])


if __name__ == "__main__":
    main()
