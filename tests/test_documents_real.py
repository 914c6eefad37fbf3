"""The public SR, PDF and waveform samples in ../shared/data/dicom: every one goes through its content handler
and the header engine without error, stays valid (no new dciodvfy errors), keeps its waveform samples bit for
bit, and keeps none of its own patient's name words in names or free text."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pydicom
import pytest

from documents_fixtures import dciodvfy_errors, pdf_texts, process
from inference.keys import Keyring
from inference.textdeid.fold import fold

SHARED_DICOM = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dicom"
KEYRING = Keyring(b"medanon-test-key-0123456789abcdef")
PDF = "orthanc-mirrors+orthanc-tests/Database/sample-pdf.dcm"
WAVEFORMS = ("pydicom+pydicom/src/pydicom/data/test_files/waveform_ecg.dcm",
             "jap1968+dcm-waveform/examples/localfile/test_ecg.dcm")


def _sr_samples() -> list[str]:
    inventory = SHARED_DICOM / "inventory.csv"
    if not inventory.is_file():
        return []
    with inventory.open(newline="") as f:
        return [r["path"] for r in csv.DictReader(f) if "SR Storage" in r["SOPClassName"]]


SR_SAMPLES = _sr_samples()


def _own_name_words(ds: pydicom.Dataset) -> list[str]:
    """Words of the patient's name that are names (>= 4 letters), folded."""
    words = re.split(r"[\^=\s,.\-]+", str(ds.get("PatientName", "")))
    return [fold(w) for w in words if len(w) >= 4 and w.isalpha() and fold(w) not in ("name", "last", "first")]


def _free_text(ds: pydicom.Dataset) -> str:
    keep = ("TextValue", "UnformattedTextValue", "PersonName", "DocumentTitle")
    return fold("\n".join(str(e.value) for e in ds.iterall() if e.keyword in keep or e.VR == "PN"))


def _check(rel: str, kind: str, tmp_path: Path) -> tuple[pydicom.Dataset, pydicom.Dataset]:
    src = SHARED_DICOM / rel
    before = pydicom.dcmread(src)
    after, data, _ = process(src, kind, KEYRING)
    out = tmp_path / "out.dcm"
    out.write_bytes(data)
    assert dciodvfy_errors(out) - dciodvfy_errors(src) == set()
    text = _free_text(after)
    for word in _own_name_words(before):
        assert not re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text), word
    return before, after


def test_the_inventory_lists_the_sr_samples():
    assert len(SR_SAMPLES) >= 25, SR_SAMPLES


@pytest.mark.parametrize("rel", SR_SAMPLES, ids=lambda p: p.split("/")[-1])
def test_real_sr(rel, tmp_path):
    before, after = _check(rel, "sr", tmp_path)
    assert not before.get("PatientName") or after.PatientName != before.PatientName


def test_real_pdf(tmp_path):
    before, after = _check(PDF, "pdf", tmp_path)
    data = bytes(after.EncapsulatedDocument)[: int(after.EncapsulatedDocumentLength)]
    texts = pdf_texts(data)
    assert all(not t.strip() for t in texts[:1]), "text layer survived"
    assert not any("alain" in t.lower() for t in texts), "PDF author survived"


@pytest.mark.parametrize("rel", WAVEFORMS, ids=lambda p: p.split("/")[-1])
def test_real_waveforms(rel, tmp_path):
    before, after = _check(rel, "waveform", tmp_path)
    for a, b in zip(before.WaveformSequence, after.WaveformSequence):
        assert a.WaveformData == b.WaveformData
    clinical = [a.UnformattedTextValue for a in before.get("WaveformAnnotationSequence", [])
                if "UnformattedTextValue" in a]
    kept = [a.UnformattedTextValue for a in after.get("WaveformAnnotationSequence", [])
            if "UnformattedTextValue" in a]
    assert clinical == kept     # 'RITMO SINUSALE' and friends: device statements without identity, unchanged
