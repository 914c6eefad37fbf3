"""Real images from ../shared for training and judging the detector, split by source (training/data/real_split.yaml).

Three training sources come from here (DVC stage ``realdata``, ``python -m training.realdata``):

- ``labelled``: the TRAIN part of the hand-checked DICOM files (text_labels/), as the detector sees them (the
  pipeline's own 8-bit view), with their boxes, in synth/'s folder layout (png/ + labels/) for training/tiles.py;
- ``negatives``: pre-cut tiles of the TRAIN part of the text-free real frames (data/real has_text NO), centred on
  where the CURRENT committed model fires (hard-negative mining) plus random ones, with empty labels;
- real frames as synthetic-text backgrounds: synth --real-frames draws from ``background_frames('train')``.

The dev part is never used for any of these. Why: gen 5 learned our synthetic backgrounds and blanked real
anatomy (issue 16); real texture with no label is what teaches it that anatomy is not text.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import yaml

from synth.samples import is_dev_source

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MEDANON_SHARED", ROOT.parent / "shared"))
SPLIT_FILE = ROOT / "training" / "data" / "real_split.yaml"
LABELS = SHARED / "data" / "dicom" / "text_labels"
REAL = SHARED / "data" / "real"


@dataclass(frozen=True)
class LabelledFile:
    """One hand-labelled DICOM file (and its re-encodings) of ../shared/data/dicom/text_labels."""

    path: Path  # the DICOM file
    label: dict  # the label JSON: rows, cols, frames, items[{frame, box, text, phi}], same_pixels_as


@dataclass(frozen=True)
class RealFrame:
    """One frame of ../shared/data/real/manifest.csv."""

    path: Path
    modality: str
    source: str
    has_text: bool
    notes: str = ""  # the manifest's text_notes


@lru_cache(maxsize=1)
def split_spec() -> dict:
    return yaml.safe_load(SPLIT_FILE.read_text())


def source_split(source: str) -> str:
    """'dev' or 'train' for a source repository (the written hash rule of real_split.yaml, synth.samples)."""
    return "dev" if is_dev_source(source) else "train"


def labelled_files(split: str, with_copies: bool = False) -> list[LabelledFile]:
    """The labelled files of one split (``with_copies``: their re-encodings too, same labels)."""
    out = []
    for rel in split_spec()["labelled"][split]:
        js = LABELS / f"{rel}.json"
        if not js.is_file():
            raise FileNotFoundError(f"label file missing: {js}")
        label = json.loads(js.read_text())
        paths = [rel] + (list(label.get("same_pixels_as") or []) if with_copies else [])
        out += [LabelledFile(SHARED / "data" / "dicom" / p, label) for p in paths if (SHARED / "data" / "dicom" / p).is_file()]
    return out


def real_frames(split: str, has_text: bool | None = None) -> list[RealFrame]:
    """Frames of data/real in one split (by source repository), optionally only with or without text."""
    with (REAL / "manifest.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        fr = RealFrame(REAL / r["file"], r["modality"], r["source_repo"], r["has_text"] == "YES", r.get("text_notes", ""))
        if source_split(fr.source) == split and (has_text is None or fr.has_text == has_text):
            out.append(fr)
    return out


def dicom_sample_split(rel_path: str) -> str:
    """Split of a ../shared/data/dicom sample by its first folder (its source project)."""
    return source_split(rel_path.split("/", 1)[0])


def text_free_samples(split: str) -> list[Path]:
    """Shared DICOM samples marked text-free by eye (inventory.csv), of the split ('all': both), that decode here
    (12-bit JPEG Extended is left out; see inference/pixels/README.md)."""
    inv = SHARED / "data" / "dicom" / "inventory.csv"
    with inv.open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r.get("burned_in_text_visual") == "NO" and r.get("HasPixelData") == "Y"
                and not r.get("read_error") and "Extended" not in r.get("TransferSyntaxName", "")]
    return [inv.parent / r["path"] for r in rows if split in ("all", dicom_sample_split(r["path"]))]


def load_frame(path: Path) -> np.ndarray:
    """A data/real frame as uint8 grey (HxW) or RGB (HxWx3)."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"cannot read {path}")
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if np.abs(img.astype(np.int16) - img[..., :1]).max() <= 2:  # a grey image stored as colour
            img = img[..., 0]
    return img if img.dtype == np.uint8 else cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def dicom_views(path: Path, frames: list[int] | None = None) -> list[np.ndarray]:
    """The pipeline's 8-bit views (what the detector sees) of the given frames of a DICOM file (default: frame 0)."""
    import pydicom  # noqa: PLC0415

    from inference.pixels.decode import decoded_photometric, iter_frames  # noqa: PLC0415
    from inference.pixels.view import fix_window, to_view, view_params  # noqa: PLC0415

    ds = pydicom.dcmread(path)
    want = set(frames or [0])
    params, out = None, []
    for k, frame in enumerate(iter_frames(ds)):
        if params is None:
            params = fix_window(view_params(ds, decoded_photometric(ds)), frame)
        if k in want:
            out.append(to_view(frame, params))
        if k >= max(want):
            break
    return out


def item_boxes(label: dict, frame: int) -> np.ndarray:
    """(N, 4) boxes of the items shown on ``frame``."""
    b = [it["box"] for it in label["items"] if it["frame"] in ("all", frame)]
    return np.array(b, np.float32).reshape(-1, 4)


def yolo_lines(boxes: np.ndarray, width: int, height: int) -> list[str]:
    return [f"0 {(x0 + x1) / 2 / width:.6f} {(y0 + y1) / 2 / height:.6f} {(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f}"
            for x0, y0, x1, y1 in boxes]


def build_labelled(out: Path, copies: int = 1) -> int:
    """TRAIN labelled files -> out/png + out/labels (frame 0, and frame 1 of multi-frame files). Each image is
    written ``copies`` times under different names, so the 17 files weigh more than one synthetic image each."""
    (out / "png").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    n = 0
    for lf in labelled_files("train", with_copies=False):
        frames = [0, 1] if int(lf.label.get("frames") or 1) > 1 else [0]
        for k, view in zip(frames, dicom_views(lf.path, frames)):
            h, w = view.shape[:2]
            lines = yolo_lines(item_boxes(lf.label, k), w, h)
            img = view if view.ndim == 2 else cv2.cvtColor(view, cv2.COLOR_RGB2BGR)
            for c in range(copies):
                stem = f"lab_{hashlib.sha1(str(lf.path).encode()).hexdigest()[:10]}_f{k}_c{c}"
                cv2.imwrite(str(out / "png" / f"{stem}.png"), img)
                (out / "labels" / f"{stem}.txt").write_text("".join(ln + "\n" for ln in lines))
                n += 1
    return n


def mining_centres(detector, img: np.ndarray, k: int, floor: float) -> list[tuple[float, float]]:
    """Centres of the ``k`` highest-scoring raw detections (score >= floor) of the current model on a text-free
    frame: every one is a false alarm, the examples the next model most needs."""
    raw = detector.detect_raw(img)
    raw = raw[raw[:, 4] >= floor]
    raw = raw[np.argsort(-raw[:, 4])]
    out: list[tuple[float, float]] = []
    for x0, y0, x1, y1, _ in raw:
        c = ((x0 + x1) / 2, (y0 + y1) / 2)
        if all(abs(c[0] - p[0]) > 80 or abs(c[1] - p[1]) > 80 for p in out):
            out.append(c)
        if len(out) >= k:
            break
    return out


def build_negatives(out: Path, tile: int, model: Path, mined: int = 3, random_tiles: int = 1, seed: int = 0,
                    limit: int = 0) -> dict[str, int]:
    """TRAIN text-free real frames -> pre-cut tiles in out/png (+ empty out/labels): up to ``mined`` tiles centred
    on the current model's false alarms and ``random_tiles`` uniform ones per frame."""
    from inference.detect import TextDetector  # noqa: PLC0415
    from training.tiles import cut_tile  # noqa: PLC0415

    det = TextDetector(model)
    rng = random.Random(seed)
    (out / "png").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    counts = {"frames": 0, "mined": 0, "random": 0}
    frames = real_frames("train", has_text=False)
    for fr in frames[:limit] if limit > 0 else frames:
        img = load_frame(fr.path)
        h, w = img.shape[:2]
        if min(h, w) < 32:
            continue
        counts["frames"] += 1
        centres = mining_centres(det, img, mined, floor=det.floor_conf)
        origins = [("m", int(cx - tile / 2), int(cy - tile / 2)) for cx, cy in centres]
        origins += [("r", rng.randint(0, max(0, w - tile)), rng.randint(0, max(0, h - tile))) for _ in range(random_tiles)]
        for j, (kind, x0, y0) in enumerate(origins):
            x0, y0 = min(max(0, x0), max(0, w - tile)), min(max(0, y0), max(0, h - tile))
            crop = cut_tile(img, x0, y0, tile)
            crop = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_RGB2BGR)
            stem = f"neg_{fr.path.stem}_{hashlib.sha1(str(fr.path).encode()).hexdigest()[:6]}_{j}"
            cv2.imwrite(str(out / "png" / f"{stem}.png"), crop)
            (out / "labels" / f"{stem}.txt").write_text("")
            counts["mined" if kind == "m" else "random"] += 1
    return counts


def background_frames(split: str = "train", modalities: tuple[str, ...] = ()) -> tuple[Path, ...]:
    """Text-free real frames of one split (of ``modalities`` when given), sorted: backgrounds for synthetic text
    (synth --real-frames)."""
    return tuple(sorted(f.path for f in real_frames(split, has_text=False) if not modalities or f.modality in modalities))


def main(argv: list[str] | None = None) -> None:
    from training.config import load_params  # noqa: PLC0415

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default=None)
    a = ap.parse_args(argv)
    params = load_params(a.params)
    rp, out = params.realdata, ROOT / params.realdata.out
    for sub in ("labelled", "negatives", "pseudo"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    (out / "pseudo" / "png").mkdir(parents=True)  # a DVC output either way; empty unless realdata.pseudo
    n = build_labelled(out / "labelled", rp.copies)
    print(f"labelled (train split): {n} images -> {out / 'labelled'}", flush=True)
    c = build_negatives(out / "negatives", params.train.tile, ROOT / rp.mining_model, rp.mined, rp.random_tiles,
                        limit=rp.frame_limit)
    print(f"negatives (train split, mined with {rp.mining_model}): {c} -> {out / 'negatives'}", flush=True)
    if rp.pseudo:
        from training.pseudolabel import accept, propose  # noqa: PLC0415

        propose(out / "pseudo")
        n = accept(out / "pseudo", ROOT / "training" / "data" / "pseudo_review.json")
        print(f"pseudo-labelled real text frames (reviewed): {n} -> {out / 'pseudo'}", flush=True)


if __name__ == "__main__":
    main()
