"""SR, Encapsulated PDF and 12-lead ECG from synth/documents.py with a known fake identity: after the content
handler and the header engine, no identity token is left anywhere, clinical text and samples are unchanged,
references stay consistent with the images, and dciodvfy finds no new errors."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import numpy as np
import pydicom
import pytest

from documents_fixtures import dciodvfy_errors, find_leaks, pdf_texts, process
from inference.documents import DocumentError
from inference.documents.pdf import PdfOptions, deidentify_pdf, verify_clean_pdf
from inference.documents.waveform import deidentify_waveform
from inference.identity import Identity
from inference.keys import Keyring
from inference.textdeid import TextDeidentifier
from synth.documents import CLINICAL_SENTENCES, generate_documents
from synth.identity import make_identity

KEYRING = Keyring(b"medanon-test-key-0123456789abcdef")
SEEDS = (1, 4)   # a man and a married woman (gendered surname forms)
KIND = {"sr_comprehensive": "sr", "sr_basic_text": "sr", "encapsulated_pdf": "pdf", "ecg_12lead": "waveform"}


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> dict[int, tuple[object, dict[str, Path]]]:
    out = {}
    for seed in SEEDS:
        rng = random.Random(seed)
        identity = make_identity(rng)
        paths = generate_documents(identity, tmp_path_factory.mktemp(f"docs{seed}"), rng)
        out[seed] = (identity, {p.stem: p for p in paths})
    return out


@pytest.fixture(scope="module")
def processed(documents, tmp_path_factory):
    """(seed, stem) -> (input path, output path, output dataset); identity taken from the header only."""
    result = {}
    for seed, (_, paths) in documents.items():
        for stem, kind in KIND.items():
            ds, data, _ = process(paths[stem], kind, KEYRING)
            out = tmp_path_factory.mktemp("out") / f"{stem}.dcm"
            out.write_bytes(data)
            result[(seed, stem)] = (paths[stem], out, ds)
    return result


def test_synthetic_inputs_are_valid_dicom_and_carry_the_identity(documents):
    for seed, (identity, paths) in documents.items():
        assert len(paths) == 5
        for stem, path in paths.items():
            assert dciodvfy_errors(path) == set(), (stem, dciodvfy_errors(path))
            ds = pydicom.dcmread(path)
            if stem in KIND:    # the leak checker can fail: it finds the identity in every input
                extra = pdf_texts(_pdf(ds)) if stem == "encapsulated_pdf" else []
                assert len(find_leaks(identity, ds, path.read_bytes(), extra)) >= 10, stem
        pdf = _pdf(pydicom.dcmread(paths["encapsulated_pdf"]))
        texts = "\n".join(pdf_texts(pdf))
        assert identity.personal_code in texts and identity.family_name in texts      # a real text layer + Info
        assert b"/JavaScript" in pdf and b"/EmbeddedFile" in pdf


@pytest.mark.parametrize("stem", list(KIND))
@pytest.mark.parametrize("seed", SEEDS)
def test_no_identity_token_survives_anywhere(documents, processed, seed, stem):
    identity = documents[seed][0]
    _, out, ds = processed[(seed, stem)]
    extra = pdf_texts(_pdf(ds)) if stem == "encapsulated_pdf" else []
    assert find_leaks(identity, pydicom.dcmread(out), out.read_bytes(), extra) == []


@pytest.mark.parametrize("stem", list(KIND))
def test_dciodvfy_no_new_errors(processed, stem):
    for seed in SEEDS:
        src, out, _ = processed[(seed, stem)]
        assert dciodvfy_errors(out) - dciodvfy_errors(src) == set()


def test_sr_clinical_text_kept_and_references_consistent_with_header(documents, processed):
    for seed in SEEDS:
        src, out, _ = processed[(seed, "sr_comprehensive")]
        before, after = pydicom.dcmread(src), pydicom.dcmread(out)
        texts = [e.value for e in after.iterall() if e.keyword == "TextValue"]
        assert CLINICAL_SENTENCES[0] in texts and CLINICAL_SENTENCES[1] in texts
        # the patient's own name in PNAME items = the header's pseudonym; the Subject ID = the header's ID
        subject = [i for i in after.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "121029"][0]
        assert subject.PersonName == after.PatientName == KEYRING.patient_name(str(before.PatientName))
        subject_id = [i for i in after.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "121030"][0]
        assert subject_id.TextValue == after.PatientID
        # image reference in the tree and in the evidence sequence: remapped ONCE, like the image itself
        orig_uid = before.ContentSequence[6].ContentSequence[2].ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        tree_uid = after.ContentSequence[6].ContentSequence[2].ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        evidence = after.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
        assert tree_uid == evidence.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == KEYRING.uid(orig_uid)
        # DATE items shifted ONCE by the patient's offset
        offset = KEYRING.date_offset_days(str(before.PatientID))
        b_date = dt.datetime.strptime(before.ContentSequence[4].Date, "%Y%m%d").date()
        assert after.ContentSequence[4].Date == (b_date + dt.timedelta(days=offset)).strftime("%Y%m%d")


def test_ecg_samples_identical_and_clinical_annotation_kept(processed):
    for seed in SEEDS:
        src, out, _ = processed[(seed, "ecg_12lead")]
        before, after = pydicom.dcmread(src), pydicom.dcmread(out)
        assert after.WaveformSequence[0].WaveformData == before.WaveformSequence[0].WaveformData
        notes = [a.UnformattedTextValue for a in after.WaveformAnnotationSequence]
        assert notes[0] == CLINICAL_SENTENCES[2]
        assert notes[1] != before.WaveformAnnotationSequence[1].UnformattedTextValue


def test_pdf_is_a_valid_image_only_pdf_of_the_same_pages(processed):
    import pypdfium2 as pdfium

    for seed in SEEDS:
        src, out, _ = processed[(seed, "encapsulated_pdf")]
        before, after = pydicom.dcmread(src), pydicom.dcmread(out)
        assert after.MIMETypeOfEncapsulatedDocument == "application/pdf"
        new = _pdf(after)
        assert new.startswith(b"%PDF") and len(bytes(after.EncapsulatedDocument)) % 2 == 0
        verify_clean_pdf(new)
        old_doc, new_doc = pdfium.PdfDocument(_pdf(before)), pdfium.PdfDocument(new)
        assert len(new_doc) == len(old_doc)
        assert np.allclose(new_doc[0].get_size(), old_doc[0].get_size(), atol=1.0)
        assert new_doc[0].get_textpage().count_chars() == 0


def test_pdf_detector_boxes_are_painted(documents):
    """Boxes from the pixel detector (text drawn as graphics) are blanked too."""
    import pypdfium2 as pdfium

    class FakeDetector:
        def detect(self, image):
            h, w = image.shape[:2]
            return np.array([[w * 0.5, h * 0.8, w * 0.9, h * 0.9, 0.9]], dtype=np.float32)

    identity, paths = documents[SEEDS[0]]
    ds = pydicom.dcmread(paths["encapsulated_pdf"])
    idn = Identity.from_dataset(ds)
    deidentify_pdf(ds, idn, KEYRING, TextDeidentifier(idn, KEYRING), detector=FakeDetector(),
                   options=PdfOptions(dpi=100))
    page = np.asarray(pdfium.PdfDocument(_pdf(ds))[0].render(scale=100 / 72).to_pil().convert("L"))
    h, w = page.shape
    assert page[int(h * 0.82):int(h * 0.88), int(w * 0.55):int(w * 0.85)].max() < 40


def test_unsupported_documents_fail_closed(documents):
    _, paths = documents[SEEDS[0]]
    ds = pydicom.dcmread(paths["encapsulated_pdf"])
    idn = Identity.from_dataset(ds)
    td = TextDeidentifier(idn, KEYRING)
    ds.MIMETypeOfEncapsulatedDocument = "application/msword"
    with pytest.raises(DocumentError, match="not supported"):
        deidentify_pdf(ds, idn, KEYRING, td)
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = b"%PDF-1.4 broken"
    del ds.EncapsulatedDocumentLength
    with pytest.raises(DocumentError, match="cannot be opened"):
        deidentify_pdf(ds, idn, KEYRING, td)
    ecg = pydicom.dcmread(paths["ecg_12lead"])
    del ecg.WaveformSequence
    with pytest.raises(DocumentError):
        deidentify_waveform(ecg, idn, KEYRING, td)


def test_cda_xml_text_scrubbed(documents):
    identity, paths = documents[SEEDS[0]]
    ds = pydicom.dcmread(paths["encapsulated_pdf"])
    xml = (f'<?xml version="1.0"?><ClinicalDocument><recordTarget><patient><name>{identity.given} '
           f'{identity.family_name}</name><id extension="{identity.personal_code}"/></patient></recordTarget>'
           f"<text>{CLINICAL_SENTENCES[1]}</text></ClinicalDocument>").encode()
    ds.MIMETypeOfEncapsulatedDocument = "text/XML"
    ds.EncapsulatedDocument, ds.EncapsulatedDocumentLength = xml + b" ", len(xml)
    idn = Identity.from_dataset(ds)
    deidentify_pdf(ds, idn, KEYRING, TextDeidentifier(idn, KEYRING))
    out = bytes(ds.EncapsulatedDocument).decode()
    assert identity.family_name not in out and identity.personal_code not in out
    assert CLINICAL_SENTENCES[1] in out


def _pdf(ds) -> bytes:
    data = bytes(ds.EncapsulatedDocument)
    return data[: int(ds.EncapsulatedDocumentLength)] if ds.get("EncapsulatedDocumentLength") else data


def test_output_is_deterministic(documents):
    """process_file must be a pure function: the same input and key give the same bytes (resumable runs)."""
    from documents_fixtures import process
    _, paths = documents[SEEDS[0]]
    for stem in ("encapsulated_pdf", "sr_comprehensive"):
        assert process(paths[stem], KIND[stem], KEYRING)[1] == process(paths[stem], KIND[stem], KEYRING)[1]


def test_keep_tags_by_handler():
    from inference.documents import keep_tags
    assert int(pydicom.tag.Tag("ContentSequence")) in keep_tags("sr")
    assert int(pydicom.tag.Tag("EncapsulatedDocument")) in keep_tags("pdf")
    assert int(pydicom.tag.Tag("UnformattedTextValue")) in keep_tags("waveform")
    assert keep_tags("image") == frozenset()


def test_huge_pages_are_rendered_at_a_lower_dpi_with_the_same_page_size(documents):
    import pypdfium2 as pdfium

    _, paths = documents[SEEDS[0]]
    ds = pydicom.dcmread(paths["encapsulated_pdf"])
    before = pdfium.PdfDocument(_pdf(ds))[0].get_size()
    idn = Identity.from_dataset(ds)
    opts = PdfOptions(max_pixels=1_000_000)
    actions = deidentify_pdf(ds, idn, KEYRING, TextDeidentifier(idn, KEYRING), options=opts)
    assert "rasterised at 102 dpi" in actions[0]     # sqrt(1e6 px / (595 x 842 pt)) x 72
    assert np.allclose(pdfium.PdfDocument(_pdf(ds))[0].get_size(), before, atol=1.0)


def test_sr_alone_can_remap_uids_and_shift_dates(documents):
    """For callers without the header engine: the tree's own UIDs and dates, with the same keyring."""
    from inference.documents.sr import deidentify_sr

    _, paths = documents[SEEDS[0]]
    before = pydicom.dcmread(paths["sr_comprehensive"])
    ds = pydicom.dcmread(paths["sr_comprehensive"])
    idn = Identity.from_dataset(ds)
    deidentify_sr(ds, idn, KEYRING, TextDeidentifier(idn, KEYRING), uids_and_dates=True)
    ref = lambda d: d.ContentSequence[6].ContentSequence[2].ReferencedSOPSequence[0]  # noqa: E731
    assert ref(ds).ReferencedSOPInstanceUID == KEYRING.uid(ref(before).ReferencedSOPInstanceUID)
    assert ref(ds).ReferencedSOPClassUID == ref(before).ReferencedSOPClassUID
    shifted = dt.datetime.strptime(before.ContentSequence[4].Date, "%Y%m%d").date() + dt.timedelta(
        days=KEYRING.date_offset_days(str(before.PatientID)))
    assert ds.ContentSequence[4].Date == shifted.strftime("%Y%m%d")
