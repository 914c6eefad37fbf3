"""8-bit detection view of a native frame: what the text detector (and the JPEG/MP4 exports) see.

Pure functions. WHY a separate view: the detector was trained on 8-bit display renderings, while
redaction must be written into native stored values; view and native frames share coordinates.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, convert_color_space

# Robust percentiles used when >8-bit grey data has no usable window in the header.
LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5


@dataclass(frozen=True)
class ViewParams:
    """How to map one dataset's native frames to 8 bits (fixed for all its frames: no flicker)."""

    photometric: str  # of the native frames (decode.decoded_photometric)
    bits_stored: int
    slope: float = 1.0
    intercept: float = 0.0
    window: tuple[float, float] | None = None  # (center, width) in rescaled units
    padding_value: int | None = None
    palette_ds: Dataset | None = None  # holds the palette LUT descriptors/data for PALETTE COLOR


def _first_number(value) -> float | None:
    """First value of a DS/IS element that may be multi-valued; None when absent or invalid."""
    if value is None or value == "":
        return None
    if not isinstance(value, (str, bytes, int, float)):
        value = value[0] if len(value) else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _shared_group_item(ds: Dataset, sequence: str) -> Dataset | None:
    """Item of a functional-group macro from SharedFunctionalGroupsSequence (enhanced objects)."""
    shared = ds.get("SharedFunctionalGroupsSequence")
    if not shared:
        return None
    seq = shared[0].get(sequence)
    return seq[0] if seq else None


def view_params(ds: Dataset, photometric: str) -> ViewParams:
    """Read windowing, rescale, padding and palette from the header (top level or shared groups)."""
    voi = _shared_group_item(ds, "FrameVOILUTSequence") or ds
    rescale = _shared_group_item(ds, "PixelValueTransformationSequence") or ds
    center = _first_number(voi.get("WindowCenter"))
    width = _first_number(voi.get("WindowWidth"))
    slope = _first_number(rescale.get("RescaleSlope"))
    intercept = _first_number(rescale.get("RescaleIntercept"))
    padding = ds.get("PixelPaddingValue")
    window = (center, width) if center is not None and width is not None and width > 1 else None
    return ViewParams(
        photometric=photometric,
        bits_stored=int(ds.get("BitsStored", ds.get("BitsAllocated", 8))),
        slope=slope if slope else 1.0,
        intercept=intercept or 0.0,
        window=window,
        padding_value=int(padding) if isinstance(padding, int) else None,
        palette_ds=palette_source(ds) if photometric == "PALETTE COLOR" else None,
    )


def palette_source(ds: Dataset) -> Dataset:
    """The dataset the palette is read from: ``ds`` itself, or for a file read as Big Endian a copy of its plain
    (not segmented) LUTs with the 16-bit entries in little-endian order. WHY: pydicom's apply_color_lut reads that
    OW data in the machine's order whatever the file's, so a Big Endian palette showed black, the detector found
    nothing and the file was released with its burned-in text (OBXXXX1A_expb.dcm, session 10)."""
    if getattr(ds, "original_encoding", (None, None))[1] is not False or "RedPaletteColorLookupTableData" not in ds:
        return ds
    lut = Dataset()
    for colour in ("Red", "Green", "Blue", "Alpha"):
        desc = ds.get(f"{colour}PaletteColorLookupTableDescriptor")
        data = ds.get(f"{colour}PaletteColorLookupTableData")
        if desc is None or data is None:
            continue
        lut.add_new(f"{colour}PaletteColorLookupTableDescriptor", "US", [int(v) for v in desc])
        entries = int(desc[0]) or 65536
        if len(data) == 2 * entries:
            data = np.frombuffer(data, dtype=">u2").astype("<u2").tobytes()
        lut.add_new(f"{colour}PaletteColorLookupTableData", "OW", data)
    return lut


def _scale_to_uint8(values: np.ndarray, low: float, high: float) -> np.ndarray:
    span = max(high - low, 1e-6)
    out = (values.astype(np.float32) - low) * (255.0 / span)
    return np.clip(out, 0, 255).astype(np.uint8)


def grey_to_view(frame: np.ndarray, params: ViewParams) -> np.ndarray:
    """Monochrome native values -> uint8: header window, else robust percentiles; MONOCHROME1 inverted."""
    if params.window is not None:
        center, width = params.window
        rescaled = frame.astype(np.float32) * params.slope + params.intercept
        view = _scale_to_uint8(rescaled, center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2)
    elif params.bits_stored <= 8 and frame.dtype.kind == "u":
        # full range of the stored bits: 1-bit (binary SEG) or 4-bit values read as 0..1 / 0..15 look black
        view = frame.astype(np.uint8) if params.bits_stored == 8 else _scale_to_uint8(
            frame, 0.0, float((1 << max(params.bits_stored, 1)) - 1))
    else:
        values = frame if params.padding_value is None else frame[frame != params.padding_value]
        if values.size == 0:
            values = frame
        low, high = np.percentile(values, [LOW_PERCENTILE, HIGH_PERCENTILE])
        if high <= low:  # flat image (or only text on flat background): use the full range
            low, high = float(frame.min()), float(frame.max())
        view = _scale_to_uint8(frame, low, high)
    if params.photometric == "MONOCHROME1":
        view = 255 - view
    return view


def colour_to_view(frame: np.ndarray, params: ViewParams) -> np.ndarray:
    """RGB / YBR_FULL / PALETTE COLOR native values -> uint8 RGB."""
    if params.photometric == "PALETTE COLOR":
        if params.palette_ds is None:
            raise ValueError("PALETTE COLOR view without its palette")
        rgb = apply_color_lut(frame, params.palette_ds)
        descriptor = params.palette_ds.get("RedPaletteColorLookupTableDescriptor", [0, 0, 8])
        bits = int(descriptor[2])
    elif params.photometric == "YBR_FULL":
        rgb = convert_color_space(frame, "YBR_FULL", "RGB")
        bits = params.bits_stored
    else:
        rgb = frame
        bits = params.bits_stored
    if rgb.dtype == np.uint8:
        return rgb
    if rgb.dtype.itemsize > 1 and bits > 8:
        return _scale_to_uint8(rgb, 0.0, float((1 << bits) - 1))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def fix_window(params: ViewParams, first_frame: np.ndarray) -> ViewParams:
    """Freeze a percentile window from the first frame when the header has none (>8-bit grey).

    WHY: a window recomputed per frame makes cine exports flicker; one window per object does not.
    """
    grey = params.photometric in ("MONOCHROME1", "MONOCHROME2")
    if not grey or params.window is not None or (params.bits_stored <= 8 and first_frame.dtype.kind == "u"):
        return params
    values = first_frame if params.padding_value is None else first_frame[first_frame != params.padding_value]
    if values.size == 0:
        values = first_frame
    low, high = np.percentile(values, [LOW_PERCENTILE, HIGH_PERCENTILE])
    if high <= low:
        low, high = float(first_frame.min()), float(first_frame.max())
    low, high = low * params.slope + params.intercept, high * params.slope + params.intercept
    width = max(high - low, 2.0)
    return replace(params, window=(low + width / 2 + 0.5, width + 1))


def to_view(frame: np.ndarray, params: ViewParams) -> np.ndarray:
    """One native frame -> the uint8 HxW or HxWx3 (RGB) image the detector expects."""
    if params.photometric in ("MONOCHROME1", "MONOCHROME2"):
        return np.ascontiguousarray(grey_to_view(frame, params))
    return np.ascontiguousarray(colour_to_view(frame, params))
