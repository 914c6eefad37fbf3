"""Shared helpers for the header tests: paths, a key, sample discovery, dataset builders."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "data" / "dicom"
STANDARD_TABLE = SHARED / "data" / "standard" / "confidentiality_profile_attributes.json"
KEY = b"unit-test-key-0123456789abcdef"
OTHER_KEY = b"another-test-key-fedcba9876543210"

OPTION_COLUMNS = ("rtnLongFullDatesOpt", "rtnLongModifDatesOpt", "cleanDescOpt", "rtnUIDsOpt", "rtnDevIdOpt",
                  "rtnPatCharsOpt", "rtnInstIdOpt", "cleanGraphOpt", "cleanStructContOpt", "rtnSafePrivOpt")


def standard_rows() -> list[dict]:
    return json.loads(STANDARD_TABLE.read_text())


def sample_files() -> list[Path]:
    """Every readable sample of the shared inventory (by the inventory, not by extension)."""
    with open(SAMPLES / "inventory.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [SAMPLES / r["path"] for r in rows if not r.get("read_error") and (SAMPLES / r["path"]).is_file()]


def new_file_dataset(sop_class: str = "1.2.840.10008.5.1.4.1.1.7") -> Dataset:
    """An empty dataset with file meta, ready for save_as."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def roundtrip(ds: Dataset) -> Dataset:
    """Write to memory and read back: what a consumer of the output file sees."""
    from io import BytesIO

    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return pydicom.dcmread(BytesIO(buf.getvalue()))
