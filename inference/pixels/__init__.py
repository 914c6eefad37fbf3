"""Pixel anonymisation: decode -> 8-bit view -> detect -> blank in native values -> re-encode.

Public API (docs/DESIGN.md): redact_dataset(ds, detector, options) -> PixelReport, PixelOptions,
PixelError, Detector. The dataset is changed in place (the pipeline passes its own copy).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from inference.pixels.annotations import (
    clean_presentation_state,
    remove_graphic_annotations,
    remove_overlays,
)
from inference.pixels.decode import (
    decoded_photometric,
    frame_count,
    iter_frames,
    transfer_syntax,
)
from inference.pixels.encode import (
    FrameWriter,
    OutputPlan,
    convert_big_endian,
    plan_output,
)
from inference.pixels.errors import PixelError
from inference.pixels.redact import NOISE_LEVELS_8BIT, fill_outside, fill_rects, noise_tolerance, to_rects
from inference.pixels.regions import keep_mask
from inference.pixels.tracking import frame_hash, plan_rects, plan_static_pixels
from inference.pixels.view import ViewParams, colour_to_view, fix_window, to_view, view_params

__all__ = [
    "Detector", "FramePlan", "PixelError", "PixelOptions", "PixelReport", "UsRegions", "redact_dataset",
    "clean_presentation_state",
]

CLEAN_PIXEL_DATA = ("113101", "DCM", "Clean Pixel Data")


class Detector(Protocol):
    """What redact_dataset needs from inference.detect.TextDetector."""

    def detect(self, image: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
        """uint8 HxW or HxWx3 -> (N, 5) [x0, y0, x1, y1, score] in image pixel coordinates. ``prior`` (bool HxW,
        optional) marks where text is expected: the detector may accept weaker boxes there."""


class FramePlan(Enum):
    """Which frames of a multi-frame object a box found on one frame is blanked on."""

    STILL = "still"  # default: every frame where the pixels under it never change, + static groups (tracking.py)
    ALL = "all"  # every frame (also moving anatomy's false alarms, which then pile up on every frame)
    TRACK = "track"  # its own frame + static groups only


class UsRegions(Enum):
    """What SequenceOfUltrasoundRegions does to the area OUTSIDE the calibrated regions (the device's own
    non-image area: header bar, names, settings, logos, grey bars)."""

    PRIOR = "prior"  # default: text is expected there, so the detector accepts weaker boxes; nothing else blanked
    BLANK = "blank"  # blank it all (belt and braces; also blanks grey bars, icons and anatomy drawn outside)
    IGNORE = "ignore"  # detection alone decides


@dataclass(frozen=True)
class PixelOptions:
    """Knobs of the pixel stage; the defaults are the safe, documented policy."""

    static_min_fraction: float = 0.25  # text seen in >= this share of frames is static (union on all)
    frame_plan: FramePlan = FramePlan.STILL  # multi-frame: where a box found on one frame is blanked too
    static_min_iou: float = 0.3  # boxes overlapping this much across frames are the same text
    us_regions: UsRegions = UsRegions.PRIOR  # SequenceOfUltrasoundRegions: text prior outside the regions
    us_min_region_fraction: float = 0.05  # regions covering less of the frame are not trusted
    lossy_reencode: bool = False  # lossy inputs: JPEG 2000 lossy instead of uncompressed
    lossy_j2k_ratio: float = 10.0
    quarantine_flagged_without_text: bool = True  # BurnedInAnnotation YES but nothing found -> PixelError
    max_cached_bytes: int = 64 * 1024 * 1024  # native frames kept between passes below this size
    # blanked IN ADDITION to the detector's boxes: reviewer boxes and accepted device templates (pixels/templates.py),
    # each (frame, x0, y0, x1, y1), frame -1 = every frame
    extra_boxes: tuple[tuple[int, int, int, int, int], ...] = ()


@dataclass
class PixelReport:
    """What was done to one object's pixels (for the audit record and the exporters)."""

    n_frames: int
    transfer_syntax_in: str
    transfer_syntax_out: str
    photometric_in: str
    photometric_out: str
    boxes_per_frame: list[np.ndarray]  # final int rects [x0,y0,x1,y1] blanked per frame
    detected_per_frame: list[int]  # detector boxes per frame (before static union)
    static_boxes: np.ndarray
    detector_calls: int
    frames_reused: int  # frames skipped because identical to an already detected frame
    us_regions_applied: bool
    overlays_removed: list[str] = field(default_factory=list)
    graphic_annotations_removed: bool = False
    lossy: bool = False
    _ds: Dataset | None = field(default=None, repr=False)
    _params: ViewParams | None = field(default=None, repr=False)

    @property
    def boxes_total(self) -> int:
        return int(sum(len(b) for b in self.boxes_per_frame))

    def to_record(self) -> dict[str, Any]:
        """JSON-ready form for the audit trail: counts and codes, never pixel arrays (the blanked rectangles are
        added by the pipeline as regions)."""
        return {"n_frames": self.n_frames, "transfer_syntax_in": self.transfer_syntax_in,
                "transfer_syntax_out": self.transfer_syntax_out, "photometric_in": self.photometric_in,
                "photometric_out": self.photometric_out,
                "detected_per_frame": [int(n) for n in self.detected_per_frame],
                "detector_calls": self.detector_calls, "frames_reused": self.frames_reused,
                "us_regions_applied": self.us_regions_applied, "overlays_removed": list(self.overlays_removed),
                "graphic_annotations_removed": self.graphic_annotations_removed, "lossy": self.lossy,
                "boxes_total": self.boxes_total}

    @property
    def frames_view(self) -> Iterator[np.ndarray]:
        """Redacted 8-bit frames (HxW or HxWx3 RGB), decoded lazily from the written output."""
        if self._ds is None or self._params is None:
            return iter(())
        return (to_view(frame, self._params) for frame in iter_frames(self._ds))


def check_view(frame: np.ndarray, view: np.ndarray) -> None:
    """Refuse a frame whose detector view is one flat value while its stored values vary. WHY: the detector finds
    nothing in a blank view, so text the stored values hold would go out unseen (a Big Endian palette once showed
    black, view.palette_source); fail closed rather than release what nobody looked at."""
    if view.size and view.min() == view.max() and frame.min() != frame.max():
        raise PixelError("the detector's view of a frame is one flat value although its stored values vary "
                         "(palette or window that cannot be shown): not released")


def _detect(detector: Detector, view: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
    try:
        boxes = detector.detect(view) if prior is None else detector.detect(view, prior=prior)
    except Exception as exc:  # model failure: we cannot know what text there is
        raise PixelError(f"text detection failed: {type(exc).__name__}: {exc}") from exc
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 5 if np.size(boxes) else 5)
    if not np.isfinite(boxes).all():
        raise PixelError("text detection returned non-finite boxes")
    return boxes


def _set_clean_pixel_attributes(ds: Dataset) -> None:
    """BurnedInAnnotation NO and Clean Pixel Data code, only called after redaction succeeded."""
    ds.BurnedInAnnotation = "NO"
    if "DeidentificationMethodCodeSequence" not in ds:
        ds.DeidentificationMethodCodeSequence = Sequence()
    codes = ds.DeidentificationMethodCodeSequence
    if not any(str(item.get("CodeValue")) == CLEAN_PIXEL_DATA[0] for item in codes):
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = CLEAN_PIXEL_DATA
        codes.append(item)


def _detect_all(ds: Dataset, detector: Detector, params: ViewParams, cache: list | None,
                prior: np.ndarray | None = None):
    """Pass 1: view + detect per frame, reusing boxes for frames with identical bytes."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    per_frame: list[np.ndarray] = []
    counts: list[int] = []
    seen: dict[bytes, tuple[np.ndarray, int]] = {}  # frame hash -> (rects, detections)
    calls = reused = 0
    first, varies = None, None
    for frame in iter_frames(ds):
        if first is None:
            first, varies = frame.copy(), np.zeros((rows, cols), bool)
        else:
            d = frame != first
            varies |= d.any(axis=2) if d.ndim == 3 else d
        key = frame_hash(frame)
        if key in seen:
            rects, n = seen[key]
            reused += 1
        else:
            if params.window is None:
                params = fix_window(params, frame)
            view = to_view(frame, params)
            check_view(frame, view)
            boxes = _detect(detector, view, prior)
            calls += 1
            rects, n = to_rects(boxes, rows, cols), len(boxes)
            seen[key] = (rects, n)
        per_frame.append(rects)
        counts.append(n)
        if cache is not None:
            cache.append(frame)
    return per_frame, counts, calls, reused, params, ~varies if varies is not None else None


def noise_measure(frame: np.ndarray, params: ViewParams, photometric: str,
                  window: float | None) -> tuple[float, np.ndarray | None]:
    """fill_rects' tolerance and, for a palette, the frame as shown (its colours): the noise rule measures an
    index frame in the colours the viewer shows, in 8-bit levels (redact.py)."""
    if photometric == "PALETTE COLOR" and params.palette_ds is not None:
        return float(NOISE_LEVELS_8BIT), colour_to_view(frame, params)
    return noise_tolerance(frame, params.bits_stored, photometric, window), None


def redact_dataset(ds: Dataset, detector: Detector, options: PixelOptions | None = None) -> PixelReport:
    """Blank burned-in text in ds's pixels (in place) and re-encode per the policy.

    Raises PixelError when any step cannot be completed (undecodable syntax, detector failure,
    uncertain result): the caller must quarantine, never release.
    """
    options = options or PixelOptions()
    syntax_in = str(transfer_syntax(ds))
    photometric_in = str(ds.get("PhotometricInterpretation", ""))
    photometric = decoded_photometric(ds)
    n_frames, rows, cols = frame_count(ds), int(ds.Rows), int(ds.Columns)
    plan: OutputPlan = plan_output(ds, photometric, options.lossy_reencode, options.lossy_j2k_ratio)
    params = view_params(ds, photometric)

    frame_bytes = rows * cols * int(ds.get("SamplesPerPixel", 1)) * max(1, int(ds.BitsAllocated) // 8)
    cache: list | None = [] if frame_bytes * n_frames <= options.max_cached_bytes else None
    use_regions = options.us_regions is not UsRegions.IGNORE
    mask = keep_mask(ds, rows, cols, options.us_min_region_fraction) if use_regions else None
    prior = ~mask if mask is not None and options.us_regions is UsRegions.PRIOR else None
    per_frame, counts, calls, reused, params, still = _detect_all(ds, detector, params, cache, prior)
    if len(per_frame) != n_frames:
        raise PixelError(f"decoded {len(per_frame)} frames, header says {n_frames}")
    if options.frame_plan is FramePlan.STILL and n_frames > 1 and still is not None:
        planned, static = plan_static_pixels(per_frame, still, options.static_min_fraction, options.static_min_iou)
    elif options.frame_plan is FramePlan.ALL and n_frames > 1:
        # a box found on any frame is blanked on every frame, moving text (timers) along its whole path
        everything = np.unique(np.concatenate([r.reshape(-1, 4) for r in per_frame]), axis=0).astype(np.int64)
        planned, static = [everything for _ in per_frame], everything
    else:
        planned, static = plan_rects(per_frame, options.static_min_fraction, options.static_min_iou)
    drawn: list[np.ndarray | None] = [None] * n_frames  # the boxes a person drew (reviewer, device template)
    if options.extra_boxes:
        from inference.pixels.templates import add_extra_boxes, extra_rects
        extra = extra_rects(options.extra_boxes, n_frames, rows, cols)
        planned, drawn = add_extra_boxes(planned, extra), list(extra)
    blank_outside = mask if options.us_regions is UsRegions.BLANK else None

    flagged = str(ds.get("BurnedInAnnotation", "")).upper() == "YES"
    if (options.quarantine_flagged_without_text and flagged and blank_outside is None
            and not any(len(r) for r in planned)):
        raise PixelError("BurnedInAnnotation is YES but no text was detected: uncertain, not released")

    # the noise rule's inputs (redact.noise_tolerance): stored depth, and the header's window in stored units
    window = params.window[1] / abs(params.slope or 1.0) if params.window else None
    writer = FrameWriter(ds, plan)
    frames = cache if cache is not None else iter_frames(ds)
    for index, frame in enumerate(frames):
        if blank_outside is not None:
            fill_outside(frame, blank_outside)
        if len(planned[index]):
            fill_rects(frame, planned[index], *noise_measure(frame, params, photometric, window), forced=drawn[index])
        writer.add(frame)
        if cache is not None:
            cache[index] = None  # release as we go
    writer.finish()
    convert_big_endian(ds)

    overlays = remove_overlays(ds)
    graphics = remove_graphic_annotations(ds)
    _set_clean_pixel_attributes(ds)
    return PixelReport(
        n_frames=n_frames, transfer_syntax_in=syntax_in, transfer_syntax_out=plan.transfer_syntax,
        photometric_in=photometric_in, photometric_out=plan.photometric, boxes_per_frame=planned,
        detected_per_frame=counts, static_boxes=static, detector_calls=calls, frames_reused=reused,
        us_regions_applied=mask is not None, overlays_removed=overlays, graphic_annotations_removed=graphics,
        lossy=plan.input_lossy or plan.new_lossy_method is not None, _ds=ds, _params=params,
    )
