"""Recall of the OCR-based redactor baselines (Tesseract word boxes, layout only and full OCR; Presidio's DICOM
image redactor) against ours, on the same labelled set.

    nice -n 15 python3 benchmarks/ocr_redactor_recall.py [data/synth/heldout] [--limit N]

Both are scored by training/evaluate.py (a personal-data item counts only if every character is covered), and
both get the SAME safety margins (the committed model's sidecar), so the comparison is recall at a given speed,
not margins. Presidio (when scripts/install_presidio_bench.sh has made .venv-presidio/) is scored on the boxes it
blanks, as it blanks them, on the files it releases (it fails on multi-frame files: counted apart).
Prints instance recall, char recall, over-redaction and seconds per image for each.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_pixels import PRESIDIO_PY, TesseractDetector  # noqa: E402  - one place knows the Presidio venv
from inference.detect import TextDetector  # noqa: E402
from training.evaluate import evaluate  # noqa: E402


class OcrAsDetector:
    """Tesseract word boxes behind the interface evaluate() expects (settings + detect_raw)."""

    def __init__(self, settings, recognize: bool):
        self.settings = settings
        self.ocr = TesseractDetector(recognize)

    def detect_raw(self, image: np.ndarray) -> np.ndarray:
        boxes = self.ocr.detect(image)
        boxes[:, 4] = 1.0  # above any confidence threshold
        return boxes


class FixedBoxes:
    """Boxes computed elsewhere (Presidio), handed to evaluate() in its image order, no margin added."""

    def __init__(self, settings, boxes: list[list[list[float]]]):
        self.settings = dataclasses.replace(settings, conf=0.0, margin_rel=0.0, margin_along=0.0, margin_min=0)
        self.queue = list(boxes)

    def detect_raw(self, image: np.ndarray) -> np.ndarray:
        b = np.array(self.queue.pop(0), np.float32).reshape(-1, 4)
        return np.hstack([b, np.ones((len(b), 1), np.float32)])


def presidio_eval(data: Path, limit: int | None, settings) -> tuple[dict, float, int] | None:
    """Presidio on the DICOM files of the first ``limit`` images; scored on the files it released."""
    if not PRESIDIO_PY.exists():
        print("presidio         : not installed (scripts/install_presidio_bench.sh)")
        return None
    ids = [p.stem for p in sorted((data / "gt").glob("*.json"))[:limit]]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "boxes.json"
        files = [str(data / "images" / f"{i}.dcm") for i in ids]
        run = subprocess.run([str(PRESIDIO_PY), str(ROOT / "benchmarks" / "presidio_baseline.py"), *files,
                              "--boxes", str(out)], capture_output=True, text=True, check=True)
        timing = json.loads(run.stdout.strip().splitlines()[-1])
        got = json.loads(out.read_text())
        kept = [i for i, f in zip(ids, files) if f in got]
        sub = Path(tmp) / "released"
        for d in ("gt", "png"):
            (sub / d).mkdir(parents=True)
            for i in kept:
                ext = "json" if d == "gt" else "png"
                (sub / d / f"{i}.{ext}").symlink_to((data / d / f"{i}.{ext}").resolve())
        if (data / "manifest.csv").exists():
            shutil.copy(data / "manifest.csv", sub / "manifest.csv")
        m = evaluate(sub, FixedBoxes(settings, [got[str(data / "images" / f"{i}.dcm")] for i in kept]))
    return m, timing["seconds"] / max(1, len(files)), len(files) - len(kept)


def timed_eval(data: Path, detector, limit: int | None) -> tuple[dict, float]:
    t = time.perf_counter()
    m = evaluate(data, detector, limit=limit)
    return m, (time.perf_counter() - t) / max(1, m["images"])


def line(name: str, m: dict, s: float, extra: str = "") -> str:
    lo, hi = m["ci95"]
    return (f"{name:17s}: instance recall {m['instance_recall']:.4%} ({m['found']}/{m['instances']}, Wilson 95 % "
            f"{lo:.2%}-{hi:.2%}), char recall {m['char_recall']:.4%}, over-redaction {m['over_redaction']:.2%}, "
            f"{s * 1e3:.0f} ms/image{extra}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, nargs="?", default=ROOT / "data/synth/heldout")
    ap.add_argument("--limit", type=int, default=None, help="first N images by name (Tesseract is slow)")
    ap.add_argument("--only", nargs="*", default=None, help="subset of: medanon layout ocr presidio")
    a = ap.parse_args(argv)
    want = set(a.only or ["medanon", "layout", "ocr", "presidio"])
    ours = TextDetector(threads=2)
    for key, name, det in (("medanon", "medanon detector", ours),
                           ("layout", "tesseract layout", OcrAsDetector(ours.settings, False)),
                           ("ocr", "tesseract ocr", OcrAsDetector(ours.settings, True))):
        if key in want:
            m, s = timed_eval(a.data, det, a.limit)
            print(line(name, m, s, " (incl. scoring)"), flush=True)
    if "presidio" in want and (r := presidio_eval(a.data, a.limit, ours.settings)) is not None:
        m, s, failed = r
        print(line("presidio", m, s, f" (its own loop, DICOM in and out); {failed} files not released "
                                     "(it raised: multi-frame)"), flush=True)


if __name__ == "__main__":
    main()
