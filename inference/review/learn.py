"""Propose device templates from the audit trail: where one device model writes text on (nearly) every file.

Rule (one definition): per device (pixels/templates.py device key), over its released image files, a pixel is
template text when the blanked boxes of at least ``share`` (80 %) of the files, and of at least ``min_files`` (20)
files, cover it; reviewer boxes count as blanked boxes. Each connected piece of such pixels becomes one region
(its bounding box). A proposal never overrides a person's decision: accepted or rejected templates stay as they are.
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..outputs import AuditTrail
from ..pixels.templates import all_templates, device_key, template_path, write_template
from .store import Review

MIN_FILES = 20
SHARE = 0.8
FILL = 0.7  # a region's box must be at least this share agreed pixels (no box spanning the image between two lines)
STEP = 2  # coverage is counted on a grid of STEP x STEP pixels (regions are rounded outwards to it)


def _coverage(shape: tuple[int, int], boxes: list[list[int]]) -> np.ndarray:
    h, w = shape
    m = np.zeros((math.ceil(h / STEP), math.ceil(w / STEP)), np.uint8)
    for x0, y0, x1, y1 in boxes:
        m[max(0, y0) // STEP:math.ceil(y1 / STEP), max(0, x0) // STEP:math.ceil(x1 / STEP)] = 1
    return m


def propose(files: list[dict[str, Any]], rows: int, cols: int, min_files: int = MIN_FILES,
            share: float = SHARE) -> list[dict[str, Any]]:
    """files: [{"boxes": [[x0,y0,x1,y1]...], "reviewer": [[...]]}] of one device -> template regions."""
    if len(files) < min_files or rows <= 0 or cols <= 0:
        return []
    need = max(min_files, math.ceil(share * len(files)))
    count = np.zeros((math.ceil(rows / STEP), math.ceil(cols / STEP)), np.int32)
    by_reviewer = np.zeros_like(count)
    for f in files:
        count += _coverage((rows, cols), list(f["boxes"]) + list(f.get("reviewer", [])))
        by_reviewer += _coverage((rows, cols), list(f.get("reviewer", [])))
    agreed = (count >= need).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(agreed, connectivity=4)
    candidates = {tuple(b) for f in files for b in list(f["boxes"]) + list(f.get("reviewer", []))}
    pieces: list[tuple[int, int, int, int]] = []
    for k in range(1, n):
        x, y, w, h = (int(v) for v in stats[k, :4])
        if stats[k, 4] >= FILL * w * h:  # a compact piece: its bounding box
            pieces.append((x, y, x + w, y + h))
            continue
        # a sprawling piece (boxes touching along a margin): the parts of the files' own boxes inside it
        piece = labels == k
        for b in candidates:
            gx0, gy0 = max(0, b[0]) // STEP, max(0, b[1]) // STEP
            gx1, gy1 = math.ceil(b[2] / STEP), math.ceil(b[3] / STEP)
            inside = piece[gy0:gy1, gx0:gx1]
            if not inside.any():
                continue
            ys, xs = np.nonzero(inside)
            px0, py0, px1, py1 = gx0 + xs.min(), gy0 + ys.min(), gx0 + xs.max() + 1, gy0 + ys.max() + 1
            if inside.sum() >= FILL * (px1 - px0) * (py1 - py0):
                pieces.append((int(px0), int(py0), int(px1), int(py1)))
    from ..pixels.redact import drop_contained
    regions = []
    for x0, y0, x1, y1 in drop_contained(np.asarray(pieces, np.int64).reshape(-1, 4)).tolist():
        grid = (slice(y0, y1), slice(x0, x1))
        regions.append({"box": [x0 * STEP, y0 * STEP, min(cols, x1 * STEP), min(rows, y1 * STEP)],
                        "support": int(np.median(count[grid][agreed[grid] > 0])),
                        "source": "detector+reviewer" if by_reviewer[grid].any() else "detector"})
    return sorted(regions, key=lambda r: (r["box"][1], r["box"][0]))


def learn(audit_dir: Path, templates_dir: Path, reviews: dict[str, Review]) -> list[Path]:
    """Write a proposal per device that has one (status proposed); returns the files written."""
    per_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
    devices: dict[str, dict[str, Any]] = {}
    for source, rec in AuditTrail(audit_dir).done().items():
        actions = rec.get("actions") or {}
        device = actions.get("device")
        if rec.get("status") != "written" or rec.get("handler") != "image" or not device:
            continue
        key = device_key(device)
        devices[key] = device
        review = reviews.get(source)
        per_device[key].append({"boxes": (actions.get("pixels") or {}).get("regions") or [],
                                "reviewer": [list(b[1:]) for b in review.added] if review else []})
    decided = {t["key"]: t["status"] for _, t in all_templates(templates_dir) if t["status"] != "proposed"}
    written = []
    for key, files in sorted(per_device.items()):
        if key in decided:
            continue
        d = devices[key]
        regions = propose(files, int(d["rows"]), int(d["columns"]))
        if not regions:
            continue
        path = template_path(templates_dir, key)
        write_template(path, {"device": d, "key": key, "status": "proposed", "files": len(files),
                              "rule": f">= {SHARE:.0%} and >= {MIN_FILES} released files with text there",
                              "regions": regions})
        written.append(path)
    return written
