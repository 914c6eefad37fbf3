"""Real labelled sets (hospital images with text boxes drawn by a person) in YOLO or COCO format.

Both are converted to the synth/ folder layout (``png/<id>.png`` + ``labels/<id>.txt``) so training/tiles.py cuts
them exactly like synthetic images. Layouts accepted (see training/README.md):

YOLO::  ROOT/images/**/*.{png,jpg}  +  ROOT/labels/**/<same stem>.txt   (cls cx cy w h, normalised; any class = text)
COCO::  ROOT/annotations.json (or ROOT/*.json)  +  ROOT/images/<file_name>   (bbox = [x, y, w, h] in pixels)

An image with no label file is a NEGATIVE (no text) example, which is deliberate: real background texture teaches
precision. A label file or annotation that cannot be parsed raises ``RealSetError`` (never silently skipped).
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


class RealSetError(ValueError):
    """The real set does not follow a documented layout or has malformed labels."""


def detect_format(root: Path) -> str:
    """'yolo' or 'coco' from the folder layout."""
    if (root / "labels").is_dir():
        return "yolo"
    if (root / "annotations.json").exists() or any(root.glob("*.json")):
        return "coco"
    raise RealSetError(f"{root}: neither labels/ (YOLO) nor a COCO *.json found")


def _yolo_boxes(txt: Path) -> list[list[float]]:
    rows = []
    for n, line in enumerate(txt.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 5:
            raise RealSetError(f"{txt}:{n}: expected 'cls cx cy w h', got {line!r}")
        vals = [float(v) for v in parts[1:5]]
        if not all(0.0 <= v <= 1.0 for v in vals):
            raise RealSetError(f"{txt}:{n}: YOLO values must be normalised to 0..1")
        rows.append(vals)
    return rows


def load_yolo(root: Path) -> list[tuple[Path, list[list[float]]]]:
    """(image, normalised cx cy w h boxes) per image."""
    out = []
    for img in sorted(p for p in (root / "images").rglob("*") if p.suffix.lower() in IMAGE_EXT):
        rel = img.relative_to(root / "images").with_suffix(".txt")
        txt = root / "labels" / rel
        out.append((img, _yolo_boxes(txt) if txt.exists() else []))
    return out


def load_coco(root: Path) -> list[tuple[Path, list[list[float]]]]:
    """COCO json -> (image, normalised boxes); every category counts as text."""
    js = root / "annotations.json"
    if not js.exists():
        js = sorted(root.glob("*.json"))[0]
    coco = json.loads(js.read_text())
    try:
        images = {im["id"]: im for im in coco["images"]}
        boxes: dict[int, list[list[float]]] = {i: [] for i in images}
        for a in coco.get("annotations", []):
            im = images[a["image_id"]]
            x, y, w, h = (float(v) for v in a["bbox"])
            W, H = float(im["width"]), float(im["height"])
            boxes[a["image_id"]].append([(x + w / 2) / W, (y + h / 2) / H, w / W, h / H])
    except (KeyError, TypeError, ValueError) as e:
        raise RealSetError(f"{js}: malformed COCO ({e!r})") from e
    base = root / "images" if (root / "images").is_dir() else root
    return [(base / images[i]["file_name"], boxes[i]) for i in sorted(images)]


def load_real_set(root: Path) -> list[tuple[Path, list[list[float]]]]:
    root = Path(root)
    return load_yolo(root) if detect_format(root) == "yolo" else load_coco(root)


def prepare_real_set(root: Path, out: Path) -> Path:
    """Convert a real set to png/ + labels/ under out (8-bit PNG, YOLO txt). Returns out."""
    (out / "png").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    for n, (img_path, boxes) in enumerate(load_real_set(Path(root))):
        img = cv2.imread(str(img_path), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise RealSetError(f"cannot read image {img_path}")
        if img.dtype != np.uint8:
            img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
        stem = f"real{n:06d}"
        cv2.imwrite(str(out / "png" / f"{stem}.png"), img)
        (out / "labels" / f"{stem}.txt").write_text("".join(f"0 {b[0]:.6f} {b[1]:.6f} {b[2]:.6f} {b[3]:.6f}\n" for b in boxes))
    return out
