"""Synthetic non-image objects carrying one fake identity: SR, Encapsulated PDF, 12-lead ECG, scanned form (SC).

Why: the document handlers must be tested on objects that put the identity everywhere a hospital system does
(SR TEXT/PNAME/DATE items, nested containers, observer context; PDF text layer, page header, Info + XMP
metadata, an attachment and JavaScript; ECG annotations; a scanned form), next to clinical text without names
that must survive unchanged. ``CLINICAL_SENTENCES`` are those sentences, so tests can check them.

Public API: ``generate_documents(identity, out_dir, rng) -> list[Path]`` and the single builders
``make_sr``, ``make_pdf_bytes``, ``make_encapsulated_pdf``, ``make_ecg``, ``make_scanned_form``.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID, UID

from synth.identity import Identity

SOP_BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
SOP_COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
SOP_ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
SOP_12LEAD_ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"
SOP_SC = "1.2.840.10008.5.1.4.1.1.7"
SOP_CT = "1.2.840.10008.5.1.4.1.1.2"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

# Clinical text with no personal data: must come out of de-identification byte for byte.
CLINICAL_SENTENCES = (
    "Kairiojo plaučio viršutinėje skiltyje matomas 12 mm mazgas be kalcinatų, limfmazgiai nepadidėję.",
    "No focal consolidation, pleural effusion or pneumothorax. Heart size within normal limits.",
    "Sinusinis ritmas, 72 k/min, QRS ašis normali, ST segmento pakitimų nėra.",
)


def _uid(rng: random.Random) -> UID:
    return UID("2.25." + str(rng.getrandbits(120)))


def _da(d: dt.date) -> str:
    return d.strftime("%Y%m%d")


def _tm(t: dt.time) -> str:
    return t.strftime("%H%M%S")


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def _common_header(identity: Identity, rng: random.Random, sop_class: str, modality: str,
                   study_uid: UID | None = None) -> Dataset:
    """Patient, General Study, series/equipment basics and SOP Common, all carrying the identity."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = _uid(rng)
    ds.InstanceCreationDate = _da(identity.exam_date)
    ds.InstanceCreationTime = _tm(identity.exam_time)
    ds.PatientName = identity.dicom_name
    ds.PatientID = identity.patient_id
    ds.PatientBirthDate = _da(identity.birth_date)
    ds.PatientSex = identity.sex
    ds.PatientAddress = identity.address
    ds.PatientTelephoneNumbers = identity.phone
    ds.OtherPatientIDsSequence = [Dataset()]
    ds.OtherPatientIDsSequence[0].PatientID = identity.personal_code
    ds.OtherPatientIDsSequence[0].TypeOfPatientID = "TEXT"
    ds.StudyInstanceUID = study_uid or _uid(rng)
    ds.StudyDate = ds.ContentDate = _da(identity.exam_date)
    ds.StudyTime = ds.ContentTime = _tm(identity.exam_time)
    ds.ReferringPhysicianName = identity.doctor_name("referring", "dicom")
    ds.StudyID = str(rng.randrange(1, 99999))
    ds.AccessionNumber = identity.accession
    ds.Modality = modality
    ds.SeriesInstanceUID = _uid(rng)
    ds.SeriesNumber = rng.randrange(1, 50)
    ds.InstanceNumber = 1
    ds.Manufacturer = "medanon synth"
    ds.InstitutionName = identity.hospital[:64]
    return ds


def _finish(ds: Dataset) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    return ds


# ------------------------------------------------------------------------------------------------------ SR
def _item(rel: str, vt: str, concept: tuple[str, str, str], **values) -> Dataset:
    it = Dataset()
    it.RelationshipType = rel
    it.ValueType = vt
    it.ConceptNameCodeSequence = [_code(*concept)]
    for k, v in values.items():
        setattr(it, k, v)
    return it


def _container(rel: str, concept: tuple[str, str, str], children: list[Dataset]) -> Dataset:
    c = _item(rel, "CONTAINER", concept, ContinuityOfContent="SEPARATE")
    c.ContentSequence = Sequence(children)
    return c


def history_text(identity: Identity) -> str:
    """Free text the way a referral is typed: name, code, birth date, phone, address, referring doctor."""
    return (f"Pacientas {identity.given} {identity.family_name}, a.k. {identity.personal_code}, gim. "
            f"{identity.date('birth', 'lt_long')}, tel. {identity.phone}, gyv. {identity.address}. "
            f"Siuntė {identity.doctor_name('referring', 'initial')}. Ligos istorija Nr. {identity.patient_id}.")


def conclusion_text(identity: Identity) -> str:
    upper = identity.names.get("upper_comma", identity.dicom_name)
    return (f"{upper} ({identity.date('birth', 'dots_dmy')}): rekomenduojama KT kontrolė po 3 mėn.\n"
            f"Kontaktai: {identity.email}, {identity.phone}. Tyrimo Nr. {identity.accession}, "
            f"{identity.date('exam', 'iso')}.\n{identity.family_name}\n{identity.given}")


def make_sr(identity: Identity, rng: random.Random, sop_class: str = SOP_COMPREHENSIVE_SR) -> Dataset:
    """An SR with nested containers; PNAME/DATE/TIME/DATETIME/TEXT/UIDREF/IMAGE items carrying the identity."""
    ds = _common_header(identity, rng, sop_class, "SR")
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "VERIFIED"
    obs = Dataset()
    obs.VerifyingObserverName = identity.doctor_name("performing", "dicom")
    obs.VerifyingOrganization = identity.hospital[:64]
    obs.VerificationDateTime = _da(identity.exam_date) + _tm(identity.exam_time)
    obs.VerifyingObserverIdentificationCodeSequence = []
    ds.VerifyingObserverSequence = [obs]
    ds.PerformedProcedureCodeSequence = []
    image_uid, image_series = _uid(rng), _uid(rng)
    ref = Dataset()
    ref.ReferencedSOPClassUID = SOP_CT
    ref.ReferencedSOPInstanceUID = image_uid
    series = Dataset()
    series.SeriesInstanceUID = image_series
    series.ReferencedSOPSequence = [ref]
    study = Dataset()
    study.StudyInstanceUID = ds.StudyInstanceUID
    study.ReferencedSeriesSequence = [series]
    ds.CurrentRequestedProcedureEvidenceSequence = [study]

    img = _item("CONTAINS", "IMAGE", ("121200", "DCM", "Illustration of ROI"))
    img_ref = Dataset()
    img_ref.ReferencedSOPClassUID = SOP_CT
    img_ref.ReferencedSOPInstanceUID = image_uid
    img.ReferencedSOPSequence = [img_ref]
    doctor = identity.doctor_name("performing", "dicom")
    tree = [
        _item("HAS OBS CONTEXT", "PNAME", ("121008", "DCM", "Person Observer Name"), PersonName=doctor),
        _item("HAS OBS CONTEXT", "TEXT", ("121009", "DCM", "Person Observer's Organization Name"),
              TextValue=identity.hospital),
        _item("HAS OBS CONTEXT", "PNAME", ("121029", "DCM", "Subject Name"), PersonName=identity.dicom_name),
        _item("HAS OBS CONTEXT", "TEXT", ("121030", "DCM", "Subject ID"), TextValue=identity.patient_id),
        _item("HAS OBS CONTEXT", "DATE", ("121031", "DCM", "Subject Birth Date"), Date=_da(identity.birth_date)),
        _container("CONTAINS", ("121060", "DCM", "History"), [
            _item("CONTAINS", "TEXT", ("121060", "DCM", "History"), TextValue=history_text(identity)),
            _item("CONTAINS", "DATE", ("111060", "DCM", "Study Date"), Date=_da(identity.exam_date)),
            _item("CONTAINS", "TIME", ("111061", "DCM", "Study Time"), Time=_tm(identity.exam_time)),
            _item("CONTAINS", "UIDREF", ("121018", "DCM", "Procedure Study Instance UID"),
                  UID=ds.StudyInstanceUID),
        ]),
        _container("CONTAINS", ("121070", "DCM", "Findings"), [
            _item("CONTAINS", "TEXT", ("121071", "DCM", "Finding"), TextValue=CLINICAL_SENTENCES[0]),
            _item("CONTAINS", "TEXT", ("121071", "DCM", "Finding"), TextValue=CLINICAL_SENTENCES[1]),
            img,
            _container("CONTAINS", ("121076", "DCM", "Conclusions"), [
                _item("CONTAINS", "TEXT", ("121077", "DCM", "Conclusion"), TextValue=conclusion_text(identity)),
                _item("CONTAINS", "PNAME", ("121008", "DCM", "Person Observer Name"),
                      PersonName=identity.doctor_name("referring", "dicom")),
                _item("CONTAINS", "DATETIME", ("111526", "DCM", "DateTime Started"),
                      DateTime=_da(identity.exam_date) + _tm(identity.exam_time)),
            ]),
        ]),
    ]
    if sop_class == SOP_BASIC_TEXT_SR:
        tree = [t for t in tree if t.ValueType != "IMAGE"] + [img]
    root_concept = ("18748-4", "LN", "Diagnostic Imaging Report")
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = [_code(*root_concept)]
    ds.ContinuityOfContent = "SEPARATE"
    ds.ContentSequence = Sequence(tree)
    return _finish(ds)


# ----------------------------------------------------------------------------------------------------- PDF
def make_pdf_bytes(identity: Identity) -> bytes:
    """A one-page report with a real text layer (embedded DejaVu, Lithuanian letters), the identity in the
    page header and body, Info + XMP metadata with the name, an attached file and document JavaScript."""
    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter

    pdf = FPDF(format="A4")
    # a fixed creation date (the exam's): the same seed must give the same bytes
    pdf.set_creation_date(dt.datetime.combine(identity.exam_date, dt.time(12, 0), tzinfo=dt.timezone.utc))
    pdf.add_font("DejaVu", "", FONT)
    pdf.set_title(f"Tyrimo aprašas - {identity.given} {identity.family_name}")
    pdf.set_author(identity.doctor_name("performing"))
    pdf.set_subject(f"a.k. {identity.personal_code}")
    pdf.set_keywords(f"{identity.patient_id} {identity.accession}")
    pdf.set_creator("medanon synth")
    pdf.set_xmp_metadata(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:creator><rdf:Seq><rdf:li>{identity.given} {identity.family_name}</rdf:li></rdf:Seq></dc:creator>"
        f"<dc:description>{identity.personal_code}</dc:description>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>")
    pdf.add_page()
    pdf.set_font("DejaVu", size=9)
    pdf.cell(0, 5, f"{identity.hospital} | {identity.department}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, f"Pacientas: {identity.names['upper_family_given']}   a.k. {identity.personal_code}",
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("DejaVu", size=11)
    body = [
        f"Vardas, pavardė: {identity.given} {identity.family_name}",
        f"Gimimo data: {identity.date('birth', 'iso')}    Tel.: {identity.phone}",
        f"Adresas: {identity.address}",
        f"El. paštas: {identity.email}",
        f"Tyrimo Nr.: {identity.accession}   Data: {identity.date('exam', 'lt_long')}",
        f"Siuntė: {identity.doctor_name('referring')}",
        "",
        "Išvada:",
        CLINICAL_SENTENCES[0],
        CLINICAL_SENTENCES[1],
        "",
        f"Gydytojas: {identity.doctor_name('performing')}",
    ]
    for line in body:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    raw = bytes(pdf.output())
    from hashlib import md5
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(raw)))
    writer.add_attachment("pacientas.txt", f"{identity.dicom_name} {identity.personal_code}".encode())
    import uuid
    from unittest import mock

    from pypdf.actions import JavaScript
    # pypdf names the script with uuid4(): derive it from the content so a seed gives the same bytes
    with mock.patch.object(uuid, "uuid4", return_value=uuid.UUID(bytes=md5(raw).digest())):
        writer.add_open_action(JavaScript(f"app.alert('{identity.patient_id}');"))
    from pypdf.generic import ArrayObject, ByteStringObject
    file_id = ByteStringObject(md5(raw).digest())  # pypdf's default /ID is time-based: derive it from content
    writer._ID = ArrayObject([file_id, file_id])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_encapsulated_pdf(identity: Identity, rng: random.Random) -> Dataset:
    """Encapsulated PDF Storage with the report above and a document title naming the patient."""
    ds = _common_header(identity, rng, SOP_ENCAPSULATED_PDF, "DOC")
    ds.ConversionType = "WSD"
    ds.AcquisitionDateTime = _da(identity.exam_date) + _tm(identity.exam_time)
    ds.BurnedInAnnotation = "YES"
    ds.RecognizableVisualFeatures = "NO"
    ds.DocumentTitle = f"Tyrimo aprašas {identity.family_name} {identity.date('exam', 'iso')}"
    ds.ConceptNameCodeSequence = [_code("18748-4", "LN", "Diagnostic Imaging Report")]
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    data = make_pdf_bytes(identity)
    ds.EncapsulatedDocumentLength = len(data)
    ds.EncapsulatedDocument = data + (b"\x00" if len(data) % 2 else b"")
    return _finish(ds)


# ----------------------------------------------------------------------------------------------------- ECG
_LEADS = (("5.6.3-9-1", "Lead I (Einthoven)"), ("5.6.3-9-2", "Lead II"), ("5.6.3-9-61", "Lead III"),
          ("5.6.3-9-62", "aVR, augmented voltage, right"), ("5.6.3-9-63", "aVL, augmented voltage, left"),
          ("5.6.3-9-64", "aVF, augmented voltage, foot"), ("5.6.3-9-3", "Lead V1"), ("5.6.3-9-4", "Lead V2"),
          ("5.6.3-9-5", "Lead V3"), ("5.6.3-9-6", "Lead V4"), ("5.6.3-9-7", "Lead V5"), ("5.6.3-9-8", "Lead V6"))


def ecg_samples(rng: random.Random, n: int = 5000, fs: float = 500.0) -> np.ndarray:
    """(n, 12) int16: a sine-like beat train per lead (72 bpm) with a little noise."""
    t = np.arange(n) / fs
    beat = 72 / 60
    phase = (t * beat) % 1.0
    qrs = np.exp(-((phase - 0.3) / 0.015) ** 2) * 1000 - np.exp(-((phase - 0.33) / 0.01) ** 2) * 200
    pt = 150 * np.exp(-((phase - 0.12) / 0.04) ** 2) + 250 * np.exp(-((phase - 0.55) / 0.06) ** 2)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 8, (n, 12))
    gains = np.array([1, 1.2, 0.4, -0.9, 0.5, 0.8, -0.6, 0.3, 0.7, 1.1, 1.0, 0.8])
    base = (qrs + pt)[:, None] * gains[None, :] + 30 * np.sin(2 * math.pi * 0.2 * t)[:, None]
    return np.clip(base + noise, -32768, 32767).astype("<i2")


def make_ecg(identity: Identity, rng: random.Random) -> Dataset:
    """12-lead ECG Waveform Storage: 10 s at 500 Hz, annotations naming the patient, acquisition context."""
    ds = _common_header(identity, rng, SOP_12LEAD_ECG, "ECG")
    ds.AcquisitionDateTime = _da(identity.exam_date) + _tm(identity.exam_time)
    samples = ecg_samples(rng)
    group = Dataset()
    group.WaveformOriginality = "ORIGINAL"
    group.NumberOfWaveformChannels = 12
    group.NumberOfWaveformSamples = samples.shape[0]
    group.SamplingFrequency = "500"
    group.MultiplexGroupLabel = "RHYTHM"
    channels = []
    for code, meaning in _LEADS:
        ch = Dataset()
        src = _code(code, "SCPECG", meaning)
        src.CodingSchemeVersion = "1.3"
        ch.ChannelSourceSequence = [src]
        ch.ChannelSensitivity = "1"
        units = _code("uV", "UCUM", "microvolt")
        units.CodingSchemeVersion = "1.4"
        ch.ChannelSensitivityUnitsSequence = [units]
        ch.ChannelSensitivityCorrectionFactor = "1"
        ch.ChannelBaseline = "0"
        ch.ChannelSampleSkew = "0"
        ch.WaveformBitsStored = 16
        ch.FilterLowFrequency = "0.05"
        ch.FilterHighFrequency = "150"
        channels.append(ch)
    group.ChannelDefinitionSequence = channels
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    group.WaveformData = samples.tobytes()
    ds.WaveformSequence = [group]
    ctx = Dataset()
    ctx.ValueType = "CODE"
    ctx.ConceptNameCodeSequence = [_code("5.4.5-33-1", "SCPECG", "Electrode Placement")]
    ctx.ConceptCodeSequence = [_code("5.4.5-33-1-1", "SCPECG",
                                     "Standard 12-lead positions: limb leads placed at extremities")]
    ctx.ConceptNameCodeSequence[0].CodingSchemeVersion = ctx.ConceptCodeSequence[0].CodingSchemeVersion = "1.3"
    note = Dataset()
    note.ValueType = "TEXT"
    note.ConceptNameCodeSequence = [_code("121106", "DCM", "Comment")]
    note.TextValue = f"Užrašė {identity.doctor_name('performing')}, pacientas {identity.family_name}"
    ds.AcquisitionContextSequence = [ctx, note]
    annotations = []
    for text in (CLINICAL_SENTENCES[2],
                 f"Pacientas {identity.names['upper_given_family']}, gim. {identity.date('birth', 'slash_dmy')}",
                 f"Tel. {identity.phone}; a.k. {identity.personal_code}"):
        a = Dataset()
        a.UnformattedTextValue = text
        a.ReferencedWaveformChannels = [1, 0]
        a.AnnotationGroupNumber = 0
        annotations.append(a)
    ds.WaveformAnnotationSequence = annotations
    return _finish(ds)


# --------------------------------------------------------------------------------------------- scanned form
def form_image(identity: Identity, size: tuple[int, int] = (1000, 700)) -> np.ndarray:
    """A grey 'scanned' request form with the identity typed in (8-bit)."""
    img = Image.new("L", size, 235)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 26)
    small = ImageFont.truetype(FONT, 20)
    draw.text((40, 30), "SIUNTIMAS TYRIMUI / REQUEST FORM", fill=20, font=font)
    lines = [
        f"Vardas, pavardė: {identity.given} {identity.family_name}",
        f"Asmens kodas: {identity.personal_code}",
        f"Gimimo data: {identity.date('birth', 'dots_dmy')}",
        f"Adresas: {identity.address}",
        f"Tel.: {identity.phone}",
        f"Siuntė: {identity.doctor_name('referring')}",
        CLINICAL_SENTENCES[1][:60],
    ]
    for i, line in enumerate(lines):
        draw.text((40, 100 + i * 60), line, fill=30, font=small)
        draw.line((40, 128 + i * 60, 960, 128 + i * 60), fill=150)
    return np.asarray(img, dtype=np.uint8)


def make_scanned_form(identity: Identity, rng: random.Random) -> Dataset:
    """Secondary Capture (scanned document) of the form above: goes through the pixel pipeline."""
    ds = _common_header(identity, rng, SOP_SC, "OT")
    ds.ConversionType = "SD"
    ds.PatientOrientation = ""
    ds.Laterality = ""
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.BurnedInAnnotation = "YES"
    pixels = form_image(identity)
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.tobytes()
    return _finish(ds)


# ------------------------------------------------------------------------------------------------- all
def generate_documents(identity: Identity, out_dir: Path, rng: random.Random) -> list[Path]:
    """Write one of each document object for ``identity`` into ``out_dir``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    study_objects = {
        "sr_comprehensive.dcm": make_sr(identity, rng, SOP_COMPREHENSIVE_SR),
        "sr_basic_text.dcm": make_sr(identity, rng, SOP_BASIC_TEXT_SR),
        "encapsulated_pdf.dcm": make_encapsulated_pdf(identity, rng),
        "ecg_12lead.dcm": make_ecg(identity, rng),
        "scanned_form_sc.dcm": make_scanned_form(identity, rng),
    }
    paths = []
    for name, ds in study_objects.items():
        path = out_dir / name
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


if __name__ == "__main__":  # python -m synth.documents OUT_DIR [SEED]
    import sys

    from synth.identity import make_identity

    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    r = random.Random(seed)
    for p in generate_documents(make_identity(r), Path(sys.argv[1]), r):
        print(p)
