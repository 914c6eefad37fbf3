"""Decode pixel data frame by frame, in native stored values.

WHY frame by frame: a 200-frame cine decoded at once can take gigabytes; pydicom's decoders
iterate frames, so memory stays at one decoded frame plus the (compressed) input.
WHY native values: redaction is written back into what the device stored, not into a display
rendering. The only conversions are the ones the output cannot avoid (documented in README.md):
sub-sampled or lossy colour (YBR_FULL_422, YBR_ICT, YBR_RCT, lossy YBR_FULL) is decoded to RGB.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import get_decoder
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from inference.pixels.errors import PixelError
from inference.pixels.policy import syntax_rule

# Colour spaces kept as stored when the input is lossless; everything else becomes RGB.
_KEPT_PHOTOMETRIC = {"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB"}


def transfer_syntax(ds: Dataset) -> UID:
    """The dataset's transfer syntax; for a file without file meta, the native syntax it was read
    with (set into file_meta so the decoders can use it). PixelError when it cannot be known."""
    meta = getattr(ds, "file_meta", None)
    uid = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    if uid:
        return UID(uid)
    implicit, little = getattr(ds, "original_encoding", (None, None))
    encapsulated = "PixelData" in ds and ds["PixelData"].is_undefined_length
    if implicit is None or little is None or encapsulated:
        raise PixelError("cannot decode: no Transfer Syntax UID and the encoding cannot be inferred")
    uid = ImplicitVRLittleEndian if implicit else (ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
    if meta is None:
        ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = uid
    return uid


def frame_count(ds: Dataset) -> int:
    """Number of frames (NumberOfFrames, default 1)."""
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError) as exc:
        raise PixelError(f"invalid NumberOfFrames: {ds.get('NumberOfFrames')!r}") from exc


def decoded_photometric(ds: Dataset) -> str:
    """Photometric interpretation of the frames iter_frames yields (and of the output)."""
    pi = str(ds.get("PhotometricInterpretation", "")).strip()
    if not pi:
        raise PixelError("cannot decode: no PhotometricInterpretation")
    rule = syntax_rule(transfer_syntax(ds))
    if pi in _KEPT_PHOTOMETRIC:
        return pi
    if pi == "YBR_FULL" and not rule.lossy:
        return "YBR_FULL"
    if pi in {"YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT"}:
        return "RGB"
    raise PixelError(f"unsupported PhotometricInterpretation {pi!r}")


def _mask_to_bits_stored(frame: np.ndarray, bits_stored: int, signed: bool) -> np.ndarray:
    """Clear bits above BitsStored (legacy overlays in high bits), sign-extending signed data.

    WHY: unused high bits can carry burned-in overlay planes (OverlayBitPosition > BitsStored);
    keeping only the stored bits removes them from the released pixels.
    """
    itemsize_bits = frame.dtype.itemsize * 8
    if bits_stored >= itemsize_bits or frame.dtype.kind not in "iu":
        return frame
    if not signed:
        return frame & np.array((1 << bits_stored) - 1, dtype=frame.dtype)
    shift = itemsize_bits - bits_stored
    return ((frame << shift) >> shift).astype(frame.dtype)


def iter_frames(ds: Dataset) -> Iterator[np.ndarray]:
    """Yield each frame as a writeable array in native stored values.

    Shape (rows, cols) or (rows, cols, 3), photometric = decoded_photometric(ds). Raises
    PixelError("cannot decode <syntax>: ...") for anything the installed backends cannot read.
    """
    uid = transfer_syntax(ds)
    syntax_rule(uid)  # unknown syntax -> PixelError before any work
    if "PixelData" not in ds:
        raise PixelError("no PixelData (FloatPixelData / DoubleFloatPixelData are not supported)")
    as_rgb = decoded_photometric(ds) == "RGB"
    bits_stored = int(ds.get("BitsStored", ds.get("BitsAllocated", 8)))
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    try:
        decoder = get_decoder(uid)
        # as_array(index=i) rather than iter_array: pydicom 3.0.2's iter_array fails on
        # JPEG-LS/J2K sign correction ("output array is read-only"); as_array does not.
        for index in range(frame_count(ds)):
            arr, _meta = decoder.as_array(ds, index=index, as_rgb=as_rgb)
            frame = np.array(arr, copy=True, order="C")
            yield _mask_to_bits_stored(frame, bits_stored, signed)
    except PixelError:
        raise
    except Exception as exc:  # every backend failure is a decode failure: quarantine
        raise PixelError(f"cannot decode {uid.name}: {type(exc).__name__}: {exc}") from exc
