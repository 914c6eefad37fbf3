"""Pure value functions: dummy values per VR and keyed date shifting.

Dummies never derive from the original except through the keyring (which is one-way), so a D
action can never leak the value it replaces.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from ..vrs import FREE_TEXT_VRS

# Fixed dummies for VRs where a keyed pseudonym makes no sense or would not fit the VR.
FIXED_DUMMY = {
    "DA": "19000101", "DT": "19000101000000", "TM": "000000", "AS": "000Y", "CS": "ANONYMIZED",
    "AE": "ANONYMOUS", "DS": "0", "IS": "0", "UR": "urn:anonymized", "AT": 0,
    "US": 0, "SS": 0, "UL": 0, "SL": 0, "UV": 0, "SV": 0, "FL": 0.0, "FD": 0.0,
    "OB": b"\x00\x00", "OW": b"\x00\x00", "OF": b"\x00\x00\x00\x00", "OD": b"\x00" * 8,
    "OL": b"\x00" * 4, "OV": b"\x00" * 8, "UN": b"\x00\x00",
}
# Maximum value length in characters per text VR (PS3.5 Table 6.2-1; PN: per component group). UC, UT: unlimited.
MAX_CHARS = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "ST": 1024, "LT": 10240, "PN": 64}


def fit_text(value: str, vr: str) -> str:
    """A cleaned text value cut to its VR's maximum length (a replacement may be longer than what it replaced);
    a value of a multi-valued VR never gets a backslash (the value separator) from a replacement."""
    if vr not in ("ST", "LT", "UT"):
        value = value.replace("\\", " ")
    limit = MAX_CHARS.get(vr)
    return value[:limit] if limit else value


def dummy_value(vr: str, original: str, keyword: str, pseudonym) -> object:
    """A non-empty value valid for the VR. Text VRs get a keyed pseudonym of the original.

    `pseudonym(kind, original)` is the keyring's one-way token function.
    """
    if vr in FREE_TEXT_VRS:  # free text / names: replaced by keyed pseudonyms
        token = pseudonym(keyword or vr, original)
        return f"ANON^{token}" if vr == "PN" else f"ANON{token}"[: 16 if vr == "SH" else 64]
    if vr == "UI":
        raise ValueError("UIDs are remapped, not dummied")
    if vr not in FIXED_DUMMY:
        raise ValueError(f"no dummy value for VR {vr}")
    return FIXED_DUMMY[vr]


_DA_RE = re.compile(r"^(\d{4})\.?(\d{2})\.?(\d{2})$")
_DT_RE = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?)?([+-]\d{4})?$")


class DateParseError(ValueError):
    """A DA/DT value that cannot be parsed (it is then replaced by a dummy, never kept)."""


def _ymd(d: date) -> str:
    """YYYYMMDD with a 4-digit year (strftime drops leading zeros of years < 1000 on Linux)."""
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def shift_da(value: str, days: int) -> str:
    """Shift one DA value ('YYYYMMDD', legacy 'YYYY.MM.DD') by whole days; a range 'A-B' side by side."""
    value = value.strip()
    if "-" in value:
        return "-".join(shift_da(part, days) if part else "" for part in value.split("-"))
    match = _DA_RE.match(value)
    if not match:
        raise DateParseError("unparsable DA")
    try:
        d = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as exc:
        raise DateParseError("impossible DA") from exc
    return _ymd(d + timedelta(days=days))


def shift_dt(value: str, days: int) -> str:
    """Shift a DT value by whole days, keeping its precision (YYYY, YYYYMM, ...), time and UTC offset.

    A partial date is shifted from its first day and cut back to the same precision, so
    intervals are preserved to that precision.
    """
    value = value.strip()
    if "-" in value[1:] and not _DT_RE.match(value):  # a range A-B (an offset also has '-')
        parts = _split_dt_range(value)
        return "-".join(shift_dt(p, days) if p else "" for p in parts)
    match = _DT_RE.match(value)
    if not match:
        raise DateParseError("unparsable DT")
    year, month, day, clock, zone = match.groups()
    try:
        d = date(int(year), int(month or 1), int(day or 1)) + timedelta(days=days)
    except ValueError as exc:
        raise DateParseError("impossible DT") from exc
    text = _ymd(d)[: 4 + (2 if month else 0) + (2 if day else 0)]
    return text + (clock or "") + (zone or "")


def _split_dt_range(value: str) -> list[str]:
    """Split 'A-B' where A or B may carry a '-HHMM' offset: try each '-' and keep the one that parses."""
    for i, ch in enumerate(value):
        if ch == "-":
            left, right = value[:i], value[i + 1:]
            if (not left or _DT_RE.match(left)) and (not right or _DT_RE.match(right)):
                return [left, right]
    raise DateParseError("unparsable DT range")


def shift_date_value(vr: str, value: str, days: int) -> str:
    """Shift a DA or DT string value (multi-valued with backslashes) by `days`."""
    shift = shift_da if vr == "DA" else shift_dt
    return "\\".join(shift(v, days) if v.strip() else "" for v in str(value).split("\\"))
