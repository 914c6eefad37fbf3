"""Decode pixel data frame by frame, in native stored values.

WHY frame by frame: a 200-frame cine decoded at once can take gigabytes; pydicom's decoders
iterate frames, so memory stays at one decoded frame plus the (compressed) input.
WHY native values: redaction is written back into what the device stored, not into a display
rendering. The only conversions are the ones the output cannot avoid (documented in README.md):
sub-sampled or lossy colour (YBR_FULL_422, YBR_ICT, YBR_RCT, lossy YBR_FULL) is decoded to RGB.
WHY dcmdjpeg: no pydicom plugin decodes 12-bit JPEG Extended with every encoder's tables, nor JPEG spectral
selection / progressive (processes 6-12); dcmtk's libijg12 does. It runs as a bounded subprocess (a native crash
on hostile data costs only this file) on a pixel-only copy in a private temporary folder.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import get_decoder
from pydicom.uid import (
    UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit, JPEGExtended12Bit,
    SecondaryCaptureImageStorage, generate_uid,
)

from inference.pixels.errors import PixelError
from inference.pixels.policy import syntax_rule

# Colour spaces kept as stored when the input is lossless; everything else becomes RGB.
_KEPT_PHOTOMETRIC = {"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB"}
# JPEG DCT syntaxes (baseline, extended 12-bit, spectral selection, full progression) dcmdjpeg decodes when
# pydicom's plugins cannot.
DCMDJPEG_SYNTAXES = {JPEGBaseline8Bit, JPEGExtended12Bit, UID("1.2.840.10008.1.2.4.53"), UID("1.2.840.10008.1.2.4.55")}
DCMDJPEG_TIMEOUT_S = 300
# What dcmdjpeg needs to decode, and all it gets (no patient attributes on disk).
_PIXEL_KEYWORDS = ("SOPClassUID", "Rows", "Columns", "SamplesPerPixel", "PhotometricInterpretation", "BitsAllocated",
                   "BitsStored", "HighBit", "PixelRepresentation", "PlanarConfiguration", "NumberOfFrames")


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
        source, decoder = ds, _pydicom_decoder(uid)
        # as_array(index=i) rather than iter_array: pydicom 3.0.2's iter_array fails on
        # JPEG-LS/J2K sign correction ("output array is read-only"); as_array does not.
        for index in range(frame_count(ds)):
            try:
                if decoder is None:
                    raise NotImplementedError(f"no pydicom decoder for {uid.name}")
                arr, _meta = decoder.as_array(source, index=index, as_rgb=as_rgb)
            except Exception as exc:
                if index > 0 or source is not ds or uid not in DCMDJPEG_SYNTAXES:
                    raise
                source, decoder = decompress_with_dcmdjpeg(ds, as_rgb, exc), get_decoder(ExplicitVRLittleEndian)
                arr, _meta = decoder.as_array(source, index=index, as_rgb=as_rgb)  # type: ignore[arg-type]  # pydicom types **kwargs as DecodeOptions, not Unpack[...]
            frame = np.array(arr, copy=True, order="C")
            yield _mask_to_bits_stored(frame, bits_stored, signed)
    except (PixelError, KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # every backend failure is a decode failure: quarantine
        # BaseException: a Rust decoder's panic (pyo3 PanicException) is not an Exception subclass
        raise PixelError(f"cannot decode {uid.name}: {type(exc).__name__}: {exc}") from exc


def _pydicom_decoder(uid: UID):
    """pydicom's decoder for the syntax, None when it has none (JPEG processes 6-12)."""
    try:
        return get_decoder(uid)
    except NotImplementedError:
        if uid in DCMDJPEG_SYNTAXES:
            return None
        raise


def decompress_with_dcmdjpeg(ds: Dataset, as_rgb: bool, first_error: Exception) -> Dataset:
    """ds's JPEG pixel data decoded by dcmtk's dcmdjpeg: a native (Explicit VR LE) dataset with the same geometry.

    Only the image pixel attributes are written, in a private temporary folder removed afterwards. PixelError
    when dcmdjpeg is missing, fails, runs over DCMDJPEG_TIMEOUT_S, or returns other geometry or colour space.
    """
    why = f"{type(first_error).__name__}: {' '.join(str(first_error).split())}"[:300]
    exe = shutil.which("dcmdjpeg")
    if exe is None:
        raise PixelError(f"cannot decode {UID(ds.file_meta.TransferSyntaxUID).name}: {why}; dcmdjpeg (dcmtk) is not "
                         "installed (scripts/install.sh installs it)")
    part = Dataset()
    for keyword in _PIXEL_KEYWORDS:
        if keyword in ds:
            part[keyword] = ds[keyword]
    part.SOPClassUID = ds.get("SOPClassUID", SecondaryCaptureImageStorage)
    part.SOPInstanceUID = generate_uid()
    part["PixelData"] = ds["PixelData"]
    part.file_meta = FileMetaDataset()
    part.file_meta.TransferSyntaxUID = ds.file_meta.TransferSyntaxUID
    part.file_meta.MediaStorageSOPClassUID = part.SOPClassUID
    part.file_meta.MediaStorageSOPInstanceUID = part.SOPInstanceUID
    with tempfile.TemporaryDirectory(prefix="medanon-djpeg-") as tmp:
        src, dst = Path(tmp) / "in.dcm", Path(tmp) / "out.dcm"
        part.save_as(src, enforce_file_format=True)
        try:
            run = subprocess.run([exe, "+cp", "+px", "+te", str(src), str(dst)], capture_output=True, text=True,
                                 errors="replace", timeout=DCMDJPEG_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise PixelError(f"cannot decode: dcmdjpeg ran over {DCMDJPEG_TIMEOUT_S} s ({why})") from exc
        if run.returncode != 0 or not dst.is_file():
            tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or [f"exit {run.returncode}"]
            raise PixelError(f"cannot decode: {why}; dcmdjpeg: {tail[0].replace(str(src), 'input')[:200]}")
        native = pydicom.dcmread(dst)
    for keyword in ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated", "BitsStored", "PixelRepresentation"):
        if native.get(keyword) != ds.get(keyword):
            raise PixelError(f"cannot decode: dcmdjpeg changed {keyword} ({ds.get(keyword)} -> {native.get(keyword)})")
    if frame_count(native) != frame_count(ds):
        raise PixelError(f"cannot decode: dcmdjpeg gave {frame_count(native)} frames, header says {frame_count(ds)}")
    wanted = "RGB" if as_rgb else str(ds.PhotometricInterpretation).strip()
    if str(native.PhotometricInterpretation).strip() != wanted:
        raise PixelError(f"cannot decode: dcmdjpeg wrote {native.PhotometricInterpretation}, expected {wanted}")
    return native


# JPEG start-of-frame markers (every process, JPEG-LS SOF55 included); C4, C8 and CC are not frames
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}
_HEADER_SCAN = 1 << 16  # the frame header sits at the start of a codestream


def _jpeg_frame_bytes(data: bytes) -> int | None:
    """Decoded size a JPEG / JPEG-LS codestream declares in its SOF segment (None when there is none)."""
    i = 2
    end = min(len(data), _HEADER_SCAN)
    while i + 4 <= end:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA:  # start of scan: no frame header before it
            return None
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _JPEG_SOF and i + 10 <= len(data):
            precision, height, width, components = struct.unpack(">BHHB", data[i + 4:i + 10])
            return height * width * components * max(1, (precision + 7) // 8)
        i += 2 + length
    return None


def _j2k_frame_bytes(data: bytes) -> int | None:
    """Memory a JPEG 2000 codestream's SIZ marker asks the decoder for (None when there is no SIZ)."""
    soc_siz = b"\xff\x4f\xff\x51"
    if data.startswith(soc_siz):
        at = 0
    elif data[4:8] == b"jP  ":  # a JP2 file: the codestream is in its jp2c box
        at = data.find(soc_siz, 0, _HEADER_SCAN)
    else:
        return None
    if at < 0 or at + 42 > len(data):
        return None
    x, y, x0, y0 = struct.unpack(">IIII", data[at + 8:at + 24])
    (n_comp,) = struct.unpack(">H", data[at + 40:at + 42])
    # OpenJPEG decodes every sample into a 32-bit integer, whatever its depth: 4 bytes per sample
    return max(0, x - x0) * max(0, y - y0) * n_comp * 4


def declared_bytes(ds: Dataset) -> int:
    """The decoded size the object declares: Rows x Columns x frames x samples x bytes per sample, or what
    the codestreams' own headers declare (JPEG SOF, JPEG 2000 SIZ) when that is larger: a decoder allocates
    from the codestream header, whatever the DICOM attributes say."""
    try:
        rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        spp = int(ds.get("SamplesPerPixel", 1) or 1)
        sample = max(1, (int(ds.get("BitsAllocated", 8) or 8) + 7) // 8)
    except (TypeError, ValueError) as exc:
        raise PixelError(f"image attributes invalid: {exc}") from exc
    total = rows * cols * frame_count(ds) * spp * sample
    elem = ds["PixelData"] if "PixelData" in ds else None
    if elem is None or not elem.is_undefined_length or not elem.value:
        return total
    from pydicom.encaps import generate_fragments
    streams = 0
    try:
        for fragment in generate_fragments(elem.value):
            head = fragment[:_HEADER_SCAN]
            size = _jpeg_frame_bytes(head) if head[:2] == b"\xff\xd8" else _j2k_frame_bytes(head)
            streams += size or 0
    except Exception as exc:  # a broken item structure is a decode failure
        raise PixelError(f"cannot read the encapsulated pixel data: {type(exc).__name__}: {exc}") from exc
    return max(total, streams)


def check_decode_budget(ds: Dataset, budget_bytes: int) -> None:
    """PixelError before any decoder runs when the declared decoded size is over the budget: a forged header
    (a 40000 x 40000 JPEG 2000) would otherwise make a native decoder allocate until the process dies."""
    size = declared_bytes(ds)
    if size > budget_bytes:
        raise PixelError(f"declared pixel size {size / 2**20:.0f} MiB is over the decode budget "
                         f"{budget_bytes / 2**20:.0f} MiB (--max-decoded-mb): not decoded")
