"""Dates in free text: find them in every common layout and shift them, keeping the layout.

Why keep the layout: a shifted '2024 m. sausio 12 d.' stays readable Lithuanian and a shifted '12-JAN-2024' stays
in the device's style, so intervals and readability survive while the real date does not. Every pattern runs on
the folded text (lower case, no diacritics); the month names below are folded too.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# month tables: (folded names, display names with diacritics) -- index 0 is January
_EN_FULL = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
            "november", "december"]
_EN_ABBR = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_LT_GEN = ["sausio", "vasario", "kovo", "balandžio", "gegužės", "birželio", "liepos", "rugpjūčio", "rugsėjo",
           "spalio", "lapkričio", "gruodžio"]
_LT_NOM = ["sausis", "vasaris", "kovas", "balandis", "gegužė", "birželis", "liepa", "rugpjūtis", "rugsėjis",
           "spalis", "lapkritis", "gruodis"]
_LT_ABBR = ["sau", "vas", "kov", "bal", "geg", "bir", "lie", "rgp", "rgs", "spa", "lap", "grd"]


def _fold_ascii(s: str) -> str:
    from .fold import fold
    return fold(s)


MONTH_TABLES: dict[str, list[str]] = {
    "en_full": _EN_FULL, "en_abbr": _EN_ABBR, "lt_gen": _LT_GEN, "lt_nom": _LT_NOM, "lt_abbr": _LT_ABBR,
}
# folded month word -> (table name, month number); longest names first in the regex alternation
_MONTH_LOOKUP: dict[str, tuple[str, int]] = {}
for _table in ("lt_abbr", "en_abbr", "lt_nom", "lt_gen", "en_full"):
    for _i, _name in enumerate(MONTH_TABLES[_table]):
        _MONTH_LOOKUP[_fold_ascii(_name)] = (_table, _i + 1)
_MONTH_LOOKUP["sept"] = ("en_abbr", 9)
_MONTHS_RE = "|".join(sorted(_MONTH_LOOKUP, key=len, reverse=True))

_D = r"(?P<d>0?[1-9]|[12]\d|3[01])"
_M = r"(?P<m>0?[1-9]|1[0-2])"
_Y4 = r"(?P<y>(?:18|19|20)\d\d)"
_MON = rf"(?P<mon>{_MONTHS_RE})"

# Order matters only for readability: overlapping matches are resolved by the caller (longest wins).
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(p)) for name, p in (
    # 2024 m. sausio 12 d.  /  2024 m. sausio mėn. 12 d.
    ("lt_long", rf"(?<!\d){_Y4}\s*m\.?\s*{_MON}\s*(?:men\.?\s*)?{_D}\s*d\b\.?"),
    # sausio 12 d. (no year: cannot be shifted, so it is redacted)
    ("lt_month_day", rf"\b(?P<mon>{'|'.join(sorted((_fold_ascii(m) for m in _LT_GEN), key=len, reverse=True))})"
                     rf"\s+{_D}\s*d\b\.?"),
    # 12 January 2024, 12-JAN-2024, 12. Jan. 2024
    ("d_mon_y", rf"(?<!\d){_D}\.?[\s\-/]*{_MON}\b\.?,?[\s\-/]*(?P<y>(?:18|19|20)\d\d|\d\d)(?!\d)"),
    # January 12, 2024 / Jan 12th 2024
    ("mon_d_y", rf"\b{_MON}\b\.?\s+{_D}(?:st|nd|rd|th)?,?\s+{_Y4}(?!\d)"),
    # 2024-Sau-12 / 2024 Jan 12
    ("y_mon_d", rf"(?<!\d){_Y4}[\s\-/.]+{_MON}\b\.?[\s\-/.]+{_D}(?!\d)"),
    # 2024-01-12, 2024.01.12, 2024/1/12 (+ optional ' d.')
    ("ymd", rf"(?<![\d.]){_Y4}(?P<s>[-./])\s?{_M}(?P=s)\s?{_D}(?![\d])"),
    # 12.01.2024, 12/01/2024, 1-12-2024 (day first unless the day position cannot be a day)
    ("dmy", r"(?<![\d.])(?P<a>\d{1,2})(?P<s>[-./])(?P<b>\d{1,2})(?P=s)(?P<y>(?:18|19|20)\d\d)(?![\d])"),
    # 12.01.24 (two-digit year: only with two-digit day and month)
    ("dmy2", r"(?<![\d.])(?P<a>\d\d)(?P<s>[./])(?P<b>\d\d)(?P=s)(?P<y>\d\d)(?![\d]|\.\d)"),
    # 20240112, DICOM DA, optionally followed by a DICOM TM/DT time part
    ("compact", rf"(?<!\d){_Y4}(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])(?P<t>\d{{4,6}}(?:\.\d{{1,6}})?)?(?!\d)"),
))


@dataclass(frozen=True)
class DateMatch:
    start: int          # in the folded text
    end: int
    date: dt.date | None
    pattern: str
    groups: dict[str, tuple[int, int]]   # group name -> folded span, for rebuilding


def _year(s: str) -> int:
    y = int(s)
    if len(s) == 2:
        y += 2000 if y <= 30 else 1900
    return y


def _to_date(name: str, m: re.Match[str]) -> dt.date | None:
    g = m.groupdict()
    try:
        if name in ("dmy", "dmy2"):
            a, b = int(g["a"]), int(g["b"])
            day, month = (a, b) if b <= 12 else (b, a)     # 01/25/2024 is month first
            return dt.date(_year(g["y"]), month, day)
        if not g.get("y"):
            return None                                     # a day without a year: a date, but not shiftable
        month = int(g["m"]) if g.get("m") else _MONTH_LOOKUP[g["mon"]][1]
        return dt.date(_year(g["y"]), month, int(g["d"]))
    except (ValueError, KeyError, TypeError):
        return None


def find_dates(folded: str) -> list[DateMatch]:
    """Every date-looking substring; ``date`` is None when it looks like a date but is not a real one."""
    out: list[DateMatch] = []
    for name, rx in PATTERNS:
        for m in rx.finditer(folded):
            d = _to_date(name, m)
            if d is None and name in ("compact", "dmy2"):
                continue        # 8 or 6 digits that are not a real date are not dates
            groups = {k: m.span(k) for k, v in m.groupdict().items() if v is not None}
            out.append(DateMatch(m.start(), m.end(), d, name, groups))
    return out


def _month_text(original: str, table: str, month: int) -> str:
    """The new month name in the same table and the same letter case / diacritics style as ``original``."""
    name = MONTH_TABLES[table][month - 1]
    old_name = MONTH_TABLES[table][_MONTH_LOOKUP[_fold_ascii(original)][1] - 1]
    if original.lower() != old_name and original.isascii():     # written without diacritics: keep it so
        name = _fold_ascii(name)
    if original.isupper():
        return name.upper()
    if original[:1].isupper():
        return name[:1].upper() + name[1:]
    return name


def shift_text(original: str, match: DateMatch, to_orig, days: int) -> str:
    """Rebuild the original date substring with the date moved by ``days``, same layout, same widths.

    ``to_orig(a, b)`` maps folded positions of ``original`` to original positions.
    """
    assert match.date is not None
    new = match.date + dt.timedelta(days=days)
    s0, _ = to_orig(match.start, match.end)
    pieces: list[tuple[int, int, str]] = []

    def put(group: str, value: str) -> None:
        a, b = to_orig(*match.groups[group])
        pieces.append((a - s0, b - s0, value))

    numeric = "mon" not in match.groups

    def num(group: str, value: int) -> str:
        """Same width for numeric layouts (01.02.2024); with a month name only if it was zero-padded."""
        a, b = to_orig(*match.groups[group])
        width = b - a
        dash_layout = match.pattern == "y_mon_d" or original[b:b + 1] == "-"     # 2024-Sau-02, 02-JAN-2024
        padded = width > 1 and (numeric or dash_layout or original[a] == "0")
        return f"{value:0{width}d}" if padded else str(value)

    if "y" in match.groups:
        a, b = to_orig(*match.groups["y"])
        put("y", f"{new.year % 100:02d}" if b - a == 2 else f"{new.year:04d}")
    if match.pattern in ("dmy", "dmy2"):
        a_is_day = int(original[slice(*to_orig(*match.groups["b"]))]) <= 12
        day_g, mon_g = ("a", "b") if a_is_day else ("b", "a")
        put(day_g, num(day_g, new.day))
        put(mon_g, num(mon_g, new.month))
    else:
        put("d", num("d", new.day))
        if "m" in match.groups:
            put("m", num("m", new.month))
        else:
            a, b = to_orig(*match.groups["mon"])
            table = _MONTH_LOOKUP[match_fold(original[a:b])][0]
            put("mon", _month_text(original[a:b], table, new.month))
    s, e = to_orig(match.start, match.end)
    text = original[s:e]
    for a, b, value in sorted(pieces, reverse=True):
        text = text[:a] + value + text[b:]
    return text


def match_fold(s: str) -> str:
    return _fold_ascii(s)
