"""Cut native-resolution training tiles from full images with YOLO labels.

Why tiles: burned-in text is often 7-10 px tall on 1024-2000 px images. Letterboxing a whole image to 640 px
would shrink such text to 3-5 px, below what a detector can see. So the detector trains on crops at native
scale (the model never sees rescaled text beyond mild augmentation) and inference tiles the image the same way.

Labels are padded (``pad_box``) so that (a) whole characters including accents and descenders are inside, and
(b) even 7 px tall text spans at least one stride-8 anchor row, which YOLO's task-aligned assigner needs to
create a positive sample at all.

Input folder (synth/ output or a real set converted by training/realset.py): ``png/<id>.png`` and
``labels/<id>.txt`` (YOLO: ``cls cx cy w h`` normalised). Output: ``images/<split>/*.png``,
``labels/<split>/*.txt`` and ``data.yaml`` for ultralytics.
"""
from __future__ import annotations

import argparse
import random
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import yaml


@dataclass(frozen=True)
class TileConfig:
    size: int = 320  # tile side in pixels (native scale)
    per_image: int = 6  # tiles cut per source image
    text_fraction: float = 0.8  # share of tiles centred on a text item (rest: random, mostly background)
    pad_rel: float = 0.15  # label padding relative to box height, each side
    min_height: float = 11.0  # padded labels are at least this tall (> stride 8)
    min_visible: float = 0.4  # keep a clipped box if this share of its width (or >= 1 char) stays in the tile
    val_fraction: float = 0.1
    seed: int = 0


def read_yolo_labels(path: Path, width: int, height: int) -> np.ndarray:
    """YOLO txt -> (N, 4) float32 pixel boxes x0, y0, x1, y1 (class ignored: single class text)."""
    if not path.exists():
        return np.zeros((0, 4), np.float32)
    rows = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    if not rows:
        return np.zeros((0, 4), np.float32)
    a = np.array([[float(v) for v in r[1:5]] for r in rows], np.float32)
    cx, cy, w, h = a[:, 0] * width, a[:, 1] * height, a[:, 2] * width, a[:, 3] * height
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)


def pad_box(boxes: np.ndarray, pad_rel: float, min_height: float) -> np.ndarray:
    """Grow boxes by pad_rel x thickness each side and make the thin side at least min_height (centred).

    Thickness = the smaller side: the line height of horizontal text, the line width of vertical (90 degree) labels.
    """
    b = boxes.astype(np.float32).copy()
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    pad = pad_rel * np.minimum(w, h)
    b[:, :2] -= pad[:, None]
    b[:, 2:] += pad[:, None]
    for lo, hi in ((1, 3), (0, 2)):  # thin side: y for horizontal text, x for vertical text
        thin = ((b[:, hi] - b[:, lo]) < min_height) & ((h <= w) if lo == 1 else (w < h))
        c = (b[:, lo] + b[:, hi]) / 2
        b[thin, lo] = c[thin] - min_height / 2
        b[thin, hi] = c[thin] + min_height / 2
    return b


def clip_to_tile(boxes: np.ndarray, x0: int, y0: int, size: int, min_visible: float) -> np.ndarray:
    """Boxes in tile coordinates, clipped; boxes with too little left in the tile are dropped.

    Partially visible text is KEPT as text (if at least ~one character width shows): at inference the union of
    overlapping tiles must cover long lines that no single tile contains whole.
    """
    if len(boxes) == 0:
        return boxes
    t = boxes - np.array([x0, y0, x0, y0], np.float32)
    c = np.clip(t, 0, size)
    w0, h0 = t[:, 2] - t[:, 0], t[:, 3] - t[:, 1]
    w1, h1 = c[:, 2] - c[:, 0], c[:, 3] - c[:, 1]
    thick = np.minimum(w0, h0)
    horizontal = w0 >= h0
    # along the text direction: keep if a good share or at least ~one character shows; across it: most of the line
    keep_along = np.where(horizontal, (w1 >= min_visible * w0) | (w1 >= 0.8 * thick), (h1 >= min_visible * h0) | (h1 >= 0.8 * thick))
    keep_across = np.where(horizontal, h1 >= 0.6 * h0, w1 >= 0.6 * w0)
    return c[keep_along & keep_across & (w1 > 1) & (h1 > 1)]


def tile_origins(boxes: np.ndarray, width: int, height: int, cfg: TileConfig, rng: random.Random) -> list[tuple[int, int]]:
    """Top-left corners: most tiles centred (with jitter) on random text items, the rest uniform."""
    s = cfg.size
    out = []
    for i in range(cfg.per_image):
        if len(boxes) and i < round(cfg.per_image * cfg.text_fraction):
            b = boxes[rng.randrange(len(boxes))]
            cx = (b[0] + b[2]) / 2 + rng.uniform(-0.4, 0.4) * s
            cy = (b[1] + b[3]) / 2 + rng.uniform(-0.4, 0.4) * s
            x0, y0 = int(cx - s / 2), int(cy - s / 2)
        else:
            x0, y0 = rng.randint(0, max(0, width - s)), rng.randint(0, max(0, height - s))
        out.append((min(max(0, x0), max(0, width - s)), min(max(0, y0), max(0, height - s))))
    return out


def cut_tile(img: np.ndarray, x0: int, y0: int, size: int) -> np.ndarray:
    """size x size crop; images smaller than a tile are padded with black (as the detector does)."""
    crop = img[y0:y0 + size, x0:x0 + size]
    if crop.shape[0] == size and crop.shape[1] == size:
        return crop
    pad = np.zeros((size, size) + img.shape[2:], img.dtype)
    pad[: crop.shape[0], : crop.shape[1]] = crop
    return pad


def write_labels(path: Path, boxes: np.ndarray, size: int) -> None:
    lines = []
    for x0, y0, x1, y1 in boxes:
        lines.append(f"0 {(x0 + x1) / 2 / size:.6f} {(y0 + y1) / 2 / size:.6f} {(x1 - x0) / size:.6f} {(y1 - y0) / size:.6f}")
    path.write_text("\n".join(lines) + ("\n" if lines else ""))


def source_pairs(src: Path) -> list[tuple[Path, Path]]:
    """(image, label) pairs of a synth-style folder: png/<id>.png + labels/<id>.txt."""
    imgs = sorted((src / "png").glob("*.png")) or sorted((src / "images").glob("*.png"))
    return [(p, src / "labels" / f"{p.stem}.txt") for p in imgs]


def image_splits(n: int, val_fraction: float, rng: random.Random) -> list[str]:
    """Whole images go to train or val (tiles of one image never straddle both); val is never empty when asked
    for, because ultralytics refuses an empty validation folder."""
    splits = ["val" if rng.random() < val_fraction else "train" for _ in range(n)]
    if val_fraction > 0 and n > 1 and "val" not in splits:
        splits[-1] = "val"
    return splits


def build_tiles(sources: list[Path | tuple[Path, int]], out: Path, cfg: TileConfig) -> dict[str, int]:
    """Cut tiles from every source folder into out/ and write out/data.yaml. Returns tile counts per split.
    A source given as (folder, n) gets n tiles per image instead of cfg.per_image (1 for pre-cut tiles)."""
    rng = random.Random(cfg.seed)
    counts = {"train": 0, "val": 0}
    for split in counts:
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    pairs = []
    for src in sources:
        folder, per_image = (src if isinstance(src, tuple) else (src, cfg.per_image))
        pairs += [(img, lab, per_image) for img, lab in source_pairs(Path(folder))]
    splits = image_splits(len(pairs), cfg.val_fraction, rng)
    for (img_path, lab_path, per_image), split in zip(pairs, splits):
        img = cv2.imread(str(img_path), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise ValueError(f"cannot read {img_path}")
        if img.dtype != np.uint8:
            img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
        h, w = img.shape[:2]
        raw = read_yolo_labels(lab_path, w, h)
        boxes = pad_box(raw, cfg.pad_rel, cfg.min_height)
        for k, (x0, y0) in enumerate(tile_origins(raw, w, h, replace(cfg, per_image=per_image), rng)):
            name = f"{img_path.parent.parent.name}_{img_path.stem}_{k}"
            cv2.imwrite(str(out / "images" / split / f"{name}.png"), cut_tile(img, x0, y0, cfg.size))
            write_labels(out / "labels" / split / f"{name}.txt", clip_to_tile(boxes, x0, y0, cfg.size, cfg.min_visible), cfg.size)
            counts[split] += 1
    data = {"path": str(out.resolve()), "train": "images/train", "val": "images/val", "names": {0: "text"}}
    (out / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return counts


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Cut native-resolution YOLO training tiles from synth/real sets.")
    ap.add_argument("sources", nargs="+", type=Path, help="folders with png/ + labels/")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--size", type=int, default=TileConfig.size)
    ap.add_argument("--per-image", type=int, default=TileConfig.per_image)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    counts = build_tiles(a.sources, a.out, TileConfig(size=a.size, per_image=a.per_image, seed=a.seed))
    print(f"tiles: {counts} -> {a.out}/data.yaml")


if __name__ == "__main__":
    main()
