"""Clean frames taken from the public DICOM samples in ../shared/data/dicom that show NO burned-in text.

Why: procedural frames alone teach the detector our own textures; real anatomy from other vendors adds the edges,
grids and noise text must be told apart from. Only files whose ``burned_in_text_visual`` is ``NO`` in
inventory.csv (reviewed by eye) are used, so no unlabelled text enters the training set. Without the shared folder
the layouts fall back to procedural frames (the same seed then gives different pixels: documented in README).
"""
from __future__ import annotations

import csv
import hashlib
import os
import random
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pydicom
from pydicom.pixels import pixel_array

SHARED = Path(os.environ.get("MEDANON_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
INVENTORY = SHARED / "data" / "dicom" / "inventory.csv"
DEV_MODULO = 4  # training/data/real_split.yaml: a source is dev (never trained on) when sha1 % DEV_MODULO == 0


def is_dev_source(source: str) -> bool:
    """The split rule for real data by source (repository, or first folder of a shared DICOM path): dev sources are
    never trained on, not even as backgrounds, so the dev figures of benchmarks/real_pixels.py stay honest."""
    return int(hashlib.sha1(source.encode()).hexdigest(), 16) % DEV_MODULO == 0


@lru_cache(maxsize=None)
def clean_samples(modalities: tuple[str, ...]) -> tuple[Path, ...]:
    """Sample files without burned-in text, of the given modalities (all when empty), sorted (stable); the dev
    sources of the real-data split are left out."""
    if not INVENTORY.is_file():
        return ()
    with INVENTORY.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        if r.get("burned_in_text_visual") != "NO" or r.get("HasPixelData") != "Y" or r.get("read_error"):
            continue
        if modalities and r.get("Modality", "") not in modalities:
            continue
        if int(r.get("Rows") or 0) < 100 or "Extended" in r.get("TransferSyntaxName", ""):
            continue   # 12-bit JPEG extended decodes in no installed plugin (shared/notes/STACK.md)
        p = INVENTORY.parent / r["path"]
        if p.is_file() and not is_dev_source(r["path"].split("/", 1)[0]):
            out.append(p)
    return tuple(sorted(out))


@lru_cache(maxsize=6)
def load_sample(path: Path) -> np.ndarray:
    """Frame 0 of ``path`` as display values float32 0..255 (grey HxW or RGB HxWx3)."""
    ds = pydicom.dcmread(path)
    arr = pixel_array(ds, index=0) if int(ds.get("NumberOfFrames", 1) or 1) > 1 else ds.pixel_array
    arr = arr.astype(np.float32)
    if arr.ndim == 2:
        lo, hi = np.percentile(arr, (0.5, 99.5))
        arr = np.clip((arr - lo) / max(hi - lo, 1e-6) * 255, 0, 255)
        if ds.PhotometricInterpretation == "MONOCHROME1":
            arr = 255 - arr
    return arr


def sample_frame(rng: random.Random, w: int, h: int, modalities: tuple[str, ...]) -> np.ndarray | None:
    """A random crop of a clean sample, resized to w x h; None when no sample is available."""
    paths = clean_samples(modalities)
    if not paths:
        return None
    img = load_sample(rng.choice(paths))
    ih, iw = img.shape[:2]
    crop = rng.uniform(0.6, 1.0)
    cw, ch = max(16, int(iw * crop)), max(16, int(ih * crop))
    x, y = rng.randrange(iw - cw + 1), rng.randrange(ih - ch + 1)
    return cv2.resize(np.ascontiguousarray(img[y:y + ch, x:x + cw]), (w, h), interpolation=cv2.INTER_AREA)


@lru_cache(maxsize=64)
def load_background(path: Path) -> np.ndarray:
    """A real frame (PNG/JPEG of ../shared/data/real) as float32 0..255, grey HxW or RGB HxWx3."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"cannot read background {path}")
    if img.ndim == 3:
        img = cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2RGB)
        if np.abs(img.astype(np.int16) - img[..., :1]).max() <= 2:
            img = img[..., 0]
    return img.astype(np.float32)


def real_background(rng: random.Random, w: int, h: int, paths: tuple[Path, ...]) -> np.ndarray:
    """A random crop (50-100 % of each side) of a random real frame, resized to w x h."""
    img = load_background(paths[rng.randrange(len(paths))])
    ih, iw = img.shape[:2]
    cw, ch = max(16, int(iw * rng.uniform(0.5, 1.0))), max(16, int(ih * rng.uniform(0.5, 1.0)))
    x, y = rng.randrange(iw - cw + 1), rng.randrange(ih - ch + 1)
    return cv2.resize(np.ascontiguousarray(img[y:y + ch, x:x + cw]), (w, h), interpolation=cv2.INTER_AREA)
