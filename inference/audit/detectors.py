"""Generic personal-data detectors for text that does not contain a known original value.

The findings of inference.textdeid (the project's shared free-text de-identifier) are used as well; these
patterns are the auditor's own, so a gap in the redactor's detectors is not copied into the audit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from inference.keys import Keyring
from inference.textdeid import Span, TextDeidentifier, TextDeidOptions, personal_code_valid


@dataclass(frozen=True)
class GenericHit:
    kind: str
    start: int
    end: int
    text: str


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\d])(?:\+370[\s-]?\d{1,3}[\s-]?\d{2,3}[\s-]?\d{2,4}|8[\s-]?6\d{2}[\s-]?\d{5}"
                    r"|\+\d{1,3}[\s-]?\(?\d{2,4}\)?[\s-]?\d{3,4}[\s-]?\d{3,4})(?![\d])")
_CODE = re.compile(r"(?<!\d)[1-6]\d{10}(?!\d)")
_DATE = re.compile(r"(?<!\d)(?:(\d{4})[-./](\d{1,2})[-./](\d{1,2})|(\d{1,2})[-./](\d{1,2})[-./](\d{4}))(?!\d)")
_BIRTH_WORDS = re.compile(r"(gim|g\.\s*d|birth|dob|born|b\.\s*d)", re.IGNORECASE)
_ADDRESS = re.compile(r"\b[A-ZĄČĘĖĮŠŲŪŽ][a-ząčęėįšųūž]{2,}\s+"
                      r"(?:g|gatvė|pr|prospektas|al|alėja|pl|plentas|skg|skersgatvis)\.?\s+\d+[A-Za-z]?(?:\s*[-–]\s*\d+)?")


def find_generic(text: str) -> list[GenericHit]:
    """E-mails, phone numbers, valid personal codes, dates of birth (a date near a birth word), street addresses."""
    hits: list[GenericHit] = []
    for m in _EMAIL.finditer(text):
        hits.append(GenericHit("email", m.start(), m.end(), m.group()))
    for m in _CODE.finditer(text):
        if personal_code_valid(m.group()):  # the one rule (textdeid/patterns.py)
            hits.append(GenericHit("personal_code", m.start(), m.end(), m.group()))
    for m in _PHONE.finditer(text):
        if not any(h.start <= m.start() < h.end for h in hits):
            hits.append(GenericHit("phone", m.start(), m.end(), m.group()))
    for m in _DATE.finditer(text):
        before = text[max(0, m.start() - 24):m.start()]
        if _BIRTH_WORDS.search(before):
            hits.append(GenericHit("birth_date", m.start(), m.end(), m.group()))
    for m in _ADDRESS.finditer(text):
        hits.append(GenericHit("address", m.start(), m.end(), m.group()))
    hits.extend(_shared_textdeid(text))
    return hits


# released text keeps dates, shifted: a date alone is no finding (birth dates are, see _BIRTH_WORDS)
_SHIFTED_KINDS = {"date", "datetime", "time"}


@lru_cache(maxsize=1)
def _textdeid_finder() -> Callable[[str], list[Span]]:
    """TextDeidentifier(identity=None).find, built once. Part of the auditor's detectors: when it cannot be built,
    the audit fails (an error), it never goes on with fewer detectors unnoticed."""
    # no identity: only its generic detectors; the key only matters for scrub(), never for find().
    # Titled names and addresses are left out: on OCR'd overlay labels ('Patient Name:', 'PR 202 ms') they
    # fire on the label itself once the value is blanked; the auditor's own address pattern stays.
    options = TextDeidOptions(titled_names=False, addresses=False)
    return TextDeidentifier(None, Keyring(b"medanon-audit-find-only-not-a-secret"), options).find


def _shared_textdeid(text: str) -> list[GenericHit]:
    """Findings of the project's shared detector (names lexicon etc.), identity-free."""
    out = []
    for span in _textdeid_finder()(text):
        kind = span.kind.lower()
        if kind in _SHIFTED_KINDS:
            continue
        out.append(GenericHit(f"textdeid:{kind}", span.start, span.end, text[span.start:span.end]))
    return out
