"""Ultrasound calibrated regions (SequenceOfUltrasoundRegions) as a keep-mask.

Decision (README.md): pixels OUTSIDE the union of the calibrated regions are the scanner's
non-image area (header bar, patient name, measurements, logos) and are blanked entirely; pixels
INSIDE are image data and are only touched where the detector found text. The regions are
trusted only when they are sane: inside the frame and covering at least min_fraction of it;
otherwise they are ignored and detection alone decides (reported, not silent).
"""
from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset


def region_rects(ds: Dataset, rows: int, cols: int) -> list[tuple[int, int, int, int]]:
    """Calibrated regions as (x0, y0, x1, y1) exclusive rects clipped to the frame."""
    rects = []
    for item in ds.get("SequenceOfUltrasoundRegions", []) or []:
        try:
            x0, y0 = int(item.RegionLocationMinX0), int(item.RegionLocationMinY0)
            x1, y1 = int(item.RegionLocationMaxX1) + 1, int(item.RegionLocationMaxY1) + 1
        except (AttributeError, TypeError, ValueError):
            continue
        x0, x1 = max(0, x0), min(cols, x1)
        y0, y1 = max(0, y0), min(rows, y1)
        if x1 > x0 and y1 > y0:
            rects.append((x0, y0, x1, y1))
    return rects


def keep_mask(ds: Dataset, rows: int, cols: int, min_fraction: float = 0.05) -> np.ndarray | None:
    """Boolean mask (True = image region kept) or None when the regions are absent or not sane."""
    rects = region_rects(ds, rows, cols)
    if not rects:
        return None
    mask = np.zeros((rows, cols), dtype=bool)
    for x0, y0, x1, y1 in rects:
        mask[y0:y1, x0:x1] = True
    if mask.mean() < min_fraction:
        return None
    return mask
