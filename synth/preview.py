"""Draw ground-truth boxes on the PNG renderings (for eyeballing and the gallery notebook).

Red boxes: personal data; green: other text; blue: plates. ``python -m synth.preview DIR ID... --out FILE.png``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image, ImageDraw


def draw_boxes(root: Path, iid: str, chars: bool = False) -> Image.Image:
    """The PNG of ``iid`` with its gt boxes drawn (RGB)."""
    gt = json.loads((root / "gt" / f"{iid}.json").read_text(encoding="utf-8"))
    img = Image.open(root / "png" / f"{iid}.png").convert("RGB")
    d = ImageDraw.Draw(img)
    for p in gt["plates"]:
        d.rectangle([p["box"][0], p["box"][1], p["box"][2] - 1, p["box"][3] - 1], outline=(60, 60, 255))
    for it in gt["items"]:
        if it["frames"] is not None and 0 not in it["frames"]:
            continue
        x0, y0, x1, y1 = it["box"]
        d.rectangle([x0, y0, x1 - 1, y1 - 1], outline=(255, 0, 0) if it["phi"] else (0, 220, 0))
        if chars:
            for c in it["chars"]:
                if c:
                    d.rectangle([c[0], c[1], c[2] - 1, c[3] - 1], outline=(255, 160, 0))
    return img


def grid(images: list[Image.Image], cols: int = 3, cell: int = 480) -> Image.Image:
    """Thumbnails in a grid (aspect kept)."""
    rows = (len(images) + cols - 1) // cols
    out = Image.new("RGB", (cols * cell, rows * cell), (40, 40, 40))
    for k, im in enumerate(images):
        im = im.copy()
        im.thumbnail((cell - 4, cell - 4))
        out.paste(im, ((k % cols) * cell + 2, (k // cols) * cell + 2))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("ids", nargs="*")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--chars", action="store_true")
    ap.add_argument("--cell", type=int, default=480)
    a = ap.parse_args()
    ids = a.ids or sorted(p.stem for p in (a.root / "gt").glob("*.json"))[:12]
    grid([draw_boxes(a.root, i, a.chars) for i in ids], cell=a.cell).save(a.out)


if __name__ == "__main__":
    main()
