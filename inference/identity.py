"""The original personal values of one dataset, read BEFORE header de-identification.

Text handlers (header free text, SR, PDF, burned-in text) and the auditor need to know which
strings identify this patient in order to find them elsewhere; the header engine replaces the
attributes themselves. An Identity is held in memory only and never written to OUTPUT.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from pydicom.charset import python_encoding
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset

from .errors import NotReleasable


def register_charsets() -> None:
    """pydicom 3.0.2 does not know ISO_IR 179 (Latin-7, ISO 8859-13: Baltic, used for Lithuanian); without it
    Lithuanian names in such files decode as mojibake. Done at import here because identity is read first."""
    python_encoding.setdefault("ISO_IR 179", "iso8859_13")


register_charsets()

# Attributes (besides every PN) whose values identify the patient or the people / place involved.
ID_KEYWORDS = ("PatientID", "OtherPatientIDs", "AccessionNumber", "StudyID", "AdmissionID",
               "MedicalRecordLocator", "RequestedProcedureID", "PerformedProcedureStepID",
               "ScheduledProcedureStepID", "PlacerOrderNumberImagingServiceRequest",
               "FillerOrderNumberImagingServiceRequest", "PatientInsurancePlanCodeSequence",
               "ClinicalTrialSubjectID", "ClinicalTrialSubjectReadingID")
DATE_KEYWORDS = ("PatientBirthDate",)
INSTITUTION_KEYWORDS = ("InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "StationName")
ADDRESS_KEYWORDS = ("PatientAddress", "RegionOfResidence")
PHONE_KEYWORDS = ("PatientTelephoneNumbers", "PersonTelephoneNumbers", "PatientTelecomInformation")
MIN_NAME_PART = 2
MIN_ID_LEN = 3
_SPLIT_NAME = re.compile(r"[\^=\s,;.\-]+")


def fold_ascii(text: str) -> str:
    """'Šarūnas Žemaitė' -> 'Sarunas Zemaite': burned-in text and old systems often drop diacritics."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def date_forms(value: str) -> set[str]:
    """A DA value written the ways people and devices write dates."""
    value = value.strip()
    if not re.fullmatch(r"\d{8}", value):
        return {value} if value else set()
    try:
        d = date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return {value}
    fmts = ("%Y%m%d", "%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y",
            "%d-%m-%Y", "%d.%m.%y", "%d-%b-%Y", "%d %b %Y")
    return {d.strftime(f) for f in fmts} | {d.strftime(f).upper() for f in fmts}


def _values(elem) -> list[str]:
    value = elem.value
    if value is None or value == "":
        return []
    items = list(value) if elem.VM > 1 else [value]
    return [str(v).strip() for v in items if str(v).strip()]


_KIND_BY_TAG = {tag_for_keyword(kw): kind for kind, kws in (
    ("ids", ID_KEYWORDS), ("dates", DATE_KEYWORDS), ("institutions", INSTITUTION_KEYWORDS),
    ("addresses", ADDRESS_KEYWORDS), ("phones", PHONE_KEYWORDS)) for kw in kws}


class IdentityReadError(NotReleasable, ValueError):
    """An element could not be decoded, so the personal values cannot be known (the file must not pass)."""


def _raw_vr(ds: Dataset, tag) -> str | None:
    vr = getattr(ds.get_item(tag), "VR", None)
    if vr is None:  # implicit VR file: the dictionary knows
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            return None
    return vr


def _elements(ds: Dataset):
    """The elements that can hold identity (PN, sequences, the listed keywords), decoded. Everything else is
    skipped before decoding: decoding every number of a large header costs more than the whole de-id."""
    for tag in list(ds.keys()):
        if tag.is_private or (int(tag) not in _KIND_BY_TAG and _raw_vr(ds, tag) not in ("PN", "SQ")):
            continue
        try:
            yield ds[tag]
        except Exception as exc:
            raise IdentityReadError(f"cannot decode ({int(tag) >> 16:04X},{int(tag) & 0xFFFF:04X}): "
                                    f"{type(exc).__name__}") from exc


def _collect(ds: Dataset, found: dict[str, list[str]]) -> None:
    """Walk every item recursively: PN anywhere, and the listed keywords at any depth."""
    for elem in _elements(ds):
        if elem.VR == "SQ":
            for item in elem.value or []:
                _collect(item, found)
            continue
        if elem.VR == "PN":
            found["names"] += _values(elem)
            continue
        kind = _KIND_BY_TAG.get(int(elem.tag))
        if kind:
            found[kind] += _values(elem)


@dataclass(frozen=True)
class Identity:
    """Original identifying values of one dataset (patient, staff, institution)."""

    patient_id: str = ""
    patient_name: str = ""
    birth_date: str = ""
    names: tuple[str, ...] = ()  # every PN value (patient, other names, physicians, operators...)
    ids: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    institutions: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    extra: tuple[str, ...] = field(default=())  # values a caller adds (e.g. from a worklist)

    @classmethod
    def from_dataset(cls, ds: Dataset) -> Identity:
        found: dict[str, list[str]] = {k: [] for k in
                                       ("names", "ids", "dates", "institutions", "addresses", "phones")}
        _collect(ds, found)
        uniq = {k: tuple(dict.fromkeys(v)) for k, v in found.items()}
        return cls(patient_id=str(ds.get("PatientID", "") or "").strip(),
                   patient_name=str(ds.get("PatientName", "") or "").strip(),
                   birth_date=str(ds.get("PatientBirthDate", "") or "").strip(), **uniq)

    @property
    def patient_key(self) -> str:
        """What the per-patient date offset is keyed on: the original Patient ID, else the name."""
        return self.patient_id or self.patient_name

    @property
    def name_parts(self) -> tuple[str, ...]:
        """The header gives the patient's name whole (patient_name): no separately known parts."""
        return ()

    def person_names(self) -> tuple[str, ...]:
        """Every PN value of the header: the patient's and other people's (physicians, operators...)."""
        return self.names

    def name_tokens(self) -> set[str]:
        out: set[str] = set()
        for name in self.names:
            parts = [p for p in _SPLIT_NAME.split(name) if len(p) >= MIN_NAME_PART]
            out.update(parts)
            if len(parts) >= 2:
                out.update({" ".join(parts), " ".join(reversed(parts)), ", ".join(parts)})
        return out

    def tokens(self) -> set[str]:
        """Identifying strings to look for in text: name parts (>= 2 chars), full names in both orders,
        IDs, dates in common formats, institutions, addresses, phone numbers; ASCII-folded forms too."""
        out = self.name_tokens()
        out.update(i for i in self.ids if len(i) >= MIN_ID_LEN)
        for d in self.dates:
            out |= date_forms(d)
        out.update(self.institutions + self.addresses + self.phones + self.extra)
        out |= {fold_ascii(t) for t in out}
        return {t for t in out if t.strip()}
