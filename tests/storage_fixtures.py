"""Test data for the storage tests: an OUTPUT tree shaped like the pipeline's (inference/outputs.py), with
de-identified-looking DICOM (pseudonymous ids, 2.25 UIDs, shifted dates) made with pydicom and JPEG frames made
with Pillow. Until the whole pipeline runs in CI this is the contract both sides are tested against."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
US_MULTIFRAME_STORAGE = "1.2.840.10008.5.1.4.1.1.3.1"
REAL_JPEGLS_CT = ("cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/"
                  "CTImage.dcm_JPEGLSLosslessTransferSyntax_1.2.840.10008.1.2.4.80.dcm")


def uid(*parts: object) -> str:
    """A deterministic 2.25 UID, like the keyring's (no original UID involved)."""
    return "2.25." + str(int(hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:30], 16))


@dataclass(frozen=True)
class Written:
    patient_id: str
    study_uid: str
    series_uid: str
    instance_uid: str
    modality: str
    frames: int
    dicom: Path
    jpgs: tuple[Path, ...]


@dataclass
class Tree:
    root: Path
    instances: list[Written] = field(default_factory=list)

    def of(self, **match: str) -> list[Written]:
        return [w for w in self.instances if all(getattr(w, k) == v for k, v in match.items())]

    @property
    def frame_count(self) -> int:
        return sum(len(w.jpgs) for w in self.instances)


def _dataset(patient: str, study: str, series: str, sop: str, sop_class: str, modality: str, date: str,
             pixels: np.ndarray, **extra: object) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop
    ds.PatientName, ds.PatientID = f"ANON^{patient}", patient
    ds.PatientIdentityRemoved = "YES"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.StudyDate, ds.SeriesDate = date, date
    ds.StudyID, ds.AccessionNumber = "", ""
    ds.Modality = modality
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    frames = pixels if pixels.ndim == 3 else pixels[None]
    ds.Rows, ds.Columns = frames.shape[1:]
    if pixels.ndim == 3:
        ds.NumberOfFrames = frames.shape[0]
    ds.BitsAllocated = ds.BitsStored = pixels.dtype.itemsize * 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.tobytes()
    for k, v in extra.items():
        setattr(ds, k, v)
    return ds


def _write(tree: Tree, ds: Dataset, frames_view: np.ndarray) -> None:
    patient, study, series, sop = ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID
    dcm = tree.root / "dicom" / patient / study / series / f"{sop}.dcm"
    dcm.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(dcm, enforce_file_format=True)
    jpgs = []
    for i, frame in enumerate(frames_view if frames_view.ndim == 3 else frames_view[None]):
        jpg = tree.root / "jpg" / patient / study / series / f"{sop}_f{i + 1:04d}.jpg"
        jpg.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(frame).save(jpg, quality=90)
        jpgs.append(jpg)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    tree.instances.append(Written(patient, study, series, sop, ds.Modality, n, dcm, tuple(jpgs)))


def _pattern(shape: tuple[int, ...], seed: int, dtype: type = np.uint16, top: int = 4000) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, top, size=shape, dtype=np.int64).astype(dtype)


def _to8(a: np.ndarray) -> np.ndarray:
    return (a.astype(np.float64) * 255 / max(1, int(a.max()))).astype(np.uint8)


def make_output_tree(root: Path, shared_dicom: Path | None = None) -> Tree:
    """Two pseudo patients. PAT-A: one study (2024-03-05) with a CT series (3 instances, one of them a real
    JPEG-LS CT from ../shared when given), an MR series (2 instances) and a US cine (1 instance, 3 frames).
    PAT-B: one US study (2019-06-30, one frame)."""
    tree = Tree(root)
    a_study = uid("A", "study")
    ct, mr, us = uid("A", "ct"), uid("A", "mr"), uid("A", "us")
    for i in range(2):
        px = _pattern((64, 64), seed=i)
        ds = _dataset("PAT-A", a_study, ct, uid("A", "ct", i), CT_STORAGE, "CT", "20240305", px,
                      PixelSpacing=[0.7, 0.7], BodyPartExamined="CHEST", StudyDescription="CT THORAX",
                      RescaleIntercept=-1024, RescaleSlope=1, InstanceNumber=i + 1)
        _write(tree, ds, _to8(px))
    if shared_dicom is not None:
        real = pydicom.dcmread(shared_dicom / REAL_JPEGLS_CT)
        sop = uid("A", "ct", "real")
        real.file_meta.MediaStorageSOPInstanceUID = sop
        for kw, value in dict(SOPInstanceUID=sop, StudyInstanceUID=a_study, SeriesInstanceUID=ct,
                              PatientID="PAT-A", PatientName="ANON^PAT-A", StudyDate="20240305",
                              FrameOfReferenceUID=uid("A", "for"), BodyPartExamined="CHEST",
                              StudyDescription="CT THORAX", InstanceNumber=3).items():
            setattr(real, kw, value)
        for kw in ("PatientBirthDate", "InstitutionName", "ReferringPhysicianName", "OtherPatientIDs"):
            if kw in real:
                delattr(real, kw)
        _write(tree, real, _to8(real.pixel_array))
    for i in range(2):
        px = _pattern((48, 40), seed=10 + i)
        ds = _dataset("PAT-A", a_study, mr, uid("A", "mr", i), MR_STORAGE, "MR", "20240305", px,
                      PixelSpacing=[1.0, 1.2], BodyPartExamined="CHEST", StudyDescription="CT THORAX",
                      InstanceNumber=i + 1)
        _write(tree, ds, _to8(px))
    region = Dataset()
    region.PhysicalUnitsXDirection, region.PhysicalUnitsYDirection = 3, 3
    region.PhysicalDeltaX, region.PhysicalDeltaY = 0.02, 0.025
    cine = _pattern((3, 32, 48), seed=20, dtype=np.uint8, top=255)
    ds = _dataset("PAT-A", a_study, us, uid("A", "us", 0), US_MULTIFRAME_STORAGE, "US", "20240305", cine,
                  BodyPartExamined="ABDOMEN", SequenceOfUltrasoundRegions=[region], StudyDescription="CT THORAX")
    _write(tree, ds, cine)
    b_px = _pattern((40, 40), seed=30, dtype=np.uint8, top=255)
    ds = _dataset("PAT-B", uid("B", "study"), uid("B", "us"), uid("B", "us", 0), US_MULTIFRAME_STORAGE, "US",
                  "20190630", b_px[None], StudyDescription="US ABDOMEN", BodyPartExamined="ABDOMEN")
    _write(tree, ds, b_px)
    return tree
