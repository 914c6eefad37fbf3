"""Text matching and generic detectors of the auditor: fast, no OCR."""
from __future__ import annotations

from inference.audit.detectors import find_generic
from inference.textdeid import personal_code_valid
from inference.audit.matching import PersonalValue, ValueMatcher, fold, mask

NAME = PersonalValue("name", "Žukauskas^Eglė")
VALUES = [NAME, PersonalValue("name", "Žukauskas"), PersonalValue("name", "Eglė"),
          PersonalValue("id", "49001011235"), PersonalValue("date", "19850312")]


def kinds(matches):
    return sorted({m.value.text for m in matches})


def test_fold_drops_diacritics_and_separators():
    assert fold("Žukauskas^Eglė") == "ZUKAUSKAS EGLE"
    assert fold("Šiaulių  ligoninė,") == "SIAULIU LIGONINE"


def test_whole_values_found_despite_ocr_noise():
    m = ValueMatcher(VALUES)
    assert "Žukauskas^Eglė" in kinds(m.find("ZUKAUSKAS EGLE"))
    assert "Žukauskas" in kinds(m.find("Zukauskaz, Egle"))           # one OCR slip
    assert "19850312" in kinds(m.find("gim. 12.03.1985"))            # date in another order
    assert "19850312" in kinds(m.find("1985-03-12"))


def test_fragments_only_when_asked():
    m = ValueMatcher(VALUES)
    assert m.find("USKAS") == []                                       # headers: whole words only
    assert "Žukauskas" in kinds(m.find("USKAS", fragments=True))       # pixels: the tail of a half-blanked box
    assert "Žukauskas" in kinds(m.find("ZUKAU", fragments=True))       # ... or its head
    assert "49001011235" in kinds(m.find("011235", fragments=True))
    assert "19850312" in kinds(m.find("0312", fragments=True))          # half of a date, alone on its line
    assert m.find("Im 0312 W 1729", fragments=True) == []               # four digits among others: too weak


def test_no_match_on_technical_text():
    m = ValueMatcher(VALUES + [PersonalValue("name", "ANN"), PersonalValue("name", "Jūratė")])
    for text in ("SCANNER 12 cm", "Gain 52 FPS 30", "MI 1.2 TIS 0.4", "kV 120 HFS", "C5-1", "Vent. rate 66 BPM",
                 "KAUSK"):
        assert m.find(text, fragments=True) == [], text


def test_personal_code_check_digit():
    assert personal_code_valid("38703181745")
    assert not personal_code_valid("38703181746")     # wrong check digit
    assert not personal_code_valid("38713181745")     # month 13


def test_generic_detectors():
    text = "Gim. 1985-03-12, tel. +370 612 34567, el. p. jonas@ligonine.lt, Vilniaus g. 12-3, 38703181745"
    found = {h.kind for h in find_generic(text)}
    assert {"birth_date", "phone", "email", "address", "personal_code"} <= found
    assert not [h for h in find_generic("Tyrimas 2023-01-05, kV 120") if h.kind == "birth_date"]


def test_mask_hides_the_value():
    assert mask("PETRAITIS") == "P*******S (9 chars)"
    assert "ETRAITI" not in mask("PETRAITIS")
