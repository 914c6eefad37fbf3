"""Diacritics-insensitive fuzzy matching of text (OCR lines, element values) against original personal values.

OCR drops or swaps diacritics (Ė->E, Š->S) and reads '^' or '|' for separators, and a badly redacted box can
leave half a word: so values are compared on a folded alphabet, and fragments of a value count too.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

try:  # rapidfuzz is fast C++; difflib gives the same verdicts, slower
    from rapidfuzz import fuzz as _fuzz

    def _ratio(a: str, b: str) -> float:
        return float(_fuzz.ratio(a, b))

    def _partial(a: str, b: str) -> float:
        return float(_fuzz.partial_ratio(a, b))

except ImportError:  # pragma: no cover - exercised only where rapidfuzz is absent
    import difflib

    def _ratio(a: str, b: str) -> float:
        return 100.0 * difflib.SequenceMatcher(None, a, b).ratio()

    def _partial(a: str, b: str) -> float:
        short, long_ = (a, b) if len(a) <= len(b) else (b, a)
        if not short:
            return 0.0
        best = 0.0
        for i in range(0, len(long_) - len(short) + 1):
            best = max(best, difflib.SequenceMatcher(None, short, long_[i:i + len(short)]).ratio())
        return 100.0 * best

_OCR_CONFUSIONS = str.maketrans({"|": "I", "^": " ", "_": " ", ",": " ", ";": " ", "/": " ", "-": " ", ".": " ",
                                 ":": " ", "\u201c": " ", "\u201d": " ", "\u2018": " ", "\u2019": " ", "'": " "})


def fold(text: str) -> str:
    """Upper-case, strip diacritics, map separators to spaces, collapse spaces: 'Šiaulių^Jonas' -> 'SIAULIU JONAS'."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.translate(_OCR_CONFUSIONS).upper()
    text = re.sub(r"[^0-9A-Z@+ ]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@dataclass(frozen=True)
class PersonalValue:
    """An original personal value to look for. kind: name, id, date, address, phone, institution, other."""

    kind: str
    text: str

    @property
    def folded(self) -> str:
        return fold(self.text)


@dataclass(frozen=True)
class Match:
    value: PersonalValue
    score: float
    fragment: str


def _alnum_len(s: str) -> int:
    return sum(c.isalnum() for c in s)


def mask(text: str) -> str:
    """'PETRAITIS' -> 'P*******S (9 chars)': enough for a reviewer to recognise, useless to an attacker."""
    t = str(text).strip()
    if len(t) <= 2:
        return "*" * len(t)
    return f"{t[0]}{'*' * (len(t) - 2)}{t[-1]} ({len(t)} chars)"


class ValueMatcher:
    """Finds original personal values in free text, tolerant to OCR noise and partial redaction."""

    def __init__(self, values: list[PersonalValue], threshold: float = 85.0, min_fragment: int = 5):
        self.threshold = threshold
        self.min_fragment = min_fragment
        # digit-only values under 4 digits ('11', '131') would match any number in any text: too short to search
        self.values = [v for v in _dedupe(values) if _alnum_len(v.folded) >= 2
                       and not (v.folded.replace(" ", "").isdigit() and len(v.folded.replace(" ", "")) < 4)]

    def find(self, text: str, fragments: bool = False) -> list[Match]:
        """Every personal value that text contains as whole words (OCR noise tolerated).

        fragments=True (pixels): also a long enough piece of a value, as a half-blanked box leaves, and a value
        glued to other letters (OCR often drops spaces).
        """
        line = fold(text)
        if not line:
            return []
        out: list[Match] = []
        for v in self.values:
            m = self._match_one(v, line, fragments)
            if m is not None:
                out.append(m)
        return out

    def _match_one(self, v: PersonalValue, line: str, fragments: bool) -> Match | None:
        if v.kind in ("date", "id", "phone") or v.folded.replace(" ", "").isdigit():
            return self._match_digits(v, line, fragments)
        target = v.folded
        flat = target.replace(" ", "")
        if len(flat) < 3:
            return None
        words = line.split()
        n = len(target.split())
        for k in {max(1, n - 1), n, n + 1}:
            for i in range(0, max(0, len(words) - k) + 1):
                window = " ".join(words[i:i + k])
                score = max(_ratio(target, window), _ratio(flat, window.replace(" ", "")))
                if score >= self.threshold:
                    return Match(v, score, window)
        if not fragments:
            return None
        for word in words:
            size = _alnum_len(word)
            if len(flat) >= 5 and size > len(flat) and _partial(flat, word) >= max(self.threshold, 90.0):
                return Match(v, _partial(flat, word), word)     # value glued to other text
            if size < self.min_fragment or size >= len(flat) or size < 0.4 * len(flat):
                continue
            score = _end_score(word, flat)
            if score >= max(self.threshold, 90.0):
                return Match(v, score, word)                    # what a partly blanked box leaves: a head or a tail
        return None

    def _match_digits(self, v: PersonalValue, line: str, fragments: bool) -> Match | None:
        """IDs, phones and dates: compare digit strings; the whole value, or (fragments) a run of >= 5 of its digits."""
        forms = _date_forms(v.text) if v.kind == "date" else {digits(v.text)}
        forms |= {fold(v.text).replace(" ", "")} if not digits(v.text) else set()
        line_digits_runs = re.findall(r"[0-9][0-9 ]*[0-9]|[0-9]", line)
        runs = {digits(r) for r in line_digits_runs}
        all_digits = digits(line)
        for form in forms:
            if not form:
                continue
            if len(form) >= 3 and (form in all_digits or any(form in r for r in runs)):
                return Match(v, 100.0, form)
            need = max(5, self.min_fragment) if fragments else len(form)
            for r in runs:
                if len(r) >= need and r in form:
                    return Match(v, 100.0 * len(r) / len(form), r)
            # half a blanked date leaves 4 digits: its head or tail, alone on the line (e.g. '1118' of 19751118)
            if fragments and v.kind == "date" and len(form) == 8 and all_digits in (form[:4], form[-4:]):
                return Match(v, 50.0, all_digits)
            # OCR digit slips: one substitution in a long number
            if fragments and len(form) >= 8:
                for r in runs:
                    if abs(len(r) - len(form)) <= 1 and _ratio(r, form) >= 90.0:
                        return Match(v, _ratio(r, form), r)
        # non-digit ids (e.g. 'AB12345'): alnum comparison
        alnum = re.sub(r"[^0-9A-Z]", "", fold(v.text))
        if alnum and not alnum.isdigit() and len(alnum) >= 4 and alnum in line.replace(" ", ""):
            return Match(v, 100.0, alnum)
        return None


def _end_score(fragment: str, value: str) -> float:
    """Similarity of a fragment to the start or the end of a value (a partly blanked text keeps one of those)."""
    n = len(fragment)
    return max(_ratio(fragment, value[:n]), _ratio(fragment, value[-n:]))


def _date_forms(text: str) -> set[str]:
    """A DICOM date YYYYMMDD in the digit forms it is burned in as: YYYYMMDD, DDMMYYYY, MMDDYYYY, YYMMDD, DDMMYY."""
    d = digits(text)
    if len(d) != 8:
        return {d}
    y, m, day = d[:4], d[4:6], d[6:]
    return {d, day + m + y, m + day + y, y[2:] + m + day, day + m + y[2:]}


def _dedupe(values: list[PersonalValue]) -> list[PersonalValue]:
    seen: set[tuple[str, str]] = set()
    out = []
    for v in values:
        key = (v.kind, v.folded)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out
