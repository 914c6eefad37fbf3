"""The release gate audit_dataset catches what is planted and passes what is clean.

Planted set: tests/audit_fixtures.py (burned-in fake Lithuanian personal data + labels) processed by a correct
redactor and by three deliberately broken ones. A larger run of the same: benchmarks/bench_audit.py.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

sys.path.insert(0, str(Path(__file__).parent))
from audit_fixtures import MODES_BROKEN, correct_header, make_set, redact  # noqa: E402

from inference.audit import AuditOptions, audit_dataset  # noqa: E402

N_FILES = 18   # 6 per modality (US colour, CT 16-bit, DX); each OCR'd once per distinct pixel content


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return make_set(tmp_path_factory.mktemp("audit_planted"), N_FILES, seed=7)


def flag_rate(cases, mode: str) -> tuple[int, list[str]]:
    flagged, details = 0, []
    for case in cases:
        original = pydicom.dcmread(case.path)
        result = audit_dataset(redact(case, mode), original)
        flagged += result.flagged
        if result.flagged:
            details.append(f"{case.id}: {result.reasons[:3]}")
    return flagged, details


def test_correct_redaction_is_not_flagged(planted):
    flagged, details = flag_rate(planted, "correct")
    assert flagged / len(planted) < 0.01, details


@pytest.mark.parametrize("mode", MODES_BROKEN)
def test_broken_redactors_are_caught(planted, mode):
    flagged, _ = flag_rate(planted, mode)
    assert flagged / len(planted) >= 0.99, f"{mode}: {flagged}/{len(planted)} flagged"


def test_pixel_findings_carry_regions(planted):
    case = planted[0]
    result = audit_dataset(redact(case, "no_pixels"), pydicom.dcmread(case.path))
    pixel = [f for f in result.findings if f.category == "pixels"]
    assert pixel and all(f.region is not None for f in pixel)
    r = pixel[0].region
    assert 0 <= r.x0 < r.x1 and 0 <= r.y0 < r.y1 and r.y1 <= 120   # the personal block is at the top left
    assert all("PETRAITIS" not in f.detail.upper() for f in result.findings)   # values are masked


def test_gate_accepts_the_pipelines_identity(planted):
    """inference.run --audit passes an inference.identity.Identity, not the original dataset."""
    from inference.identity import Identity

    case = planted[1]
    identity = Identity.from_dataset(pydicom.dcmread(case.path))
    assert audit_dataset(redact(case, "half_box"), identity).flagged
    assert not audit_dataset(redact(case, "correct"), identity).flagged


def test_generic_detectors_without_any_identity(planted):
    """No original at all: a valid personal code burned into the pixels is still found."""
    case = planted[2]
    result = audit_dataset(redact(case, "no_pixels"), None)
    assert any(f.kind == "generic:personal_code" for f in result.findings), result.reasons


def test_headers_only_options_skip_ocr(planted):
    case = planted[3]
    opts = AuditOptions(check_pixels=False)
    result = audit_dataset(redact(case, "no_pixels"), pydicom.dcmread(case.path), opts)
    assert not result.flagged and result.frames_checked == 0


def test_flag_any_text_flags_technical_labels(planted):
    case = planted[4]
    result = audit_dataset(redact(case, "correct"), pydicom.dcmread(case.path), AuditOptions(flag_any_text=True))
    assert any(f.kind == "text" for f in result.findings)


# --- headers and content: nested, private, SR, PDF, waveform -----------------------------------------------

def _clean_copy(case) -> tuple[Dataset, Dataset]:
    original = pydicom.dcmread(case.path)
    out = correct_header(original)
    out.PixelData = original.PixelData
    return original, out


def test_nested_and_private_leaks_are_found(planted):
    original, out = _clean_copy(planted[5])
    item = Dataset()
    item.TextValue = f"Pacientas {original.PatientName.family_name} skundžiasi"
    out.ContentSequence = Sequence([item])
    out.add_new(0x00091010, "LO", "MEDANON PRIVATE")
    out.add_new(0x00091011, "UN", str(original.PatientID).encode())
    findings = audit_dataset(out, original, AuditOptions(check_pixels=False)).findings
    where = " ".join(f.where for f in findings if f.category == "header")
    assert "ContentSequence[0] > (0040,A160) TextValue" in where
    assert "(0009,1011)" in where
    assert any(f.kind == "private_element" for f in findings)


def test_pdf_metadata_leak_is_found(shared_dicom, planted):
    from pypdf import PdfWriter

    ds = pydicom.dcmread(shared_dicom / "orthanc-mirrors+orthanc-tests" / _pdf_relpath(shared_dicom))
    original = pydicom.dcmread(planted[0].path)
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Author": str(original.PatientName).replace("^", " ")})
    buf = io.BytesIO()
    writer.write(buf)
    ds.EncapsulatedDocument = buf.getvalue() + (b"\0" if len(buf.getvalue()) % 2 else b"")
    findings = audit_dataset(ds, original, AuditOptions(check_pixels=False, check_compliance=False)).findings
    assert any(f.category == "content" and "Author" in f.where for f in findings), [f.where for f in findings]


def test_waveform_annotation_leak_is_found(planted):
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("waveform_ecg.dcm"))
    note = Dataset()
    note.UnformattedTextValue = "skambinti +370 612 34567"
    ds.WaveformAnnotationSequence = Sequence([note])
    findings = audit_dataset(ds, None, AuditOptions(check_pixels=False, check_compliance=False)).findings
    assert any(f.kind == "generic:phone" and "WaveformAnnotationSequence" in f.where for f in findings)


def test_compliance_catches_kept_attributes_and_uids(planted):
    original, out = _clean_copy(planted[6])
    assert not audit_dataset(out, original, AuditOptions(check_pixels=False)).flagged
    out.PatientAddress = "x"                        # basic profile X, no option keeps it
    out.StudyInstanceUID = original.StudyInstanceUID
    kinds = {f.kind for f in audit_dataset(out, original, AuditOptions(check_pixels=False)).findings}
    assert {"not_removed", "uid_not_replaced"} <= kinds


def _pdf_relpath(shared: Path) -> str:
    hits = sorted((shared / "orthanc-mirrors+orthanc-tests").rglob("sample-pdf.dcm"))
    assert hits, "orthanc-tests sample-pdf.dcm missing from ../shared"
    return str(hits[0].relative_to(shared / "orthanc-mirrors+orthanc-tests"))


def test_project_header_engine_output_passes_header_checks(shared_dicom):
    """The real header engine (inference.header, basic profile) on public samples: the auditor's header and
    compliance checks agree it is clean, so the release gate does not quarantine correct output."""
    import copy

    from inference.header import deidentify_dataset, load_profile
    from inference.keys import Keyring

    profile, keyring = load_profile("basic"), Keyring(b"audit-test-key-0123456789abcdef!")
    paths = sorted((shared_dicom / "pydicom+pydicom").rglob("*.dcm"))[:40]
    audited, flagged = 0, []
    for p in paths:
        try:
            ds = pydicom.dcmread(p)
            original = copy.deepcopy(ds)
            deidentify_dataset(ds, profile, keyring)
        except Exception:
            continue   # files the engine refuses go to quarantine, not to the auditor
        audited += 1
        result = audit_dataset(ds, original, AuditOptions(check_pixels=False))
        if result.flagged:
            flagged.append(f"{p.name}: {result.reasons[:2]}")
    assert audited >= 20
    assert not flagged, flagged
