"""Pixel audit: OCR every released frame and flag text that is personal data (or any legible text, if asked)."""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Iterable

import numpy as np

from . import ocr
from .findings import Finding, Region
from .headers import scan_text
from .matching import ValueMatcher, mask
from .options import AuditOptions

_CACHE: "OrderedDict[tuple[str, str], list[ocr.OcrLine]]" = OrderedDict()
_CACHE_SIZE = 256   # identical frames (static cines, repeated audits) are read once


def read_cached(view: np.ndarray, engine: str) -> list[ocr.OcrLine]:
    key = (engine, hashlib.blake2b(view.tobytes() + str(view.shape).encode(), digest_size=16).hexdigest())
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    lines = ocr.read(view, engine)
    _CACHE[key] = lines
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return lines


def audit_frames(frames: Iterable[tuple[int, np.ndarray]], matcher: ValueMatcher | None,
                 options: AuditOptions, label: str = "frame") -> tuple[list[Finding], int]:
    """Findings for (index, 8-bit view) frames, and how many frames were read."""
    findings: list[Finding] = []
    n = 0
    for index, view in frames:
        n += 1
        findings.extend(audit_view(view, index, matcher, options, label))
        if findings and options.stop_at_first:
            break
    return findings, n


def audit_view(view: np.ndarray, index: int, matcher: ValueMatcher | None, options: AuditOptions,
               label: str = "frame") -> list[Finding]:
    out: list[Finding] = []
    for line in read_cached(view, options.ocr_engine):
        region = Region(index, *line.box)
        where = f"{label} {index + 1}"
        hits = scan_text(line.text, where, "pixels", matcher, options.mask_values, fragments=True)
        out.extend(Finding(h.category, h.kind, h.where, h.detail, region) for h in hits)
        if not hits and options.flag_any_text and line.score >= options.ocr_min_score \
                and sum(c.isalnum() for c in line.text) >= 2:
            shown = mask(line.text) if options.mask_values else line.text
            out.append(Finding("pixels", "text", where, f"legible text {shown}", region))
    return out
