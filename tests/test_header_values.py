"""Date shifting and dummy values: partial dates, ranges, time zones, legacy forms, unparsable input."""
from __future__ import annotations

import pytest

from inference.header.values import DateParseError, dummy_value, shift_da, shift_date_value, shift_dt
from inference.identity import Identity
from inference.keys import Keyring
from inference.textdeid import TextDeidentifier, personal_code_valid

from header_fixtures import KEY


@pytest.mark.parametrize("value, days, expected", [
    ("20240301", -1, "20240229"),            # leap day
    ("2024.03.01", -1, "20240229"),          # ACR-NEMA legacy form, written back as DA
    ("20240101-20240301", -10, "20231222-20240220"),  # range: both ends, interval kept
    ("-20240301", -1, "-20240229"),          # open range
    ("00950724", -30, "00950624"),           # 4-digit year kept below year 1000
])
def test_shift_da(value, days, expected):
    assert shift_da(value, days) == expected


@pytest.mark.parametrize("value, days, expected", [
    ("20240301101733.123456+0200", -1, "20240229101733.123456+0200"),
    ("20240301101733-0500", -1, "20240229101733-0500"),  # negative UTC offset is not a range
    ("2024", -1, "2023"),                    # year precision kept
    ("202403", -1, "202402"),
    ("20240301-20240401", -1, "20240229-20240331"),
])
def test_shift_dt(value, days, expected):
    assert shift_dt(value, days) == expected


@pytest.mark.parametrize("value", ["20241345", "yesterday", "2024-03-01x", "01/03/2024"])
def test_unparsable_dates_raise(value):
    with pytest.raises(DateParseError):
        shift_date_value("DA", value, -3)


def test_multivalued_dates():
    assert shift_date_value("DA", "20240301\\20240302", -1) == "20240229\\20240301"


def test_dummy_values_fit_their_vr_and_are_keyed():
    kr = Keyring(KEY)
    sh = dummy_value("SH", "Petraitis", "StationName", kr.pseudonym)
    assert len(sh) <= 16 and "Petraitis" not in sh
    assert sh == dummy_value("SH", "Petraitis", "StationName", kr.pseudonym)
    assert dummy_value("PN", "Doe^John", "PerformingPhysicianName", kr.pseudonym).startswith("ANON^")
    assert dummy_value("DA", "20240301", "X", kr.pseudonym) == "19000101"
    with pytest.raises(ValueError):
        dummy_value("UI", "1.2.3", "X", kr.pseudonym)


def test_asmens_kodas_check_digit():
    assert personal_code_valid("33309240064")  # the well-known example code
    assert not personal_code_valid("33309240065")


def test_cleaner_removes_names_ids_codes_and_folded_forms():
    """deidentify_dataset's default cleaner (TextDeidentifier.scrub, the pipeline's): the library call too."""
    ident = Identity(patient_id="LT-77", names=("Žemaitienė^Ona",), ids=("LT-771",), dates=("19700102",))
    clean = TextDeidentifier(ident, Keyring(b"k" * 32)).scrub
    text = "Ona Žemaitienė (Zemaitiene), ID LT-771, a.k. 47001020123, gim. 1970-01-02; Onaitis lieka"
    out = clean(text)
    for gone in ("Žemaitienė", "Zemaitiene", "LT-771", "47001020123", "1970-01-02"):
        assert gone not in out
    assert "Onaitis lieka" in out  # word boundaries: a name part inside another word stays
