"""Issue 20: hostile inputs must never be released un-anonymised (unknown tags, pixels in 'header-only' classes,
truncated documents, protected folders under OUTPUT, UID clashes across runs, key handling)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from inference.run import EXIT_OK, EXIT_QUARANTINED, EXIT_USAGE, main

ROOT = Path(__file__).resolve().parents[1]
RT_PLAN = "1.2.840.10008.5.1.4.1.1.481.5"
MRN = "MRN-998877"
HIDDEN_NAME = "Petrauskiene^Ona"
PATIENT_ID = "LT-555012349"  # even length: no padding byte


def run(src: Path, out: Path, *extra: str) -> int:
    return main([str(src), str(out), "--quiet", *extra])


def base_object(sop_class: str = RT_PLAN, syntax: str = ExplicitVRLittleEndian) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID = "Kazlauskas^Jonas", PATIENT_ID
    ds.PatientBirthDate = "19700101"
    ds.StudyDate, ds.StudyTime = "20240112", "101500"
    ds.Modality = "RTPLAN"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    return ds


def write(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def released(out: Path) -> list[Path]:
    return sorted(out.rglob("*.dcm")) if out.exists() else []


def trail(out: Path) -> list[dict]:
    path = out.with_name(out.name + ".audit") / "trail.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --- 1. unknown public tags ------------------------------------------------------------------------------------

def hostile_implicit_file(path: Path) -> Path:
    """Implicit VR: (0010,FF20) holds an MRN, an unknown group-0010 element a name, and one bit flip moves
    PatientID (0010,0020) to (0010,0120), a tag no dictionary knows."""
    ds = base_object(syntax=ImplicitVRLittleEndian)
    ds.add_new(0x0010FF20, "LO", MRN)
    ds.add_new(0x00100060, "PN", HIDDEN_NAME)
    write(ds, path)
    data = bytearray(path.read_bytes())
    tag = b"\x10\x00\x20\x00" + len(PATIENT_ID).to_bytes(4, "little")
    at = data.index(tag)
    data[at + 3] ^= 0x01  # element 0x0020 -> 0x0120
    path.write_bytes(bytes(data))
    assert pydicom.dcmread(path).get((0x0010, 0x0120)) is not None  # the flip did what it claims
    return path


@pytest.mark.parametrize("audit", [False, True])
def test_unknown_public_elements_and_a_moved_patient_id_are_removed(tmp_path, monkeypatch, audit):
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    hostile_implicit_file(tmp_path / "in" / "plan.dcm")
    out = tmp_path / "out"
    assert run(tmp_path / "in", out, *(["--audit"] if audit else [])) == EXIT_OK
    [written] = released(out)
    raw = written.read_bytes()
    for token in (MRN, HIDDEN_NAME, "Petrauskiene", PATIENT_ID):
        assert token.encode() not in raw
    ds = pydicom.dcmread(written)
    for tag in (0x0010FF20, 0x00100060, 0x00100120):
        assert tag not in ds
    assert not ds.get("PatientID")


def test_unlisted_public_elements_removed_unless_the_profile_keeps_them(tmp_path, test_key):
    """Explicit VR: an unknown element outside the identity groups goes too (whatever its VR); an unlisted but
    known element in group 0010 goes unless policy keeps it; a profile override keeps what a site vouches for."""
    from inference.header import deidentify_dataset, load_profile
    from inference.keys import Keyring

    def hostile() -> Dataset:
        ds = base_object()
        ds.add_new(0x0018FF00, "LO", HIDDEN_NAME)
        ds.add_new(0x0018FF02, "US", 4242)
        ds.add_new(0x00100022, "CS", "TEXT")              # TypeOfPatientID: known, not in Table E.1-1
        ds.add_new(0x00102210, "CS", "BIPED")             # AnatomicalOrientationType: kept by policy
        ds.add_new(0x00380008, "CS", "ADMITTED")          # VisitStatusID: unlisted visit data
        return ds

    ds = hostile()
    deidentify_dataset(ds, load_profile("basic"), Keyring(test_key))
    for tag in (0x0018FF00, 0x0018FF02, 0x00100022, 0x00380008):
        assert tag not in ds, hex(tag)
    assert ds.AnatomicalOrientationType == "BIPED"
    keeper = tmp_path / "keeper.yaml"
    keeper.write_text('name: keeper\nextends: basic\noverrides:\n  "(0018,FF02)": K\n')
    ds = hostile()
    deidentify_dataset(ds, load_profile(keeper), Keyring(test_key))
    assert ds[0x0018FF02].value in (4242, b"\x92\x10") and 0x0018FF00 not in ds
