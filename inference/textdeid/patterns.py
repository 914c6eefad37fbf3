"""Identifier patterns that do not depend on the patient: personal codes, phones, e-mails, addresses, names.

Each detector is a pure function ``(FoldedText) -> list[Span]`` so they can be tested and combined one by one.
All regular expressions run on the folded text (lower case, no diacritics); letter-case checks (a name starts
with a capital) look at the original text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .fold import FoldedText
from .lexicon import Lexicon


@dataclass(frozen=True)
class Span:
    """One identifier in the ORIGINAL text: ``text[start:end] == matched``."""

    start: int
    end: int
    kind: str
    matched: str


def make_span(ft: FoldedText, a: int, b: int, kind: str) -> Span:
    s, e = ft.to_original(a, b)
    return Span(s, e, kind, ft.original[s:e])


# ------------------------------------------------------------------------------------------- personal codes
_W1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 1)
_W2 = (3, 4, 5, 6, 7, 8, 9, 1, 2, 3)


_CENTURY = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}


def personal_code_check_digit(first10: str) -> int:
    """The official asmens kodas check digit: weights 1234567891; if the rest is 10, weights 3456789123."""
    d = [int(c) for c in first10]
    rest = sum(x * w for x, w in zip(d, _W1, strict=True)) % 11
    if rest == 10:
        rest = sum(x * w for x, w in zip(d, _W2, strict=True)) % 11
        rest = 0 if rest == 10 else rest
    return rest


def personal_code_valid(code: str) -> bool:
    """THE rule for a Lithuanian personal code (asmens kodas), used by the de-identifier and the auditor alike:
    11 digits and the right check digit; the first digit 1-6 (century and sex) followed by a real birth date
    YYMMDD, or 9 (codes given in exceptional cases, where digits 2-7 are no date)."""
    if len(code) != 11 or not code.isdigit() or code[0] not in "1234569":
        return False
    if code[0] != "9":
        try:
            date(_CENTURY[code[0]] + int(code[1:3]), int(code[3:5]), int(code[5:7]))
        except ValueError:
            return False
    return personal_code_check_digit(code[:10]) == int(code[10])


_ELEVEN = re.compile(r"(?<![\d.])\d{11}(?![\d]|\.\d)")


def find_personal_codes(ft: FoldedText) -> list[Span]:
    """Valid personal codes -> PERSONAL_CODE; any other lone 11-digit run is suspicious -> ID."""
    return [make_span(ft, m.start(), m.end(), "PERSONAL_CODE" if personal_code_valid(m.group()) else "ID")
            for m in _ELEVEN.finditer(ft.folded)]


# ------------------------------------------------------------------------------------------------- phones
_SEP = r"[ \-]?"
_PHONE_LT = re.compile(
    r"(?<![\w+])(?:\+\s?370|00\s?370|\(?8\)?)" + _SEP + r"\(?\d{1,3}\)?" + _SEP + r"\d{1,3}" + _SEP + r"\d{2,5}(?!\d)"
)
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}[ \-]?(?:\(\d{1,4}\)[ \-]?)?\d{2,4}(?:[ \-]?\d{2,4}){1,3}(?!\d)")


def _digits(s: str) -> int:
    return sum(c.isdigit() for c in s)


def find_phones(ft: FoldedText) -> list[Span]:
    """Lithuanian numbers (+370 / 8 + 8 digits) and international +CC numbers."""
    out = []
    for m in _PHONE_LT.finditer(ft.folded):
        lead = 3 if m.group().lstrip("(").startswith(("+", "00")) else 1
        body = _digits(m.group()) - (lead if not m.group().startswith("00") else 5)
        if body == 8:
            out.append(make_span(ft, m.start(), m.end(), "PHONE"))
    for m in _PHONE_INTL.finditer(ft.folded):
        if 8 <= _digits(m.group()) <= 15:
            out.append(make_span(ft, m.start(), m.end(), "PHONE"))
    return out


# ------------------------------------------------------------------------------------------------ e-mails
_EMAIL = re.compile(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}")


def find_emails(ft: FoldedText) -> list[Span]:
    return [make_span(ft, m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(ft.folded)]


# ---------------------------------------------------------------------------------------------- addresses
_WORD = r"[a-z][a-z'\-]+"
# A number followed by a decimal part or a unit is a measurement, never a house number ('a 1.5 cm lesion').
_NOT_MEASUREMENT = (r"(?![.,]\d)(?!\s*(?:mm|cm|m|km|ml|l|mg|g|kg|mmhg|%|x|s|ms|min|h|hz|khz|mhz|bpm|mg/ml|"
                    r"mm/s|cm/s|k/min|mgy|gy|msv|hu|kv|kvp|mas|ma)\b)")
_STREET_LT = re.compile(
    rf"\b(?:{_WORD}\s+(?:ir\s+)?){{1,3}}(?:(?:g|gatve|gatves|pr|prospektas|al|aleja|pl|plentas|skg|skersgatvis)\.?"
    r"|a\.)\s*\d{1,4}[a-z]?(?:\s?[-/]\s?\d{1,4}[a-z]?)?(?!\d)" + _NOT_MEASUREMENT
)  # 'a.' (aikste) only with its dot: 'There is a 1.5 cm lesion' is no square
_STREET_EN = re.compile(
    rf"\b\d{{1,5}}[a-z]?,?\s+(?:{_WORD}\s+){{1,3}}(?:street|st|road|rd|avenue|ave|lane|ln|drive|boulevard|blvd|way|"
    r"square|sq|place|court|ct)\b\.?"
)
_STREET_EN2 = re.compile(rf"\b(?:{_WORD}\s+){{1,3}}(?:street|str|road|avenue|lane|boulevard)\.?\s*\d{{1,5}}[a-z]?\b")
_POSTCODE = re.compile(r"\blt\s?-\s?\d{5}\b")


def _original(ft: FoldedText, a: int, b: int) -> str:
    s, e = ft.to_original(a, b)
    return ft.original[s:e]


def _capitalised(ft: FoldedText, a: int) -> bool:
    s, _ = ft.to_original(a, a + 1)
    return ft.original[s:s + 1].isupper()


def _first_capitalised_start(ft: FoldedText, rx: re.Pattern[str], m: re.Match[str]) -> int | None:
    """Street names are capitalised: drop leading lower-case words ('anksčiau Dariaus ir Girėno g. 5')."""
    pos = m.start()
    while pos < m.end():
        if _capitalised(ft, pos) and rx.match(ft.folded, pos):
            return pos
        nxt = re.search(r"\s+(?=\S)", ft.folded[pos:m.end()])
        if not nxt:
            return None
        pos += nxt.end()
    return None


# Institutions in free text: capitalised words before a kind of care place ('the Redlands Clinic', 'St. Mary
# Hospital', 'Santaros klinikos', 'Kauno klinikinė ligoninė'); the kind word alone ('the clinic') is no name.
_INSTITUTION_KIND = (r"(?:clinic|clinics|hospital|infirmary|hospice|sanatorium|(?:medical|health|diagnostic|imaging)\s+"
                     r"(?:cent(?:er|re)|institute)|klinika|klinikos|klinikose|klinikoje|klinikai|ligonine|ligonines|ligonineje|ligoninei|poliklinika|poliklinikoje|"
                     r"sanatorija|(?:sveikatos|diagnostikos|medicinos)\s+centras)")
_INSTITUTION = re.compile(rf"\b((?:[^\W\d_][\w'\-]*\.?\s+){{1,4}}){_INSTITUTION_KIND}\b")


def _inside_a_name(ft: FoldedText, base: int, words: list[re.Match[str]], i: int) -> bool:
    """A lower-case word of 4+ letters inside an institution's name: a capitalised word lies left of it with only
    such words between ('Vilniaus universiteto ligoninė'); 'the', 'at' end the name."""
    for j in range(i, -1, -1):
        if _capitalised(ft, base + words[j].start()):
            return j < i
        if len(words[j].group().rstrip(".")) < 4:
            return False
    return False


def find_institutions(ft: FoldedText) -> list[Span]:
    """A care place named in free text: its kind word and the words before it, read right to left while they are
    capitalised ('the Redlands Clinic' -> 'Redlands Clinic'), lower-case words inside the name included
    (``_inside_a_name``). Nothing when no capitalised word precedes the kind
    ('Referred by the clinic')."""
    out = []
    for m in _INSTITUTION.finditer(ft.folded):
        words = list(re.finditer(r"[^\W\d_][\w'\-]*\.?", ft.folded[m.start(1):m.end(1)]))
        start = None
        for i in range(len(words) - 1, -1, -1):
            pos = m.start(1) + words[i].start()
            if _capitalised(ft, pos):
                start = pos
                continue
            if _inside_a_name(ft, m.start(1), words, i):
                continue
            break
        if start is not None:
            out.append(make_span(ft, start, m.end(), "INSTITUTION"))
    return out


def find_addresses(ft: FoldedText, lexicon: Lexicon) -> list[Span]:
    """Street + house number (Lithuanian g./pr./al./pl., English Street/Road...), LT-NNNNN postcodes, towns."""
    out = []
    for m in _STREET_EN.finditer(ft.folded):
        out.append(make_span(ft, m.start(), m.end(), "ADDRESS"))
    for rx in (_STREET_LT, _STREET_EN2):
        for m in rx.finditer(ft.folded):
            start = _first_capitalised_start(ft, rx, m)
            if start is not None:
                out.append(make_span(ft, start, m.end(), "ADDRESS"))
    for m in _POSTCODE.finditer(ft.folded):
        out.append(make_span(ft, m.start(), m.end(), "ADDRESS"))
    for phrase in lexicon.city_phrases:
        for m in re.finditer(rf"\b{re.escape(phrase)}\b", ft.folded):
            if _capitalised(ft, m.start()):
                out.append(make_span(ft, m.start(), m.end(), "ADDRESS"))
    for m in _LETTERS.finditer(ft.folded):
        if lexicon.is_city(m.group()) and _capitalised(ft, m.start()):
            out.append(make_span(ft, m.start(), m.end(), "ADDRESS"))
    return out


# -------------------------------------------------------------------------------------------------- names
_LETTERS = re.compile(r"[^\W\d_]+")
# titles and labels after which capitalised words are person names
_TITLE = re.compile(
    r"\b(?:(?P<hon>dr|prof|doc|gyd|mr|mrs|ms)(?P<dot>\.?)[ \t]+(?:dr\.?[ \t]+)?"
    r"|(?:pacient(?:as|e))[ \t]+"
    r"|(?:gydytoj(?:as|a)|slaugytoj(?:as|a)|physician|doctor|nurse|operator|technologist|radiologist|"
    r"referring\s+physician|vardas|pavarde|vardas,?\s+pavarde|name|patient\s+name|paciento\s+vardas|"
    r"signed|pasirase|atliko|performed\s+by|reported\s+by)[ \t]*:[ \t]*)"
)
_CAP_WORD = re.compile(r"[^\W\d_][^\W\d_'\-]*(?:[-'][^\W\d_]+)?")


def find_lexicon_names(ft: FoldedText, lexicon: Lexicon) -> list[Span]:
    """Capitalised (or all-caps) words that are a known given name or surname in any derived form."""
    out = []
    for m in _LETTERS.finditer(ft.folded):
        word = m.group()
        if len(word) >= 3 and lexicon.is_name(word) and _capitalised(ft, m.start()):
            if len(word) < 4 and _original(ft, m.start(), m.end()).isupper():
                continue        # 'ANN', 'JAN', 'LEE' in capitals are codes; next to a surname they still go
            out.append(make_span(ft, m.start(), m.end(), "NAME"))
    return out


def find_titled_names(ft: FoldedText, lexicon: Lexicon) -> list[Span]:
    """'Dr. Kowalczyk', 'gyd. R. Žemaitė', 'Name: Foo Bar': up to three capitalised words after a title/label."""
    out = []
    for m in _TITLE.finditer(ft.folded):
        if m.group("hon") and not m.group("dot") and _original(ft, m.start("hon"), m.end("hon")).isupper():
            continue        # 'MR', 'DR', 'MS' without a dot are modalities / diagnoses, not titles
        pos = m.end()
        words_end = None
        for _ in range(3):
            ws = re.match(r"[ \t]*(?:[^\W\d_]\.\s*)*", ft.folded[pos:])   # skip initials like 'R. '
            assert ws is not None  # the pattern matches the empty string
            nxt = _CAP_WORD.match(ft.folded, pos + ws.end())
            if not nxt or len(nxt.group()) < 2 or not _capitalised(ft, nxt.start()):
                if ws.end() and words_end is None and re.fullmatch(r"[ \t]*(?:[^\W\d_]\.\s*)+", ws.group()):
                    words_end = pos + len(ws.group().rstrip())
                break
            words_end = nxt.end()
            pos = nxt.end()
        if words_end is not None and words_end > m.end():
            out.append(make_span(ft, m.end(), words_end, "NAME"))
    return out
