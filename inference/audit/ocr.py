"""Independent OCR engines for the pixel audit: RapidOCR (bundled PP-OCR models) or Tesseract (Debian lit+eng).

Neither shares anything with the redactor's YOLO detector, so a text the redactor misses is not missed here for
the same reason. Engines load once per process (model loading costs about a second). The default is the engine
with the better measured recall on synth data: benchmarks/ocr_recall.py and its result file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

TESSDATA = os.environ.get("MEDANON_TESSDATA", "/usr/share/tesseract-ocr/5/tessdata/")
ENGINES = ("rapidocr", "tesseract")


class OcrUnavailable(RuntimeError):
    """The OCR engine is not installed: pixel checks cannot run, so the audit cannot pass."""


@dataclass(frozen=True)
class OcrLine:
    text: str
    score: float
    box: tuple[int, int, int, int]   # x0, y0, x1, y1 in the frame's pixels


def read(image: np.ndarray, engine: str = "rapidocr") -> list[OcrLine]:
    """Text lines in an 8-bit image (HxW or HxWx3)."""
    if engine == "rapidocr":
        return _read_rapidocr(image)
    if engine == "tesseract":
        return _read_tesseract(image)
    raise ValueError(f"unknown OCR engine {engine!r}; choose one of {', '.join(ENGINES)}")


@lru_cache(maxsize=1)
def _rapidocr():
    try:
        from rapidocr import RapidOCR
    except ImportError as e:
        raise OcrUnavailable("RapidOCR is not installed: pip install 'medanon[qa]' (rapidocr, onnxruntime)") from e
    threads = int(os.environ.get("MEDANON_OCR_THREADS", "2"))
    # the wheel's bundled PP-OCR models only: no model_root_dir, no other language that would download
    return RapidOCR(params={"Global.log_level": "error",
                            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                            "EngineConfig.onnxruntime.inter_op_num_threads": 1})


def _read_rapidocr(image: np.ndarray) -> list[OcrLine]:
    rgb = np.stack([image] * 3, axis=-1) if image.ndim == 2 else image
    result = _rapidocr()(rgb)
    if result is None or result.boxes is None or result.txts is None:
        return []
    out = []
    for box, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
        pts = np.asarray(box)
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        out.append(OcrLine(str(text), float(score), (int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1)))))
    return out


@lru_cache(maxsize=1)
def _tesseract():
    try:
        import tesserocr
    except ImportError as e:
        raise OcrUnavailable("tesserocr is not installed: pip install tesserocr; apt tesseract-ocr-lit") from e
    try:
        return tesserocr.PyTessBaseAPI(path=TESSDATA, lang="lit+eng", psm=tesserocr.PSM.SPARSE_TEXT)
    except RuntimeError as e:
        raise OcrUnavailable(f"Tesseract lit+eng data not found in {TESSDATA}: "
                             "apt-get install tesseract-ocr-lit") from e


def _read_tesseract(image: np.ndarray) -> list[OcrLine]:
    import tesserocr
    from PIL import Image

    api = _tesseract()
    gray = image if image.ndim == 2 else np.asarray(Image.fromarray(image).convert("L"))
    # overlays are light on dark: Tesseract reads dark on light best
    if gray.mean() < 128:
        gray = 255 - gray
    api.SetImage(Image.fromarray(gray))
    api.Recognize()
    out = []
    it = api.GetIterator()
    level = tesserocr.RIL.TEXTLINE
    if it is None:
        return []
    for r in tesserocr.iterate_level(it, level):
        try:
            text = r.GetUTF8Text(level)
        except RuntimeError:   # 'No text returned': an empty line or page
            continue
        if not text or not text.strip():
            continue
        bb = r.BoundingBox(level)
        if bb is None:
            continue
        x0, y0, x1, y1 = (int(v) for v in bb)
        out.append(OcrLine(text.strip(), r.Confidence(level) / 100.0, (x0, y0, x1, y1)))
    return out
