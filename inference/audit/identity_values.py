"""The original personal values of one dataset, read by the auditor itself.

The auditor must not trust the redactor's view of what is personal, so it reads the original header itself
(the same attributes a person would look for burned into pixels or left in text). An Identity object from
inference.identity or plain strings are accepted too, so the release gate can pass what the pipeline has.
"""
from __future__ import annotations

from typing import Any, Iterable

from pydicom.dataset import Dataset

from .matching import PersonalValue

# attribute keyword -> kind; PN values are also split into their name components
_ATTRIBUTES: dict[str, str] = {
    "PatientName": "name", "OtherPatientNames": "name", "PatientBirthName": "name", "PatientMotherBirthName": "name",
    "ReferringPhysicianName": "name", "PerformingPhysicianName": "name", "OperatorsName": "name",
    "NameOfPhysiciansReadingStudy": "name", "RequestingPhysician": "name", "PhysiciansOfRecord": "name",
    "ResponsiblePerson": "name",
    "PatientID": "id", "OtherPatientIDs": "id", "IssuerOfPatientID": "other", "AccessionNumber": "id",
    "MedicalRecordLocator": "id", "StudyID": "id",
    "PatientBirthDate": "date", "StudyDate": "date", "SeriesDate": "date", "AcquisitionDate": "date",
    "ContentDate": "date",
    "PatientAddress": "address", "PatientTelephoneNumbers": "phone", "InstitutionName": "institution",
    "InstitutionAddress": "address", "InstitutionalDepartmentName": "institution", "StationName": "other",
    "DeviceSerialNumber": "id",
}
_NOT_PERSONAL = {"", "ANONYMOUS", "ANON", "UNKNOWN", "NONE", "N/A", "NA", "0", "-", "1"}


def values_from_dataset(ds: Dataset) -> list[PersonalValue]:
    """Personal values of the ORIGINAL dataset (top level and the Other Patient IDs sequence)."""
    out: list[PersonalValue] = []
    for keyword, kind in _ATTRIBUTES.items():
        value = ds.get(keyword)
        if value is None:
            continue
        for text in _strings(value):
            out.extend(_expand(kind, text))
    for item in ds.get("OtherPatientIDsSequence", []) or []:
        pid = item.get("PatientID")
        if pid:
            out.extend(_expand("id", str(pid)))
    return out


def values_from_any(original: Any) -> list[PersonalValue]:
    """Normalise what callers hand in: a Dataset, an Identity-like object (.tokens()), strings or PersonalValues."""
    if original is None:
        return []
    if isinstance(original, Dataset):
        return values_from_dataset(original)
    if hasattr(original, "names") and hasattr(original, "ids"):   # inference.identity.Identity
        return _from_identity(original)
    if hasattr(original, "tokens") and callable(original.tokens):
        return _from_tokens(original.tokens())
    if isinstance(original, PersonalValue):
        return [original]
    if isinstance(original, str):
        return _expand("other", original)
    if isinstance(original, Iterable):
        out: list[PersonalValue] = []
        for item in original:
            out.extend(values_from_any(item))
        return out
    raise TypeError(f"original_identity: cannot read personal values from {type(original).__name__}")


_IDENTITY_FIELDS = {"names": "name", "ids": "id", "dates": "date", "institutions": "institution",
                    "addresses": "address", "phones": "phone", "extra": "other"}


def _from_identity(identity: Any) -> list[PersonalValue]:
    """inference.identity.Identity keeps values by kind: keep the kinds (dates and IDs match on digits)."""
    out: list[PersonalValue] = []
    for field_name, kind in _IDENTITY_FIELDS.items():
        for text in getattr(identity, field_name, ()) or ():
            out.extend(_expand(kind, str(text)))
    for field_name, kind in (("patient_name", "name"), ("patient_id", "id"), ("birth_date", "date")):
        text = getattr(identity, field_name, "")
        if text:
            out.extend(_expand(kind, str(text)))
    return out


def _from_tokens(tokens: Iterable[Any]) -> list[PersonalValue]:
    """Identity.tokens() may give strings or (kind, text) pairs or objects with .kind/.text; accept all three."""
    out: list[PersonalValue] = []
    for t in tokens:
        if isinstance(t, str):
            kind = "date" if (len(t) == 8 and t.isdigit()) else "other"
            out.extend(_expand(kind, t))
        elif isinstance(t, tuple) and len(t) == 2:
            out.extend(_expand(str(t[0]), str(t[1])))
        elif hasattr(t, "text"):
            out.extend(_expand(str(getattr(t, "kind", "other")), str(t.text)))
        else:
            out.extend(_expand("other", str(t)))
    return out


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _expand(kind: str, text: str) -> list[PersonalValue]:
    """A value plus, for person names, each name component long enough to identify (>= 3 letters)."""
    text = text.strip().strip("\x00").strip()
    if text.upper() in _NOT_PERSONAL:
        return []
    out = [PersonalValue(kind, text)]
    if kind == "name":
        parts = [p for p in text.replace("^", " ").replace("=", " ").split() if len(p) >= 3]
        out.extend(PersonalValue("name", p) for p in parts if p != text)
    if kind == "address":
        parts = [p for p in text.replace(",", " ").split() if len(p) >= 5 and not p.isdigit()]
        out.extend(PersonalValue("address", p) for p in parts)
    return out
