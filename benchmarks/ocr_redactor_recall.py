"""Recall of the OCR-based redactor baselines (Tesseract word boxes, layout only and full OCR) against ours, on the same labelled set.

    nice -n 15 python3 benchmarks/ocr_redactor_recall.py [data/synth/heldout] [--limit N]

Both are scored by training/evaluate.py (a personal-data item counts only if every character is covered), and
both get the SAME safety margins (the committed model's sidecar), so the comparison is recall at a given speed,
not margins. Prints instance recall, char recall, over-redaction and seconds per image for each.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_pixels import TesseractDetector  # noqa: E402
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


def timed_eval(data: Path, detector, limit: int | None) -> tuple[dict, float]:
    t = time.perf_counter()
    m = evaluate(data, detector, limit=limit)
    return m, (time.perf_counter() - t) / max(1, m["images"])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, nargs="?", default=ROOT / "data/synth/heldout")
    ap.add_argument("--limit", type=int, default=None, help="first N images by name (Tesseract is slow)")
    a = ap.parse_args(argv)
    ours = TextDetector(threads=2)
    for name, det in (("medanon detector", ours), ("tesseract layout", OcrAsDetector(ours.settings, False)),
                      ("tesseract ocr", OcrAsDetector(ours.settings, True))):
        m, s = timed_eval(a.data, det, a.limit)
        lo, hi = m["ci95"]
        print(f"{name:17s}: instance recall {m['instance_recall']:.4%} ({m['found']}/{m['instances']}, Wilson 95 % "
              f"{lo:.2%}-{hi:.2%}), char recall {m['char_recall']:.4%}, over-redaction {m['over_redaction']:.2%}, "
              f"{s * 1e3:.0f} ms/image (incl. scoring)", flush=True)


if __name__ == "__main__":
    main()
