"""Audit configuration: one dataclass, so the CLI, the release gate and tests share the same knobs."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AuditOptions:
    """What the auditor checks and how strictly.

    Defaults are the release-gate defaults: everything checked, nothing tolerated.
    """

    ocr_engine: str = "rapidocr"        # chosen by measured recall (benchmarks/results/audit_ocr_recall.json)
    check_pixels: bool = True           # OCR every released frame
    check_headers: bool = True          # every element, nested, private, file meta
    check_compliance: bool = True       # PS3.15 basic profile: removed attributes absent, UIDs changed
    flag_any_text: bool = False         # flag ANY legible text left in pixels, not only personal data
    ocr_min_score: float = 0.5          # OCR line confidence below this is not 'legible'
    fuzzy_threshold: float = 85.0       # 0-100 similarity for a personal value to count as found
    min_fragment: int = 5               # shortest OCR fragment (alnum chars) matched against a longer value
    max_frames: int | None = None       # None = OCR every frame; N = at most N frames, evenly spaced
    allow_private_tags: bool = False    # basic profile removes private elements; True if a safe-private option is used
    stop_at_first: bool = False         # release gate: stop at the first reason (faster), report keeps going
    keep_views: bool = False            # keep the 8-bit frames (for HTML thumbnails)
    mask_values: bool = True            # never write found personal values in clear into reports
