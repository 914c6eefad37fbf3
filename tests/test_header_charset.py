"""Lithuanian names and text in ISO_IR 192 / 100 / 110 (Latin-4) / 179 (Latin-7) inputs: decoded right,
identity read right, kept text written back as UTF-8 with ISO_IR 192 declared, nothing mojibake."""
from __future__ import annotations

from io import BytesIO

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from inference.header import deidentify_dataset, load_profile
from inference.identity import Identity, fold_ascii
from inference.keys import Keyring

from header_fixtures import KEY, new_file_dataset

LT_NAME = "Žemaitienė^Ona"
LT_TEXT = "Krūtinės ląstos rentgenograma, pacientė Žemaitienė"
LT_KEPT = "Krūtinės ląstos rentgenograma"
CASES = {  # charset -> (python codec, patient name, study description, clinical words that must survive)
    "ISO_IR 192": ("utf-8", LT_NAME, LT_TEXT, LT_KEPT),
    "ISO_IR 110": ("iso8859_4", LT_NAME, LT_TEXT, LT_KEPT),
    "ISO_IR 179": ("iso8859_13", LT_NAME, LT_TEXT, LT_KEPT),
    # Latin-1 has no Lithuanian letters: an ASCII Lithuanian name with Latin-1 text around it
    "ISO_IR 100": ("latin_1", "Jonaitis^Jonas", "Röntgen Thorax Jonaitis Jonas", "Röntgen Thorax"),
}


def encoded_file(charset: str) -> bytes:
    codec, name, text, _ = CASES[charset]
    ds = new_file_dataset()
    ds.SpecificCharacterSet = charset
    ds.PatientName = name
    ds.PatientID = "P-77"
    ds.StudyDescription = text
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "T-D3000", "SRT", text
    ds.ProcedureCodeSequence = Sequence([item])
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    raw = buf.getvalue()
    assert text.encode(codec) in raw, "test data must really be in the declared charset"
    return raw


@pytest.mark.parametrize("charset", list(CASES))
def test_lithuanian_text_survives_and_output_is_utf8(charset):
    codec, name, text, kept = CASES[charset]
    ds = pydicom.dcmread(BytesIO(encoded_file(charset)))
    identity = Identity.from_dataset(ds)
    assert identity.patient_name == name
    family = name.split("^")[0]
    assert family in identity.tokens() and fold_ascii(family) in identity.tokens()

    deidentify_dataset(ds, load_profile("basic"), Keyring(KEY))
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    raw = buf.getvalue()
    out = pydicom.dcmread(BytesIO(raw))
    assert out.SpecificCharacterSet == "ISO_IR 192"
    assert kept.encode("utf-8") in raw  # re-encoded, not copied from the input bytes
    for value in (out.StudyDescription, out.ProcedureCodeSequence[0].CodeMeaning):
        assert value.startswith(kept)
        assert family not in value and fold_ascii(family) not in value
        assert "\ufffd" not in value
    assert str(out.PatientName).startswith("ANON^")


def test_non_ascii_replacement_on_latin1_input_switches_to_utf8(tmp_path):
    profile_path = tmp_path / "p.yaml"
    profile_path.write_text("extends: basic\noverrides:\n  InstitutionName: {value: 'Kauno klinikos, Ąžuolų g.'}\n",
                            encoding="utf-8")
    ds = pydicom.dcmread(BytesIO(encoded_file("ISO_IR 100")))
    ds.InstitutionName = "Klinik"
    deidentify_dataset(ds, load_profile(profile_path), Keyring(KEY))
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    out = pydicom.dcmread(BytesIO(buf.getvalue()))
    assert out.SpecificCharacterSet == "ISO_IR 192"
    assert out.InstitutionName == "Kauno klinikos, Ąžuolų g."
    assert out.StudyDescription.startswith("Röntgen Thorax")


def test_ascii_output_keeps_input_charset():
    ds = pydicom.dcmread(BytesIO(encoded_file("ISO_IR 100")))
    ds.StudyDescription = "Thorax"
    ds.ProcedureCodeSequence[0].CodeMeaning = "Thorax"
    report = deidentify_dataset(ds, load_profile("basic"), Keyring(KEY))
    assert report.charset == "ISO_IR 100"
