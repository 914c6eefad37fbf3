"""Over-redaction proxy on REAL files, which have no labels: the share of each frame the detector blanks.

    python benchmarks/real_blanked_share.py [--limit 40] [--compare "conf_grow=None,bridge=0"]
                                            [--compare "model=runs/gen2/text_detector.onnx"]

Files: bench_pixels' pick (../shared/data/dicom, burned-in-text files first; single-frame files and the first
frame of three multi-frame files). Many of them carry no text at all (CT, MG, visible-light photos), so a lower
share is better, but it is not a measured over-redaction: text that is really there is counted too. Prints the
share per file for the committed settings and for each --compare variant (detector settings overridden), and
the means. Ultrasound-region blanking is NOT included (detector boxes only).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import warnings
from pathlib import Path

import numpy as np
import pydicom

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_pixels import pick_files  # noqa: E402
from inference.detect import TextDetector  # noqa: E402
from inference.pixels.decode import decoded_photometric, iter_frames  # noqa: E402
from inference.pixels.view import fix_window, to_view, view_params  # noqa: E402


def parse_variant(text: str) -> dict:
    """'conf_grow=None,bridge=0' -> {'conf_grow': None, 'bridge': 0.0}; 'model=PATH' keeps PATH as text."""
    out: dict = {}
    for part in filter(None, text.split(",")):
        key, value = (x.strip() for x in part.split("=", 1))
        out[key] = value if key == "model" else None if value.lower() == "none" else float(value)
    return out


def variant_detector(base: TextDetector, text: str) -> TextDetector:
    """Another model (with its own sidecar settings) and/or other settings, as the variant says."""
    v = parse_variant(text)
    model = v.pop("model", None)
    det = TextDetector(model) if model else base
    return TextDetector(det.model_path, settings=dataclasses.replace(det.settings, **v)) if v else det


def first_view(path: Path) -> np.ndarray | None:
    """The detector's 8-bit view of the first frame, or None if it cannot be decoded here."""
    try:
        ds = pydicom.dcmread(path)
        frame = next(iter_frames(ds))
        return to_view(frame, fix_window(view_params(ds, decoded_photometric(ds)), frame))
    except Exception:  # noqa: BLE001 - a sample this environment cannot decode is simply not measured
        return None


def blanked_share(detector: TextDetector, view: np.ndarray) -> float:
    rows, cols = view.shape[:2]
    mask = np.zeros((rows, cols), bool)
    for x0, y0, x1, y1, _ in detector.detect(view):
        mask[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))] = True
    return float(mask.mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--compare", action="append", default=[], help="detector settings to compare, k=v,k=v")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    base = TextDetector()
    variants = [("committed", base)] + [(v, variant_detector(base, v)) for v in a.compare]
    single, multi = pick_files(a.limit)
    shares: dict[str, list[float]] = {name: [] for name, _ in variants}
    for path in single + multi[:3]:
        view = first_view(path)
        if view is None or min(view.shape[:2]) < 64:
            continue
        row = [blanked_share(det, view) for _, det in variants]
        for (name, _), value in zip(variants, row):
            shares[name].append(value)
        cells = "  ".join(f"{name} {v:.3f}" for (name, _), v in zip(variants, row))
        print(f"{path.name[:36]:36s} {cells}", flush=True)
    for name, values in shares.items():
        print(f"mean blanked share, {name}: {np.mean(values):.3f} over {len(values)} files")


if __name__ == "__main__":
    main()
