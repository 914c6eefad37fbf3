"""Pseudo-labels for the real frames WITH text of the training split (data/real has_text YES, unlabelled):
RapidOCR's PP-OCR detector (bundled model) as the teacher, checked by eye before training.

    python -m training.pseudolabel propose [--out data/real/pseudo]   # boxes + numbered contact sheets
    python -m training.pseudolabel accept REVIEW.json                 # keep only the frames a person accepted
    python -m training.pseudolabel build [--review training/data/pseudo_review.json]  # both (DVC stage pseudo)

``propose`` writes png/ + labels/ (YOLO) for every candidate frame, sheets/sheet_NN.png (12 frames each, boxes
drawn, frame numbers printed) and candidates.json. A reviewer looks at every sheet and writes REVIEW.json:
{"accepted": [frame numbers whose every text is boxed], "notes": "..."}; ``accept`` deletes the rest, so an
unboxed word never teaches the model that text is background. Lead-marker-only frames (text_notes
"marker-only:") are skipped: the teacher misses single glyphs.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import cv2
import numpy as np

from training.realdata import ROOT, load_frame, real_frames, yolo_lines

MAX_AREA = 0.2  # a proposed box larger than this share of the frame is a false alarm on anatomy


def teacher_boxes(img: np.ndarray) -> np.ndarray:
    """RapidOCR detector boxes (x0, y0, x1, y1), whole-image false alarms dropped."""
    from inference.audit.ocr import _rapidocr  # noqa: PLC0415

    rgb = np.stack([img] * 3, axis=-1) if img.ndim == 2 else img
    res = _rapidocr()(rgb, use_det=True, use_cls=False, use_rec=False)
    found = getattr(res, "boxes", None) if res is not None else None
    boxes = []
    for b in [] if found is None else found:
        pts = np.asarray(b)
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        if (x1 - x0) * (y1 - y0) <= MAX_AREA * img.shape[0] * img.shape[1]:
            boxes.append([x0, y0, x1, y1])
    return np.array(boxes, np.float32).reshape(-1, 4)


def propose(out: Path) -> int:
    for sub in ("png", "labels", "sheets"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
        (out / sub).mkdir(parents=True)
    cands, cells = [], []
    frames = [f for f in real_frames("train", has_text=True) if not f.notes.startswith("marker-only")]
    for fr in frames:
        img = load_frame(fr.path)
        boxes = teacher_boxes(img)
        k = len(cands)
        stem = f"pseudo_{k:04d}"
        h, w = img.shape[:2]
        cv2.imwrite(str(out / "png" / f"{stem}.png"), img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        (out / "labels" / f"{stem}.txt").write_text("".join(ln + "\n" for ln in yolo_lines(boxes, w, h)))
        cands.append({"n": k, "stem": stem, "file": str(fr.path), "modality": fr.modality, "boxes": len(boxes)})
        vis = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        vis = vis.copy()
        for x0, y0, x1, y1 in boxes.astype(int):
            cv2.rectangle(vis, (x0, y0), (x1, y1), (0, 0, 255), max(1, w // 400))
        vis = cv2.resize(vis, (480, int(480 * h / w)))
        vis = cv2.copyMakeBorder(vis, 0, max(0, 480 - vis.shape[0]), 0, 0, cv2.BORDER_CONSTANT)[:480]
        cv2.putText(vis, f"#{k}", (6, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 255, 255), 2)
        cells.append(vis)
    for s in range(0, len(cells), 12):
        group = cells[s:s + 12] + [np.zeros_like(cells[0])] * (-len(cells[s:s + 12]) % 4)
        sheet = np.vstack([np.hstack(group[i:i + 4]) for i in range(0, len(group), 4)])
        cv2.imwrite(str(out / "sheets" / f"sheet_{s // 12:02d}.png"), sheet)
    (out / "candidates.json").write_text(json.dumps(cands, indent=1))
    return len(cands)


def accept(out: Path, review: Path) -> int:
    """Keep only the reviewed-and-accepted frames (png + labels); returns how many stay."""
    ok = set(json.loads(review.read_text())["accepted"])
    for c in json.loads((out / "candidates.json").read_text()):
        if c["n"] not in ok:
            for p in (out / "png" / f"{c['stem']}.png", out / "labels" / f"{c['stem']}.txt"):
                p.unlink(missing_ok=True)
    return len(list((out / "png").glob("*.png")))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("propose")
    p.add_argument("--out", type=Path, default=ROOT / "data" / "real" / "pseudo")
    q = sub.add_parser("accept")
    q.add_argument("review", type=Path)
    q.add_argument("--out", type=Path, default=ROOT / "data" / "real" / "pseudo")
    b = sub.add_parser("build", help="propose, then keep what the committed review accepted")
    b.add_argument("--review", type=Path, default=ROOT / "training" / "data" / "pseudo_review.json")
    b.add_argument("--out", type=Path, default=ROOT / "data" / "real" / "pseudo")
    a = ap.parse_args(argv)
    if a.cmd in ("propose", "build"):
        print(f"proposed {propose(a.out)} frames -> {a.out}/sheets")
    if a.cmd in ("accept", "build"):
        print(f"accepted {accept(a.out, a.review)} frames")


if __name__ == "__main__":
    main()
