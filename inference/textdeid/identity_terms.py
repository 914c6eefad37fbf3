"""What the text de-identifier must look for about THIS patient, read from any identity that satisfies
``PersonalValues``.

Why a Protocol: the pipeline hands ``inference.identity.Identity`` (values read from the header), the synthetic
generator has its own ``synth.identity.Identity``. Both satisfy ``PersonalValues`` (mypy checks it), and the
fields are read directly: a renamed or missing field is an error, never an empty value that silently means less
scrubbing. This module turns either into plain term lists so the detectors never depend on one identity class.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Iterable, Protocol, runtime_checkable

from .fold import fold

_NAME_SPLIT = re.compile(r"[\^=\s,;.\-/]+")
_PN_OR_WORDS = re.compile(r"^[^\W\d_]+(?:[\s\^,.\-'][^\W\d_]*)*$")


@dataclass(frozen=True)
class IdentityTerms:
    patient_name: str                    # the original full name (PN form or words), for the pseudonym
    patient_id: str                      # original Patient ID, for the pseudonym
    date_key: str                        # what the per-patient date offset is keyed on (as the header engine)
    name_parts: tuple[str, ...]          # folded name parts of the patient (>= 2 letters)
    other_names: tuple[str, ...]         # folded name parts of other people in the header (physicians...)
    ids: tuple[str, ...]                 # other identifying codes (accession, personal code...), original text
    literals: tuple[str, ...]            # any other identifying strings (addresses, institutions, e-mails...)


@runtime_checkable
class PersonalValues(Protocol):
    """The original personal values of one patient, as the text de-identifier reads them."""

    @property
    def patient_name(self) -> str: ...       # the full name (PN form FAMILY^GIVEN or words)

    @property
    def patient_id(self) -> str: ...

    @property
    def patient_key(self) -> str: ...        # what the per-patient date offset is keyed on

    @property
    def birth_date(self) -> str | dt.date: ...

    @property
    def name_parts(self) -> tuple[str, ...]: ...   # the patient's name words when known apart (given, family)

    def person_names(self) -> Iterable[str]: ...   # every name of a person the object knows (renderings, staff)

    def tokens(self) -> Iterable[str]: ...         # every identifying string


def _as_str(value: str | dt.date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.strftime("%Y%m%d")
    return str(value).strip()


def _name_parts(name: str) -> list[str]:
    """Folded words of a name; parts with digits are not name words (PN fields misused for IDs)."""
    return [fold(p) for p in _NAME_SPLIT.split(name) if len(p) >= 2 and not any(c.isdigit() for c in p)]


def _is_name_like(token: str) -> bool:
    return bool(_PN_OR_WORDS.match(token)) and len(token.split()) <= 4 and "^" not in token[:1]


def _is_date(token: str) -> bool:
    from .dates import find_dates
    f = fold(token).strip()
    return any(m.start == 0 and m.end == len(f) and m.date is not None and "t" not in m.groups
               for m in find_dates(f))     # a date+time digit run (YYYYMMDDhhmm) in a token is an ID


def terms_of(identity: PersonalValues | None) -> IdentityTerms:
    """Extract the terms from an identity (None: no patient is known, only the generic detectors run)."""
    if identity is None:
        return IdentityTerms("", "", "", (), (), (), ())
    pname = _as_str(identity.patient_name)
    pid = _as_str(identity.patient_id)
    date_key = _as_str(identity.patient_key)
    parts = list(dict.fromkeys(_name_parts(pname)))
    for p in identity.name_parts:
        parts += [x for x in _name_parts(str(p)) if x not in parts]
    parts = [p for p in parts if len(p) >= 2]

    others: list[str] = []
    for n in identity.person_names():
        others += [p for p in _name_parts(n) if p not in parts and len(p) >= 3]
    tokens = [str(t) for t in identity.tokens()]
    ids: list[str] = []
    literals: list[str] = []
    birth = _as_str(identity.birth_date)
    for t in tokens + [pid, birth]:
        t = t.strip()
        if not t:
            continue
        digits = sum(c.isdigit() for c in t)
        if _is_date(t):
            continue                  # dates are found (and shifted) by the date detector in any layout
        if digits >= 3 and digits >= len(re.sub(r"\W", "", t)) / 2:
            ids.append(t)
        elif all(p in parts for p in _name_parts(t)) and _is_name_like(t):
            continue                  # a rendering of the patient's own name: the name detector handles it
        elif len(t) >= 3:
            literals.append(t)
    return IdentityTerms(
        patient_name=pname, patient_id=pid, date_key=date_key, name_parts=tuple(parts),
        other_names=tuple(dict.fromkeys(others)), ids=tuple(dict.fromkeys(ids)),
        literals=tuple(dict.fromkeys(literals)),
    )
