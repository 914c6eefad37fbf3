"""Builders for the pixel tests: synthetic DICOM with burned-in text, in every syntax we can encode.

Each case knows where its text is (TEXT_BOX), so an injected detector can return that box and the
test checks OUR mechanics: text present before, pixels under the box equal to the background
after, everything else unchanged.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import convert_color_space
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian,
    JPEG2000, JPEG2000Lossless, JPEGBaseline8Bit, JPEGLSLossless, JPEGLSNearLossless, RLELossless, generate_uid,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DICOM_DIR = SHARED / "data" / "dicom"
ROWS, COLS = 96, 160
TEXT_BOX = (8, 4, 120, 28)  # x0, y0, x1, y1: the detector's (margin-grown) box around the text
BAR_ROWS = 36  # flat header bar the text sits on


class BoxDetector:
    """Injected detector: returns fixed boxes (the test checks redaction, not detection)."""

    def __init__(self, boxes=(TEXT_BOX,)):
        self.boxes = np.array([[*b, 0.9] for b in boxes], dtype=np.float32).reshape(-1, 5)
        self.calls = 0

    def detect(self, image: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
        assert image.dtype == np.uint8 and image.ndim in (2, 3)
        self.calls += 1
        self.prior = prior
        return self.boxes.copy()


def text_mask(rows: int = ROWS, cols: int = COLS, shift: int = 0) -> np.ndarray:
    """Boolean mask of rendered text strokes, inside TEXT_BOX (shifted right by `shift`)."""
    canvas = np.zeros((rows, cols), np.uint8)
    cv2.putText(canvas, "DOE^JOHN", (12 + shift, 23), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 2)
    return canvas > 0


def grey_image(bits: int, signed: bool, seed: int = 0, shift: int = 0) -> np.ndarray:
    """Grey image: flat bar with text on top, noisy gradient below (native stored values)."""
    rng = np.random.default_rng(seed)
    hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    lo = -(1 << (bits - 1)) if signed else 0
    dtype = np.int16 if signed else (np.uint8 if bits <= 8 else np.uint16)
    yy, xx = np.mgrid[0:ROWS, 0:COLS]
    img = lo + (hi - lo) * (0.2 + 0.5 * xx / COLS) + rng.normal(0, (hi - lo) * 0.02, (ROWS, COLS))
    img[:BAR_ROWS] = lo + (hi - lo) * 0.1
    img[text_mask(shift=shift)] = hi
    return np.clip(np.round(img), lo, hi).astype(dtype)


def rgb_image(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(40, 200, (ROWS, COLS, 3)).astype(np.uint8)
    img = cv2.GaussianBlur(img, (5, 5), 0)
    img[:BAR_ROWS] = (10, 20, 30)
    img[text_mask()] = (250, 250, 60)
    return img


def _base(photometric: str, samples: int, bits: int, signed: bool, frames: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    multi = frames > 1
    ds.SOPClassUID = ("1.2.840.10008.5.1.4.1.1.7.4" if samples == 3 else "1.2.840.10008.5.1.4.1.1.7.3") if multi and bits > 8 \
        else ("1.2.840.10008.5.1.4.1.1.7.4" if samples == 3 else "1.2.840.10008.5.1.4.1.1.7.2") if multi \
        else "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "DOE^JOHN", "123", "19700101", "M"
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.ReferringPhysicianName, ds.StudyID = "20240101", "120000", "A1", "", "1"
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber, ds.ConversionType = "OT", 1, 1, "WSD"
    ds.PatientOrientation, ds.Laterality = "", ""
    ds.BurnedInAnnotation = "YES"
    ds.PixelSpacing = [0.5, 0.5]
    ds.Rows, ds.Columns = ROWS, COLS
    ds.SamplesPerPixel, ds.PhotometricInterpretation = samples, photometric
    ds.BitsAllocated = 8 if bits <= 8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, int(signed)
    if samples == 3:
        ds.PlanarConfiguration = 0
    if multi:
        ds.NumberOfFrames = frames
        ds.FrameIncrementPointer = 0x00181063
        ds.FrameTime = 40.0
    if multi and samples == 1 and bits > 8:  # multi-frame grayscale word SC wants these
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    return ds


@dataclass
class Case:
    name: str
    syntax: str
    photometric: str  # stored in the input
    bits: int = 8
    signed: bool = False
    frames: int = 1
    planar: int = 0

    @property
    def lossy(self) -> bool:
        return self.syntax in (JPEGBaseline8Bit, JPEGLSNearLossless, JPEG2000)


CASES = [
    Case("evrle-mono2-8", ExplicitVRLittleEndian, "MONOCHROME2", 8),
    Case("evrle-mono2-12", ExplicitVRLittleEndian, "MONOCHROME2", 12),
    Case("evrle-mono2-16s", ExplicitVRLittleEndian, "MONOCHROME2", 16, True),
    Case("evrle-mono1-12", ExplicitVRLittleEndian, "MONOCHROME1", 12),
    Case("ivrle-mono2-16", ImplicitVRLittleEndian, "MONOCHROME2", 16),
    Case("evrbe-mono2-16", ExplicitVRBigEndian, "MONOCHROME2", 16),
    Case("deflate-mono2-8", DeflatedExplicitVRLittleEndian, "MONOCHROME2", 8),
    Case("evrle-rgb-planar0", ExplicitVRLittleEndian, "RGB"),
    Case("evrle-rgb-planar1", ExplicitVRLittleEndian, "RGB", planar=1),
    Case("evrle-ybrfull", ExplicitVRLittleEndian, "YBR_FULL"),
    Case("evrle-palette", ExplicitVRLittleEndian, "PALETTE COLOR"),
    Case("evrle-mono2-8-3frames", ExplicitVRLittleEndian, "MONOCHROME2", 8, frames=3),
    Case("rle-mono2-16", RLELossless, "MONOCHROME2", 16),
    Case("rle-rgb", RLELossless, "RGB"),
    Case("rle-ybrfull", RLELossless, "YBR_FULL"),
    Case("rle-rgb-3frames", RLELossless, "RGB", frames=3),
    Case("jpegls-mono2-12", JPEGLSLossless, "MONOCHROME2", 12),
    Case("jpegls-rgb", JPEGLSLossless, "RGB"),
    Case("j2k-mono2-16s", JPEG2000Lossless, "MONOCHROME2", 16, True),
    Case("j2k-rgb", JPEG2000Lossless, "RGB"),
    Case("jpegls-near-mono2-8", JPEGLSNearLossless, "MONOCHROME2", 8),
    Case("j2k-lossy-mono2-12", JPEG2000, "MONOCHROME2", 12),
    Case("jpeg-baseline-mono2", JPEGBaseline8Bit, "MONOCHROME2"),
    Case("jpeg-baseline-ybr422", JPEGBaseline8Bit, "YBR_FULL_422"),
    Case("jpeg-baseline-ybr422-3frames", JPEGBaseline8Bit, "YBR_FULL_422", frames=3),
]


def _palette(ds: Dataset) -> None:
    ramp = np.arange(256, dtype=np.uint16) * 257
    ds.RedPaletteColorLookupTableDescriptor = [256, 0, 16]
    ds.GreenPaletteColorLookupTableDescriptor = [256, 0, 16]
    ds.BluePaletteColorLookupTableDescriptor = [256, 0, 16]
    ds.RedPaletteColorLookupTableData = ramp.tobytes()
    ds.GreenPaletteColorLookupTableData = ramp[::-1].copy().tobytes()
    ds.BluePaletteColorLookupTableData = np.roll(ramp, 128).tobytes()


def frames_for(case: Case) -> np.ndarray:
    """(frames, rows, cols[, 3]) native values the input will hold (before any lossy step)."""
    out = []
    for i in range(case.frames):
        if case.photometric in ("RGB", "YBR_FULL", "YBR_FULL_422"):
            img = rgb_image(seed=i)
            if case.photometric == "YBR_FULL":
                img = convert_color_space(img, "RGB", "YBR_FULL")
        else:
            img = grey_image(case.bits, case.signed, seed=i)
        out.append(img)
    return np.stack(out)


def build(case: Case) -> Dataset:
    """A dataset in case.syntax, round-tripped through bytes (as read from disk)."""
    samples = 3 if case.photometric in ("RGB", "YBR_FULL", "YBR_FULL_422") else 1
    ds = _base(case.photometric, samples, case.bits, case.signed, case.frames)
    if case.photometric == "PALETTE COLOR":
        _palette(ds)
    arr = frames_for(case)
    if case.frames == 1:
        arr = arr[0]
    syntax = case.syntax
    if syntax == JPEGBaseline8Bit:
        frames = arr if case.frames > 1 else arr[None]
        parts = []
        for f in frames:
            bgr = f if samples == 1 else cv2.cvtColor(f, cv2.COLOR_RGB2BGR)
            ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
            parts.append(buf.tobytes())
        from pydicom.encaps import encapsulate
        ds.PixelData = encapsulate(parts)
        ds["PixelData"].VR, ds["PixelData"].is_undefined_length = "OB", True
        ds.file_meta.TransferSyntaxUID = syntax
        ds.LossyImageCompression, ds.LossyImageCompressionMethod = "01", "ISO_10918_1"
    elif syntax in (RLELossless, JPEGLSLossless, JPEG2000Lossless, JPEGLSNearLossless, JPEG2000):
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        kwargs = {"jls_error": 2} if syntax == JPEGLSNearLossless else {"j2k_cr": [5]} if syntax == JPEG2000 else {}
        ds.compress(syntax, arr, generate_instance_uid=False, **kwargs)
        if case.lossy:
            ds.LossyImageCompression = "01"
    else:
        if case.planar == 1:
            data = np.moveaxis(arr, -1, -3).tobytes()
            ds.PlanarConfiguration = 1
        else:
            data = arr.astype(arr.dtype.newbyteorder(">" if syntax == ExplicitVRBigEndian else "<")).tobytes()
        ds.PixelData = data
        ds["PixelData"].VR = "OW" if ds.BitsAllocated > 8 else "OB"
        ds.file_meta.TransferSyntaxUID = syntax
    return reread(ds)


def to_bytes(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def reread(ds: Dataset) -> Dataset:
    return pydicom.dcmread(io.BytesIO(to_bytes(ds)))


def assert_box_blank(under: np.ndarray, eight_bit: bool) -> None:
    """The pixels under a blanked box (N, channels) hold nothing: one value for deeper data and palettes; for 8-bit
    data at most the screen noise the fill leaves as stored (redact.py's noise rule: within NOISE_LEVELS_8BIT of
    the fill in stored values, so within 4x that spread after a YBR -> RGB conversion)."""
    from inference.pixels.redact import NOISE_LEVELS_8BIT

    under = under.reshape(len(under), -1).astype(np.int64)
    if eight_bit:
        assert (under.max(0) - under.min(0)).max() <= 4 * NOISE_LEVELS_8BIT
    else:
        assert (under == under[0]).all()
