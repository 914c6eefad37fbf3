"""Scan every header element of a released dataset for personal data.

Every element counts, because leaks hide in odd places: file meta, nested sequences (SR content, waveform
annotations, request attributes), private elements (decoded as text). Bulk data (pixels, waveforms, the
encapsulated document) is left to the pixel and document checks.
"""
from __future__ import annotations

import re

from pydicom.dataset import Dataset

from .compliance import walk_elements
from .detectors import find_generic
from .findings import Finding
from ..vrs import CHARACTER_VRS, DATE_VRS, FREE_TEXT_VRS
from .matching import ValueMatcher, mask

# values matched against the personal values: characters, less numbers, times and UIDs (no personal value there;
# UIDs are the compliance scan's); the generic detectors run on free text (inference/vrs.py)
_MATCHED_VRS = CHARACTER_VRS - {"DS", "IS", "TM", "UI"}
_BULK_KEYWORDS = {"PixelData", "FloatPixelData", "DoubleFloatPixelData", "WaveformData", "EncapsulatedDocument",
                  "SpectroscopyData", "OverlayData", "CurveData"}
_MAX_BINARY = 64 * 1024   # private/unknown binary values up to this size are read as text
# Attributes that name products, software or the de-identification itself: an original value that equals them
# (test data puts the vendor in InstitutionName) is not a leak. Generic detectors still read them.
_NO_IDENTITY_KEYWORDS = {"Manufacturer", "ManufacturerModelName", "SoftwareVersions", "DeidentificationMethod",
                         "CodingSchemeDesignator", "CodingSchemeVersion", "CodeValue", "ContextIdentifier",
                         "SpecificCharacterSet", "ImplementationVersionName", "SourceApplicationEntityTitle"}


def scan_headers(ds: Dataset, matcher: ValueMatcher | None, mask_values: bool = True) -> list[Finding]:
    """Findings for element values that contain an original personal value or generic personal data."""
    findings: list[Finding] = []
    for path, elem in walk_elements(ds):
        if elem.keyword in _BULK_KEYWORDS or elem.VR == "SQ":
            continue
        use = None if (elem.keyword in _NO_IDENTITY_KEYWORDS or "DeidentificationMethodCodeSequence" in path) \
            else matcher
        for text in _element_texts(elem):
            findings.extend(_scan_text(text, elem.VR, path, use, mask_values))
    return findings


def scan_text(text: str, where: str, category: str, matcher: ValueMatcher | None, mask_values: bool = True,
              fragments: bool = False) -> list[Finding]:
    """Free text (SR, PDF, OCR): original values and generic detectors."""
    out: list[Finding] = []
    if matcher is not None:
        for m in matcher.find(text, fragments=fragments):
            out.append(Finding(category, f"identity:{m.value.kind}", where, _show(m.fragment, mask_values)))
    for hit in find_generic(text):
        out.append(Finding(category, f"generic:{hit.kind}", where, _show(hit.text, mask_values)))
    return out


def _scan_text(text: str, vr: str, path: str, matcher: ValueMatcher | None, mask_values: bool) -> list[Finding]:
    if vr in DATE_VRS:
        if matcher is None:
            return []
        return [Finding("header", "identity:date", path, _show(m.fragment, mask_values))
                for m in matcher.find(text) if m.value.kind == "date"]
    if vr in FREE_TEXT_VRS or vr in ("UN", "OB", "OW"):
        return scan_text(text, path, "header", matcher, mask_values)
    if matcher is None:
        return []
    return [Finding("header", f"identity:{m.value.kind}", path, _show(m.fragment, mask_values))
            for m in matcher.find(text)]


def _element_texts(elem) -> list[str]:
    """The element's value as text: strings per VR, printable runs of binary values (private or UN)."""
    vr, value = elem.VR, elem.value
    if value is None or value == "":
        return []
    if vr in _MATCHED_VRS:
        if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            return [str(v) for v in value if v]
        return [str(value)]
    if vr in ("UN", "OB", "OW") and isinstance(value, bytes) and len(value) <= _MAX_BINARY:
        runs = re.findall(rb"[\x20-\x7e\xc0-\xff]{4,}", value)
        return [r.decode("utf-8", errors="replace") for r in runs]
    return []


def _show(text: str, mask_values: bool) -> str:
    return mask(text) if mask_values else text
