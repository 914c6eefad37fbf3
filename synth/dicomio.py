"""Write rendered frames as DICOM in every common pixel encoding, with the fake identity in the header.

Why: the anonymiser must handle each encoding the hospitals send (MONOCHROME1/2 at 8/12/16 bits, RGB,
YBR_FULL_422 JPEG baseline, RLE, JPEG-LS and JPEG 2000 lossless, multi-frame). Encoding names are
``<pixels>[+<compression>]``: pixels in PIXEL_FORMATS, compression in COMPRESSIONS (see synth/README.md).
pydicom has no JPEG baseline encoder, so JPEG frames are made by Pillow and encapsulated.
"""
from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image
from pydicom import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (JPEG2000Lossless, JPEGBaseline8Bit, JPEGLSLossless, ExplicitVRLittleEndian, RLELossless,
                         PYDICOM_IMPLEMENTATION_UID, UID)

from synth.identity import Identity
from synth.layout import ExamType

PIXEL_FORMATS = ("mono2_8", "mono1_8", "mono2_12", "mono1_12", "mono2_16", "rgb")
COMPRESSIONS = ("none", "rle", "jpegls", "j2k", "jpeg")
SOP = {
    "sc": "1.2.840.10008.5.1.4.1.1.7",
    "sc_mf_byte": "1.2.840.10008.5.1.4.1.1.7.2",
    "sc_mf_word": "1.2.840.10008.5.1.4.1.1.7.3",
    "sc_mf_rgb": "1.2.840.10008.5.1.4.1.1.7.4",
    "us": "1.2.840.10008.5.1.4.1.1.6.1",
    "us_mf": "1.2.840.10008.5.1.4.1.1.3.1",
    "cr": "1.2.840.10008.5.1.4.1.1.1",
    "es": "1.2.840.10008.5.1.4.1.1.77.1.1",
}
PAIRED_PARTS = {"EXTREMITY", "BREAST", "KNEE", "HAND"}
US_IMAGE_TYPE = {"ABDOMEN": "ABDOMINAL", "PELVIS": "OBSTETRICAL", "NECK": "SMALL PARTS", "HEART": "CARDIAC"}
MANUFACTURERS = {"US": ["GE Healthcare", "Philips", "SIEMENS", "Canon Medical", "Mindray", "FUJIFILM"],
                 "default": ["GE MEDICAL SYSTEMS", "Philips Medical Systems", "SIEMENS", "Canon", "Agfa", "FUJIFILM"]}


@dataclass(frozen=True)
class Encoding:
    pixels: str
    compression: str

    @property
    def name(self) -> str:
        return self.pixels if self.compression == "none" else f"{self.pixels}+{self.compression}"

    @property
    def bits(self) -> int:
        return 8 if self.pixels in ("rgb",) else int(self.pixels.split("_")[1])

    @property
    def color(self) -> bool:
        return self.pixels == "rgb"


def parse_encoding(name: str) -> Encoding:
    pixels, _, comp = name.partition("+")
    comp = comp or "none"
    if pixels not in PIXEL_FORMATS or comp not in COMPRESSIONS:
        raise ValueError(f"unknown encoding {name!r}: pixels {PIXEL_FORMATS}, compression {COMPRESSIONS}")
    if comp == "jpeg" and pixels not in ("mono2_8", "rgb"):
        raise ValueError(f"JPEG baseline needs 8-bit MONOCHROME2 or RGB, not {pixels}")
    return Encoding(pixels, comp)


def uid_from(rng: random.Random) -> UID:
    """Valid random UID under 2.25 (deterministic for the rng)."""
    return UID(f"2.25.{rng.getrandbits(120)}")


def to_stored(display: np.ndarray, enc: Encoding) -> np.ndarray:
    """8-bit display frames (F,H,W[,3]) -> stored values for the encoding (MONOCHROME1 inverted, 12/16-bit scaled)."""
    if enc.color:
        return display if display.ndim == 4 else np.repeat(display[..., None], 3, axis=-1)
    grey = display if display.ndim == 3 else np.rint(display @ np.float32([0.299, 0.587, 0.114])).astype(np.uint8)
    if enc.pixels.startswith("mono1"):
        grey = 255 - grey
    if enc.bits == 8:
        return grey.astype(np.uint8)
    g = grey.astype(np.uint16)
    return g * 16 + g // 16 if enc.bits == 12 else g * 257      # 0..4095 / 0..65535, exact inverse by // 16 / // 257


def to_display(stored: np.ndarray, enc: Encoding) -> np.ndarray:
    """Inverse of ``to_stored`` for lossless encodings: the 8-bit frames a viewer shows."""
    if enc.color:
        return stored.astype(np.uint8)
    g = stored // 16 if enc.bits == 12 else stored // 257 if enc.bits == 16 else stored
    g = g.astype(np.uint8)
    return 255 - g if enc.pixels.startswith("mono1") else g


def _jpeg_frames(stored: np.ndarray, quality: int) -> tuple[list[bytes], np.ndarray]:
    """Pillow JPEG baseline per frame (4:2:2 for colour) and the decoded frames (what a decoder will show)."""
    blobs, decoded = [], []
    for f in stored:
        buf = io.BytesIO()
        Image.fromarray(f).save(buf, "JPEG", quality=quality, subsampling=1, optimize=False)
        blobs.append(buf.getvalue())
        decoded.append(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB" if f.ndim == 3 else "L")))
    return blobs, np.stack(decoded)


def jpeg_roundtrip(frames: np.ndarray, quality: int) -> np.ndarray:
    """Frames after a lossy JPEG save/load (artefacts of screen grabbers and PACS exports)."""
    return _jpeg_frames(frames, quality)[1]


def sop_class(kind: str, n_frames: int, enc: Encoding) -> str:
    """SOP class UID for the exam's SOP key, frame count and encoding (IOD constraints of PS3.3)."""
    if kind in ("us", "us_mf"):
        return SOP["us_mf"] if n_frames > 1 else SOP["us"]
    if kind == "cr" and n_frames == 1 and not enc.color:
        return SOP["cr"]
    if kind == "es" and n_frames == 1 and enc.color:
        return SOP["es"]
    if n_frames == 1:
        return SOP["sc"]
    return SOP["sc_mf_rgb"] if enc.color else SOP["sc_mf_byte"] if enc.bits == 8 else SOP["sc_mf_word"]


def _da(d: dt.date) -> str:
    return d.strftime("%Y%m%d")


def build_dataset(identity: Identity, exam: ExamType, enc: Encoding, n_frames: int, rows: int, cols: int,
                  rng: random.Random) -> Dataset:
    """Header with the SAME fake identity as the burned-in text, IOD modules for the chosen SOP class."""
    sop = sop_class(exam.sop, n_frames, enc)
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = uid_from(rng)
    # Patient
    ds.PatientName = identity.dicom_name
    ds.PatientID = identity.patient_id
    ds.IssuerOfPatientID = identity.hospital[:64]
    ds.PatientBirthDate = _da(identity.birth_date)
    ds.PatientSex = identity.sex
    ds.PatientAge = identity.dicom_age
    ds.PatientAddress = identity.address
    ds.PatientTelephoneNumbers = identity.phone
    other = Dataset()
    other.PatientID = identity.personal_code
    other.TypeOfPatientID = "TEXT"
    other.IssuerOfPatientID = "LT asmens kodas"
    ds.OtherPatientIDsSequence = [other]
    # General Study
    ds.StudyInstanceUID = uid_from(rng)
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = _da(identity.exam_date)
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = identity.exam_time.strftime("%H%M%S")
    ds.ReferringPhysicianName = identity.doctor_name("referring", "dicom")
    ds.PerformingPhysicianName = identity.doctor_name("performing", "dicom")
    ds.OperatorsName = identity.doctor_name("performing", "dicom")
    ds.StudyID = str(rng.randrange(1, 99999))
    ds.AccessionNumber = identity.accession
    ds.StudyDescription = exam.studies[0][:64]
    # General Series
    ds.Modality = exam.modality
    ds.SeriesInstanceUID = uid_from(rng)
    ds.SeriesNumber = rng.randrange(1, 20)
    if exam.body_part:
        ds.BodyPartExamined = exam.body_part
    else:
        ds.Laterality = ""     # type 2C: unknown for documents
    if exam.body_part in PAIRED_PARTS:
        ds.Laterality = rng.choice(["L", "R"])
    # General Equipment
    makers = MANUFACTURERS.get(exam.modality, MANUFACTURERS["default"])
    ds.Manufacturer = rng.choice(makers)
    ds.ManufacturerModelName = exam.devices[0]
    ds.InstitutionName = identity.hospital[:64]
    ds.InstitutionAddress = f"{identity.city}, Lietuva"
    ds.InstitutionalDepartmentName = identity.department[:64]
    ds.StationName = f"{exam.modality}{rng.randrange(1, 20):02d}"
    ds.DeviceSerialNumber = str(rng.randrange(10**5, 10**7))
    # General Image
    ds.InstanceNumber = 1
    ds.PatientOrientation = ""
    ds.ImageType = ["DERIVED", "SECONDARY"] if sop.startswith(SOP["sc"]) else ["ORIGINAL", "PRIMARY"]
    ds.BurnedInAnnotation = "YES"
    ds.RecognizableVisualFeatures = "NO"
    ds.LossyImageCompression = "01" if enc.compression == "jpeg" else "00"
    if enc.compression == "jpeg":
        ds.LossyImageCompressionRatio = 10.0
        ds.LossyImageCompressionMethod = "ISO_10918_1"
    if sop.startswith(SOP["sc"]):
        ds.ConversionType = "WSD"
    if sop == SOP["cr"]:
        ds.ViewPosition = rng.choice(["PA", "AP", "LL"])
        ds.PatientOrientation = ["L", "F"]
    if sop in (SOP["us"], SOP["us_mf"]):
        ds.ImageType = ["ORIGINAL", "PRIMARY", US_IMAGE_TYPE.get(exam.body_part, "ABDOMINAL"), "0001"]
    if sop == SOP["es"]:
        ds.AcquisitionContextSequence = []
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
    # Image Pixel
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 3 if enc.color else 1
    ds.PhotometricInterpretation = "RGB" if enc.color else ("MONOCHROME1" if enc.pixels.startswith("mono1") else "MONOCHROME2")
    if enc.color:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = 8 if enc.bits == 8 else 16
    ds.BitsStored = enc.bits
    ds.HighBit = enc.bits - 1
    ds.PixelRepresentation = 0
    if not enc.color and enc.bits > 8:
        top = (1 << enc.bits)
        ds.WindowCenter, ds.WindowWidth = top // 2, top
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    if sop in (SOP["sc_mf_byte"], SOP["sc_mf_word"]):
        ds.PresentationLUTShape = "IDENTITY"
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    if n_frames > 1:
        ds.NumberOfFrames = n_frames
        ds.FrameTime = 40.0
        ds.FrameIncrementPointer = 0x00181063
        ds.CineRate = 25
    return ds


def encode(ds: Dataset, display: np.ndarray, enc: Encoding, quality: int) -> np.ndarray:
    """Put the frames (F,H,W[,3] uint8 display values) into ``ds`` with file meta; return the 8-bit frames as a
    decoder will show them (differs from ``display`` only for JPEG)."""
    stored = to_stored(display, enc)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "MEDANON_SYNTH"
    ds.file_meta = meta
    arr = stored if len(stored) > 1 else stored[0]
    if enc.compression == "jpeg":
        blobs, decoded = _jpeg_frames(stored, quality)
        ds.PixelData = encapsulate(blobs)
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
        meta.TransferSyntaxUID = JPEGBaseline8Bit
        if enc.color:
            ds.PhotometricInterpretation = "YBR_FULL_422"
        shown = decoded
    else:
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.PixelData = np.ascontiguousarray(arr).tobytes()
        ds["PixelData"].VR = "OB" if enc.bits == 8 else "OW"
        if enc.compression != "none":
            syntax = {"rle": RLELossless, "jpegls": JPEGLSLossless, "j2k": JPEG2000Lossless}[enc.compression]
            ds.compress(syntax, arr, generate_instance_uid=False)
            if enc.color and enc.compression == "j2k":
                ds.PhotometricInterpretation = "YBR_RCT"   # openjpeg applied the reversible colour transform
        shown = to_display(stored, enc)
    return shown
