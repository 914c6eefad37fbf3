"""Text de-identifier: each detector on Lithuanian and English text, the patient's own values in every
rendering, keyed replacements, and clinical text that must come through unchanged."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from inference.keys import Keyring
from inference.textdeid import TextDeidentifier, TextDeidOptions, personal_code_valid
from inference.textdeid.fold import FoldedText, fold
from inference.textdeid.lexicon import declensions, female_surnames, load_lexicon
from synth.identity import DATE_STYLES, format_date, make_identity, personal_code

KEY = Keyring(b"medanon-test-key-0123456789abcdef")


class HeaderIdentity:
    """What inference.identity.Identity gives (values read from a header), without needing a dataset: a
    PersonalValues (inference/textdeid/identity_terms.py)."""

    name_parts: tuple[str, ...] = ()

    def __init__(self, name: str, pid: str, birth: str, extra: tuple[str, ...] = ()):
        self.patient_name, self.patient_id, self.birth_date = name, pid, birth
        self.patient_key = pid
        self.names = (name,)
        self._extra = extra

    def person_names(self) -> tuple[str, ...]:
        return self.names

    def tokens(self) -> list[str]:
        return list(self._extra)


@pytest.fixture(scope="module")
def jonas() -> TextDeidentifier:
    return TextDeidentifier(HeaderIdentity("Petraitis^Jonas", "LT1234567", "19800412"), KEY)


def kinds(td: TextDeidentifier, text: str) -> list[tuple[str, str]]:
    return [(s.kind, s.matched) for s in td.find(text)]


# ------------------------------------------------------------------------------------------ patient values
@pytest.mark.parametrize("text", [
    "Jonas Petraitis", "PETRAITIS JONAS", "Petraitis, Jonas", "petraitis jonas", "PETRAITIS^JONAS",
    "J. Petraitis", "Petraitis J.", "Petraitis\nJonas", "Jonas\r\n  Petraitis",
])
def test_patient_name_any_order_case_and_line_split_becomes_one_pseudonym(jonas, text):
    out = jonas.scrub(f"Pacientas {text} atvyko.")
    assert out == f"Pacientas {KEY.patient_name('Petraitis^Jonas')} atvyko."


def test_patient_initials_alone(jonas):
    assert kinds(jonas, "Apžiūrėjo J.P. ir P. J.; kitas A.B.") == [("PATIENT_NAME", "J.P."), ("PATIENT_NAME", "P. J.")]


def test_patient_name_inflected_and_without_diacritics():
    td = TextDeidentifier(HeaderIdentity("Žemaitienė^Rūta", "P-1", "19550101"), KEY)
    for text in ("Žemaitienės", "ZEMAITIENE", "Zemaitienei", "Rūtos", "RUTA", "ruta"):
        assert [k for k, _ in kinds(td, f"Apžiūrėta {text} namuose")] == ["PATIENT_NAME"], text
    petraitis = TextDeidentifier(HeaderIdentity("Petraitis^Jonas", "X", ""), KEY)
    assert kinds(petraitis, "Petraičio ir Jono tyrimas") == [("PATIENT_NAME", "Petraičio"), ("PATIENT_NAME", "Jono")]


def test_patient_pseudonym_matches_the_header_engines(jonas):
    assert jonas.patient_pseudonym == KEY.patient_name("Petraitis^Jonas")
    assert jonas.scrub("ID LT1234567.") == f"ID {KEY.patient_id('LT1234567')}."
    assert jonas.scrub("ID LT 123 4567") == f"ID {KEY.patient_id('LT1234567')}"


# ------------------------------------------------------------------------------------------ detectors
def test_personal_codes_valid_and_suspicious(jonas):
    rng = random.Random(4)
    code = personal_code(rng, dt.date(1980, 4, 12), "M")
    assert personal_code_valid(code)
    bad = code[:10] + str((int(code[10]) + 1) % 10)
    assert not personal_code_valid(bad)
    assert kinds(jonas, f"a.k. {code}; kitas {bad}; UID 1.2.{code}5") == [
        ("PERSONAL_CODE", code), ("ID", bad)]
    assert kinds(jonas, "Serija 123456789012, kodas 1234567890") == []


@pytest.mark.parametrize("text,expected", [
    ("2024-01-12", "2024-01-02"), ("2024.01.12", "2024.01.02"), ("12.01.2024", "02.01.2024"),
    ("12/01/2024", "02/01/2024"), ("01/25/2024", "01/15/2024"), ("20240112", "20240102"),
    ("12-JAN-2024", "02-JAN-2024"), ("02-JAN-2024", "23-DEC-2023"), ("12 January 2024", "2 January 2024"),
    ("January 12, 2024", "January 2, 2024"),
    ("2024 m. sausio 12 d.", "2024 m. sausio 2 d."), ("2024 m. vasario 5 d.", "2024 m. sausio 26 d."),
    ("2024 m. rugsėjo 5 d.", "2024 m. rugpjūčio 26 d."), ("2024 m. rugsejo 5 d.", "2024 m. rugpjucio 26 d."),
    ("12.01.24", "02.01.24"), ("2024-Sau-12", "2024-Sau-02"), ("202401121030", "202401021030"),
])
def test_dates_in_every_layout_shift_by_the_patient_offset(text, expected):
    td = TextDeidentifier(HeaderIdentity("X^Y", "PID-1", ""), KEY, TextDeidOptions())
    object.__setattr__(td, "date_offset", -10)
    assert kinds(td, f"Data: {text}.") == [("DATE", text)]
    assert td.scrub(f"Data: {text}.") == f"Data: {expected}."


def test_day_and_month_without_year_is_redacted(jonas):
    assert jonas.scrub("Atvyko lapkričio 5 d. ryte") == "Atvyko [REDACTED-DATE] ryte"


def test_date_offset_is_the_header_engines(jonas):
    assert jonas.date_offset == KEY.date_offset_days("LT1234567")
    redact = TextDeidentifier(HeaderIdentity("X^Y", "P", ""), KEY, TextDeidOptions(shift_dates=False))
    assert redact.scrub("gim. 1980-04-12") == "gim. [REDACTED-DATE]"


def test_birth_date_in_every_synth_style_is_found(jonas):
    for style in DATE_STYLES:
        text = format_date(dt.date(1980, 4, 12), style)
        assert [k for k, _ in kinds(jonas, f"gim. {text}")] == ["DATE"], (style, text)


@pytest.mark.parametrize("phone", ["+370 612 34567", "+37061234567", "8 612 34567", "861234567",
                                   "+370 (612) 34567", "8-612-34567", "(8 5) 212 3456", "+44 20 7946 0958"])
def test_phones(jonas, phone):
    assert kinds(jonas, f"Tel. {phone}, skambinti.") == [("PHONE", phone)]


def test_emails_and_addresses(jonas):
    text = ("Rašyti jonas.p@inbox.lt arba J_P+1@mail.example.com. Gyvena Gedimino pr. 9-12, LT-01103 Vilnius; "
            "anksčiau Dariaus ir Girėno g. 5, Kaune. Old address 221B Baker Street.")
    found = kinds(jonas, text)
    expected = [("EMAIL", "jonas.p@inbox.lt"), ("EMAIL", "J_P+1@mail.example.com"), ("ADDRESS", "Gedimino pr. 9-12"),
                ("ADDRESS", "LT-01103"), ("ADDRESS", "Vilnius"), ("ADDRESS", "Dariaus ir Girėno g. 5"),
                ("ADDRESS", "Kaune"), ("ADDRESS", "221B Baker Street")]
    for kind, value in expected:
        assert any(k == kind and value in m for k, m in found), (kind, value, found)


def test_lexicon_names_of_other_people(jonas):
    assert kinds(jonas, "Mr Nowakowski, DR. HOUSE") == [("NAME", "Nowakowski"), ("NAME", "HOUSE")]
    text = "Konsultavo gyd. Rasa Kazlauskienė ir Dr. Kowalczyk; slaugė ONA BUTKUTĖ, pranešta John Smith."
    out = jonas.scrub(text)
    for name in ("Kazlauskienė", "Kowalczyk", "ONA", "BUTKUTĖ", "John", "Smith"):
        assert name not in out, (name, out)
    assert out.startswith("Konsultavo gyd. [REDACTED-NAME] ir Dr. [REDACTED-NAME];")
    # a guarded given name (Rasa = dew) alone stays, next to a surname it goes
    assert jonas.scrub("Ryto rasa. Rasa Kazlauskienė.") == "Ryto rasa. [REDACTED-NAME]."


# ------------------------------------------------------------------------------------- clinical text kept
CLINICAL = [
    "Kairiojo plaučio viršutinėje skiltyje matomas 12 mm mazgas be kalcinatų, limfmazgiai nepadidėję.",
    "Širdies šešėlis nepadidėjęs, diafragmos kupolai lygūs, sinusai laisvi.",
    "Kepenys normalaus dydžio, struktūra homogeniška, tulžies latakai neišplėsti.",
    "Dešiniojo inksto viršutiniame poliuje 8 mm cista, Bosniak I.",
    "Rekomenduojama kontrolinė KT po 3 mėn., esant klinikinių indikacijų – anksčiau.",
    "Ritmas sinusinis, 72 k/min, elektrinė ašis normali, QTc 420 ms.",
    "Kairys plautis be židininių pakitimų. Dešinys inkstas be konkrementų.",
    "Tyrimas atliktas su kontrastine medžiaga (Omnipaque 350, 80 ml).",
    "Paciento būklė stabili, skausmo nėra. Gydytojas rekomenduoja kontrolę.",
    "No focal consolidation, pleural effusion or pneumothorax. Heart size within normal limits.",
    "Mark the lesion on the iris image; May consider biopsy in June if it grows.",
    "Mild degenerative changes at L4-L5 with a 3 mm disc bulge.",
    "Normal sinus rhythm, rate 72 bpm, BP 120/80 mmHg, SpO2 98 %, Temp 36.6 C.",
    "CTDIvol 12.5 mGy, DLP 450 mGy*cm, 5 mg/kg x 3 days, follow-up in 6 weeks.",
    "Findings consistent with Crohn disease; Parkinson and Alzheimer features absent.",
    "IMPRESSION: NORMAL STUDY. NO ACUTE FINDINGS.",
    "MR PELVIS WO CONTRAST; syngo MR E11; RX MAMMO CC 2D + MLO TOMO HD; DR chest PA view.",
    "MS lesions in the periventricular white matter, no enhancement.",
]


@pytest.mark.parametrize("sentence", CLINICAL)
def test_clinical_sentences_without_names_are_unchanged(sentence):
    for seed in (1, 2, 3):
        td = TextDeidentifier(make_identity(random.Random(seed)), KEY)
        assert td.scrub(sentence) == sentence


# ----------------------------------------------------------------------------------------------- data
def test_lexicon_is_broad_and_derives_gendered_forms():
    lex = load_lexicon()
    assert len(lex.given) > 1000 and len(lex.surnames) > 2000          # nominatives x case forms
    assert female_surnames("Kazlauskas") == ["Kazlauskienė", "Kazlauskaitė", "Kazlauskė"]
    assert "mickeviciute" in lex.surnames and "vaitkuviene" in lex.surnames and "zukauskiene" in lex.surnames
    assert "petraicio" in declensions("Petraitis")
    assert not lex.is_name("iris") and not lex.is_name("liepa") and not lex.is_name("kairys")


def test_lexicon_does_not_reuse_synth_name_lists():
    src = Path(__file__).resolve().parents[1] / "inference" / "textdeid"
    assert not any(("import synth" in p.read_text() or "from synth" in p.read_text()) for p in src.glob("*.py"))


def test_fold_maps_back_to_the_original():
    ft = FoldedText.of("ŽEMAITĖ ﬁ Ąžuolas")
    assert ft.folded == "zemaite fi azuolas"
    assert ft.to_original(0, 7) == (0, 7)
    assert fold("Šarūnas") == "sarunas"


def test_scrub_fits_a_vr_length(jonas):
    text = "J. Petraitis 38004121234"
    full = jonas.scrub(text)
    assert "[REDACTED-ID]" in full or "[REDACTED-PERSONAL_CODE]" in full
    short = jonas.scrub(text, max_len=16)
    assert len(short) <= 16 and "Petraitis" not in short and "3800412" not in short


def test_scrubbing_twice_keeps_the_replacements(jonas):
    once = jonas.scrub("Pacientas Jonas Petraitis, tel. +370 612 34567, Dr. Kowalczyk.")
    assert jonas.scrub(once) == once


@pytest.mark.parametrize("descriptor", [
    "Patient State", "Retain Patient Characteristics Option", "ANN", "SM_ANN", "UCLA Medical Plaza, Los Angeles",
    "Patient Name (0010'H,0010'H)", "syngo MR XA12", "RX MAMMO CC 2D + MLO TOMO HD", "Kairė krūtis, KT be kontrasto",
])
def test_header_descriptors_without_identity_are_unchanged(descriptor):
    """Kept header text (Clean Descriptors) and the auditor's identity-free use must not flag device words."""
    td = TextDeidentifier(None, KEY)
    assert td.find(descriptor) == [] and td.scrub(descriptor) == descriptor
