"""Audit a whole OUTPUT folder: pair each released file with its original, audit it, collect per-file results."""
from __future__ import annotations


import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pydicom

from .findings import AuditResult, Finding
from .frames import native_frames
from .gate import audit_dataset
from .groundtruth import GtMetrics, compare, findings_from, load_items
from .headers import scan_text
from .identity_values import values_from_dataset
from .matching import PersonalValue, ValueMatcher
from ..outputs import AuditTrail
from .options import AuditOptions
from .pairing import Released, input_files, pair
from .pixels import audit_frames
from .thumbnails import thumbnail_png

MAX_THUMBNAILS = 200   # flagged files keep a small picture for the HTML report, up to this many


@dataclass(frozen=True)
class AuditConfig:
    output: Path
    against: Path | None = None
    trail: Path | None = None
    ground_truth: Path | None = None
    threshold: float = 0.0            # highest residual rate (flagged / audited files) that still passes
    options: AuditOptions = field(default_factory=AuditOptions)


@dataclass
class FileAudit:
    rel: str
    kind: str
    modality: str
    flagged: bool
    findings: list[Finding]
    frames_checked: int
    seconds: float
    has_source: bool
    gt: GtMetrics | None = None
    thumbnail: bytes | None = None    # PNG with the flagged regions drawn

    def severity(self) -> tuple:
        recall = self.gt.as_dict()["instance_recall"] if self.gt else 1.0
        return (self.flagged, -recall, len(self.findings))


@dataclass
class AuditRun:
    config: AuditConfig
    files: list[FileAudit]
    seconds: float
    unread_inputs: list[tuple[str, str]] = field(default_factory=list)  # (input, why): values not looked for

    @property
    def flagged(self) -> int:
        return sum(f.flagged for f in self.files)

    @property
    def residual_rate(self) -> float:
        return self.flagged / len(self.files) if self.files else 0.0

    @property
    def passed(self) -> bool:
        """No flagged share above the threshold, and every input read: an unread input's personal values were not
        looked for in the outputs, so they are not shown clean."""
        return bool(self.files) and self.residual_rate <= self.config.threshold and not self.unread_inputs


def run_audit(config: AuditConfig, progress: Callable[[int, int], Any] | None = None) -> AuditRun:
    t0 = time.perf_counter()
    trail = config.trail
    if trail is None:
        default = config.output.with_name(config.output.name + ".audit")
        trail = default if AuditTrail(default).exists() else None
    released = pair(config.output, config.against, trail, config.ground_truth)
    pooled, unread = _pooled_values(config.against) if (config.against is not None and trail is None) else ([], [])
    options = config.options
    files: list[FileAudit] = []
    for i, r in enumerate(released):
        files.append(audit_released(r, options, pooled, keep_thumbnail=sum(f.flagged for f in files) < MAX_THUMBNAILS))
        if progress:
            progress(i + 1, len(released))
    return AuditRun(config, files, time.perf_counter() - t0, unread)


def audit_released(r: Released, options: AuditOptions, pooled: list[PersonalValue],
                   keep_thumbnail: bool = True) -> FileAudit:
    """One released file: DICOM (headers, content, pixels, ground truth) or an exported image (metadata, pixels)."""
    t0 = time.perf_counter()
    opts = replace(options, keep_views=keep_thumbnail)
    modality, gt = "", None
    try:
        original = pydicom.dcmread(r.source) if r.source is not None else None
        if r.kind == "dicom":
            ds = pydicom.dcmread(r.path)
            modality = str(ds.get("Modality", "")) or "?"
            result = audit_dataset(ds, original if original is not None else None, opts, extra_values=pooled)
            if r.ground_truth is not None and original is not None and "PixelData" in ds:
                try:
                    gt = compare(native_frames(original), native_frames(ds), load_items(r.ground_truth))
                    result.findings += findings_from(gt)
                except ValueError as e:   # resized or re-framed output: labels cannot be checked, say so
                    result.findings.append(Finding("ground_truth", "incomparable", "PixelData", str(e)[:300]))
        else:
            modality = str(original.get("Modality", "")) if original is not None else r.kind
            values = (values_from_dataset(original) if original is not None else []) + pooled
            result = _AUDITORS[r.kind](r.path, values, opts)
    except Exception as e:   # an object the auditor cannot read cannot be shown to be clean
        result = AuditResult([Finding("error", "unreadable", r.rel, f"{type(e).__name__}: {e}"[:300])])
    show = keep_thumbnail and result.flagged and result.views
    thumb = thumbnail_png(result.views, result.regions) if show else None
    return FileAudit(r.rel, r.kind, modality or "?", result.flagged, result.findings, result.frames_checked,
                     time.perf_counter() - t0, r.source is not None, gt, thumb)


def audit_image(path: Path, values: list[PersonalValue], options: AuditOptions) -> AuditResult:
    """An exported JPEG/PNG: its metadata (comments, EXIF) as text, its pixels through OCR."""
    from PIL import Image

    matcher = ValueMatcher(values, options.fuzzy_threshold, options.min_fragment) if values else None
    result = AuditResult()
    with Image.open(path) as im:
        im.load()
        texts = [f"{k}: {v.decode('utf-8', 'replace') if isinstance(v, bytes) else v}" for k, v in im.info.items()
                 if isinstance(v, (str, bytes))]  # bytes as text, not as their repr b'...'
        texts += [str(v) for v in im.getexif().values()]
        view = np.asarray(im.convert("RGB") if im.mode not in ("L", "RGB") else im)
    for text in texts:
        t = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        result.findings += scan_text(t, "image metadata", "content", matcher, options.mask_values)
    found, result.frames_checked = audit_frames([(0, view)], matcher, options)
    result.findings += found
    if options.keep_views:
        result.views = [(0, view)]
    return result


def audit_video(path: Path, values: list[PersonalValue], options: AuditOptions) -> AuditResult:
    """An exported MP4: container metadata as text, every frame (or options.max_frames of them) through OCR."""
    import av

    from .frames import frame_indices

    matcher = ValueMatcher(values, options.fuzzy_threshold, options.min_fragment) if values else None
    result = AuditResult()
    with av.open(str(path)) as container:
        for key, value in (container.metadata or {}).items():
            result.findings += scan_text(f"{key}: {value}", "video metadata", "content", matcher, options.mask_values)
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    picked = [(i, frames[i]) for i in frame_indices(len(frames), options.max_frames)]
    found, result.frames_checked = audit_frames(picked, matcher, options)
    result.findings += found
    if options.keep_views:
        result.views = picked[:1] + [p for p in picked if any(f.region and f.region.frame == p[0] for f in found)][:1]
    return result


def audit_text_file(path: Path, values: list[PersonalValue], options: AuditOptions) -> AuditResult:
    """A text file left in OUTPUT (manifest, CSV): scanned like free text."""
    matcher = ValueMatcher(values, options.fuzzy_threshold, options.min_fragment) if values else None
    text = path.read_text(encoding="utf-8", errors="replace")
    return AuditResult(scan_text(text, path.name, "content", matcher, options.mask_values))


def audit_other(path: Path, values: list[PersonalValue], options: AuditOptions) -> AuditResult:
    """A file of a kind the auditor cannot read: not shown clean, so flagged (fail closed)."""
    return AuditResult([Finding("error", "not_audited", path.name,
                                "file type the auditor cannot read; remove it from OUTPUT or audit it by hand")])


_AUDITORS = {"image": audit_image, "video": audit_video, "text": audit_text_file, "other": audit_other}


def _pooled_values(root: Path) -> tuple[list[PersonalValue], list[tuple[str, str]]]:
    """Without a trail, every input's personal values are looked for in every output. An input that looks like
    DICOM but cannot be read is returned with the reason (never skipped silently): the audit does not pass."""
    out: list[PersonalValue] = []
    unread: list[tuple[str, str]] = []
    for p in input_files(root):
        try:
            out += values_from_dataset(pydicom.dcmread(p, stop_before_pixels=True))
        except Exception as e:  # its personal values are unknown, so no output can be shown free of them
            unread.append((str(p.relative_to(root)), f"{type(e).__name__}: {e}"[:300]))
    return out, unread


def gt_totals(run: AuditRun) -> dict[str, float] | None:
    total = GtMetrics()
    any_gt = False
    for f in run.files:
        if f.gt is not None:
            total.add(f.gt)
            any_gt = True
    return total.as_dict() if any_gt else None


