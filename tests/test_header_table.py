"""Generated from PS3.15 Table E.1-1 itself (the shared extract, not our committed copy): every row with a
concrete tag is put in a dataset, at top level and nested in a sequence item, and the output must follow
the row's column for the Basic Profile, each option alone, and combinations of options.

The expectation is the standard's meaning of each code, written here independently of the engine:
X absent; Z present and empty; D present, non-empty, not the original; K unchanged; C cleaned
(dates shifted by the keyed offset, text kept without identifying values); U remapped with the key;
compound codes accept any of their members.
"""
from __future__ import annotations

import json

import pytest
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from inference.header import Profile, SafePrivate, deidentify_dataset
from inference.header.build_table import OPTIONS, build
from inference.header.state import POLICY_PATH
from inference.header.table import TABLE_PATH
from inference.header.values import shift_date_value
from inference.identity import Identity
from inference.keys import Keyring

from conftest import require_shared
from header_fixtures import KEY, OPTION_COLUMNS, STANDARD_TABLE, standard_rows



@pytest.fixture(autouse=True)
def _standard_present() -> None:
    require_shared(STANDARD_TABLE)  # missing shared data fails (conftest.require_shared)


NEST = 0x00081115  # Referenced Series Sequence: not in Table E.1-1, walked normally
ITEM_UID = "1.2.826.0.1.3680043.99.1"
COLUMN_TO_OPTION = {col: name for name, (col, _, _) in OPTIONS.items()}
# each option alone, then combinations where columns compete on one row (e.g. Calibration Date: rtnDevIdOpt K,
# rtnLongModifDatesOpt C): an enabled K (retain) beats an enabled C (clean), which beats the Basic Profile.
COMBOS = [("rtnLongModifDatesOpt", "cleanDescOpt"),
          ("rtnLongModifDatesOpt", "cleanDescOpt", "rtnPatCharsOpt", "rtnDevIdOpt", "rtnUIDsOpt", "rtnInstIdOpt")]
PROFILES = [None, *[(c,) for c in OPTION_COLUMNS], *COMBOS]
EMPTY_INSTEAD_OF_REMOVE = set(json.loads(POLICY_PATH.read_text())["empty_instead_of_remove"])
BINARY_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN"}


def concrete_rows() -> list[dict]:
    out = []
    for row in standard_rows():
        tag = row["tag"]
        if "X" in tag.upper()[1:] or tag.startswith("(GGGG"):
            continue
        t = int(tag[1:5] + tag[6:10], 16)
        if t >> 16 in (0x0000, 0x0002):  # command / file meta rows are tested in test_header_engine
            continue
        out.append({**row, "int": t, "vr": dictionary_VR(t)[:2], "keyword": keyword_for_tag(t)})
    return out


def value_for(vr: str, i: int):
    text = f"LOREM{i}"
    return {
        "AE": f"AE{i}", "AS": "045Y", "AT": 0x00100010, "CS": f"CODE{i}", "DA": "20210315", "DS": "1.5",
        "DT": "20210315101010.25+0200", "FL": 1.5, "FD": 2.5, "IS": "7", "LO": text, "LT": text, "PN": "Doe^John",
        "SH": text, "ST": text, "TM": "101010", "UC": text, "UI": f"1.2.826.0.1.3680043.99.2.{i}",
        "UR": "http://example.org/x", "UT": text, "US": 7, "SS": -7, "UL": 7, "SL": -7, "SV": -7, "UV": 7,
        "OB": b"\x01\x02", "OW": b"\x01\x02", "OF": b"\x01\x02\x03\x04", "OD": b"\x01" * 8, "OL": b"\x01" * 4,
        "OV": b"\x01" * 8, "UN": b"\x01\x02",
    }[vr]


def seq_item() -> Dataset:
    item = Dataset()
    item.CodeValue = "LOREMCV"
    item.CodingSchemeDesignator = "99TEST"
    item.CodeMeaning = "LOREM IPSUM"
    item.ReferencedSOPInstanceUID = ITEM_UID
    return item


def build_dataset(rows: list[dict]) -> Dataset:
    """All rows in one dataset, and all again inside one item of a sequence that is not in the table."""
    def fill(ds: Dataset) -> None:
        for i, row in enumerate(rows):
            vr = row["vr"]
            value = Sequence([seq_item()]) if vr == "SQ" else value_for(vr, i)
            ds.add_new(row["int"], vr, value)
    top = Dataset()
    fill(top)
    inner = Dataset()
    fill(inner)
    top.add_new(NEST, "SQ", Sequence([inner]))
    return top


def profile_for(columns: tuple[str, ...] | None) -> Profile:
    if columns is None:
        return Profile(name="basic-only")
    safe = (SafePrivate(0x0009, "TEST", 0x01),) if "rtnSafePrivOpt" in columns else ()
    return Profile(name="+".join(columns), options=tuple(COLUMN_TO_OPTION[c] for c in columns), safe_private=safe)


def expected_code(row: dict, columns: tuple[str, ...] | None) -> str:
    picked = {row[c] for c in columns or () if row.get(c)}
    if row["vr"] in ("DA", "DT", "TM") and "rtnLongModifDatesOpt" in (columns or ()) and row.get("rtnLongModifDatesOpt") == "C":
        return "C"   # dates are shifted with all the others even when another option retains them (issue 20)
    return "K" if "K" in picked else "C" if "C" in picked else row["basicProfile"]


def check(code: str, before, after: Dataset, row: dict, keyring: Keyring, days: int | None, columns) -> str | None:
    """None if `after` follows `code` for this row, else a description of the mismatch."""
    tag, vr = row["int"], row["vr"]
    elem = after.get(tag)
    present = elem is not None
    value = elem.value if present else None
    empty = present and (value in (None, "", b"") or (vr == "SQ" and len(value) == 0))

    def member(c: str) -> bool:
        if c == "X":
            return not present
        if c == "Z":
            return empty
        if not present and not (c == "C" and vr in BINARY_VRS):
            return False
        if c == "D":
            if vr == "SQ":
                return len(value) == 1 and value[0].get("CodeMeaning") != "LOREM IPSUM"
            return not empty and str(value) != str(before)
        if c == "K":
            if vr == "SQ":
                return len(value) == 1
            return str(value) == str(before)
        if c == "C":
            if vr in BINARY_VRS:  # nothing to clean inside a blob: the engine removes it (stricter than C)
                return not present
            if vr == "SQ":
                return len(value) == 1 and value[0].get("CodeMeaning") == "LOREM IPSUM"
            if vr in ("DA", "DT"):
                return days is not None and str(value) == shift_date_value(vr, str(before), days)
            if vr == "AE":
                return not empty and str(value) != str(before)
            return str(value) == str(before)  # no identifying value in it: cleaning keeps it
        if c in ("U", "U*"):
            if vr == "SQ":
                uid = value[0].get("ReferencedSOPInstanceUID") if len(value) else None
                return uid == (ITEM_UID if "rtnUIDsOpt" in (columns or ()) else keyring.uid(ITEM_UID))
            return str(value) == keyring.uid(str(before))
        raise AssertionError(f"unknown code {c}")

    if code == "X" and row.get("keyword") in EMPTY_INSTEAD_OF_REMOVE:
        code = "X/Z"  # documented in policy.json: Type 2C attributes emptied instead of removed
    if any(member(c) for c in code.split("/")):
        return None
    return f"{row['tag']} {row['name']} [{vr}] {code}: got {'absent' if not present else repr(value)[:60]}"


@pytest.mark.parametrize("columns", PROFILES, ids=["+".join(c) if c else "basic" for c in PROFILES])
def test_every_row_follows_its_column(columns):
    rows = concrete_rows()
    assert len(rows) > 600
    keyring = Keyring(KEY)
    ds = build_dataset(rows)
    before_top = {r["int"]: ds[r["int"]].value for r in rows}
    days = None
    if "rtnLongModifDatesOpt" in (columns or ()):
        days = keyring.date_offset_days(Identity.from_dataset(ds).patient_key)
    deidentify_dataset(ds, profile_for(columns), keyring)
    nested = ds[NEST].value[0] if NEST in ds else None
    assert nested is not None, "a sequence not in the table must be kept"
    failures = []
    for row in rows:
        code = expected_code(row, columns)
        for where, target in (("top", ds), ("nested", nested)):
            problem = check(code, before_top[row["int"]], target, row, keyring, days, columns)
            if problem:
                failures.append(f"{where}: {problem}")
    assert not failures, f"{len(failures)} rows not per Table E.1-1:\n" + "\n".join(failures[:40])


def test_committed_table_is_regenerated_from_the_standard():
    """The committed JSON must be exactly what build_table.py makes from the shared extract."""
    assert json.loads(TABLE_PATH.read_text()) == build(STANDARD_TABLE)


def test_every_standard_row_is_in_the_committed_table():
    from inference.header import load_table

    table = load_table()
    for row in standard_rows():
        tag = row["tag"]
        if tag.startswith("(GGGG"):
            continue
        if "X" in tag.upper()[1:]:
            group = int(tag[1:3] + "00", 16)
            element = 0x3000 if tag[6:10].upper() == "XXXX" else int(tag[6:10], 16)
            rule = table.rule_for(((group + 2) << 16) | element)
        else:
            rule = table.rule_for(int(tag[1:5] + tag[6:10], 16))
        assert rule is not None and rule.basic == row["basicProfile"], tag
