"""Fake Lithuanian identities: personal-code check digit, name forms, date styles, determinism."""
import datetime as dt
import random

import pytest

from synth.identity import (DATE_STYLES, female_surname, format_date, make_identity, personal_code_check_digit,
                            valid_personal_code)


def test_known_personal_codes():
    assert valid_personal_code("38703181745")           # the public textbook example
    assert not valid_personal_code("38703181746")       # wrong check digit
    assert not valid_personal_code("38713181745")       # month 13
    assert not valid_personal_code("3870318174")        # 10 digits
    assert not valid_personal_code("78703181745")       # no such century digit


def test_second_pass_weights_used():
    # 10-digit heads whose first-pass rest is 10 need the 3456789123 pass
    heads = [f"3870318{k:03d}" for k in range(1000)]
    first_pass_10 = [h for h in heads if sum(int(c) * w for c, w in zip(h, (1, 2, 3, 4, 5, 6, 7, 8, 9, 1))) % 11 == 10]
    assert first_pass_10, "test data must exercise the second pass"
    for h in first_pass_10:
        second = sum(int(c) * w for c, w in zip(h, (3, 4, 5, 6, 7, 8, 9, 1, 2, 3))) % 11
        assert personal_code_check_digit(h) == (0 if second == 10 else second)


def test_identities_are_valid_and_consistent():
    for seed in range(400):
        idt = make_identity(random.Random(seed))
        code = idt.personal_code
        assert valid_personal_code(code), code
        assert code[1:7] == idt.birth_date.strftime("%y%m%d")
        assert (int(code[0]) % 2 == 0) == (idt.sex == "F")
        assert idt.birth_date <= idt.exam_date
        assert idt.phone.replace(" ", "").replace("(", "").replace(")", "").lstrip("+").startswith(("3706", "86"))
        toks = idt.tokens()
        assert code in toks and idt.family_name in toks and idt.accession in toks
        assert format_date(idt.birth_date, "iso") in toks


def test_female_surname_forms():
    assert female_surname("Kazlauskas", married=True) == "Kazlauskienė"
    assert female_surname("Kazlauskas", married=False) == "Kazlauskaitė"
    assert female_surname("Stankevičius", married=False) == "Stankevičiūtė"
    assert female_surname("Butkus", married=False) == "Butkutė"
    assert female_surname("Adomaitis", married=False) == "Adomaitytė"
    forms = {make_identity(random.Random(s)).surname_form for s in range(300)}
    assert {"male", "married", "unmarried", "foreign"} <= forms


def test_diacritics_and_determinism():
    ids = [make_identity(random.Random(s)) for s in range(200)]
    assert any(set("ąčęėįšųūžĄČĘĖĮŠŲŪŽ") & set(i.dicom_name) for i in ids)
    assert make_identity(random.Random(7)) == make_identity(random.Random(7))


@pytest.mark.parametrize("style", DATE_STYLES)
def test_date_styles(style):
    s = format_date(dt.date(2024, 1, 12), style)
    assert ("12" in s) and ("2024" in s or "24" in s)
    assert format_date(dt.date(2024, 1, 12), "lt_long") == "2024 m. sausio 12 d."
    with pytest.raises(ValueError):
        format_date(dt.date(2024, 1, 12), "nonsense")
