"""One handler per action code of PS3.15 Table E.1-1 (plus P pseudonym and V fixed value).

Each handler gets the dataset holding the element, the element, the run state and the mode of
the enclosing sequence, and returns the action it actually applied (for the audit trail).
Handlers for sequences call back into the walker (`run.walk`) so nesting is handled once.
"""
from __future__ import annotations

from typing import Callable

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.uid import UID_dictionary

from .actions import Action
from .state import Run
from ..vrs import DATE_VRS, FREE_TEXT_VRS
from .values import DateParseError, dummy_value, shift_date_value

DICOM_ROOT = "1.2.840.10008."


def is_well_known_uid(value: str) -> bool:
    """A UID from the DICOM registry (SOP classes, transfer syntaxes, coding schemes...): never remapped."""
    value = value.strip().rstrip("\x00")
    return value in UID_dictionary or value.startswith(DICOM_ROOT)


def _empty(elem: DataElement) -> bool:
    return elem.value is None or elem.value == "" or elem.value == b"" or (
        elem.VR == "SQ" and len(elem.value) == 0)


def _map_values(elem: DataElement, fn: Callable[[str], str]) -> None:
    """Apply fn to each value of a possibly multi-valued string element."""
    if elem.VM > 1:
        elem.value = [fn(str(v)) for v in elem.value]
    else:
        elem.value = fn(str(elem.value))


def remove(ds: Dataset, elem: DataElement, run: Run, path: str, mode: Action | None) -> Action:
    del ds[elem.tag]
    return Action.REMOVE


def zero(ds: Dataset, elem: DataElement, run: Run, path: str, mode: Action | None) -> Action:
    elem.value = [] if elem.VR == "SQ" else (b"" if elem.VR in ("OB", "OW", "UN") else "")
    return Action.ZERO


def keep(ds: Dataset, elem: DataElement, run: Run, path: str, mode: Action | None) -> Action:
    """K: unchanged for plain attributes, walked (cleaned) for sequences (PS3.15 E.1-1 definition)."""
    if elem.VR == "SQ":
        run.walk_sequence(elem, path, None)
    return Action.KEEP


def keep_scrubbed(ds: Dataset, elem: DataElement, run: Run, path: str, mode: Action | None) -> Action:
    """Attributes the table does not list are kept, but free text is scrubbed of this dataset's own
    identifying values and personal codes: they must not survive anywhere (issue 2, header PHI)."""
    if elem.VR in FREE_TEXT_VRS and not _empty(elem):
        before = elem.value
        _map_values(elem, run.text_cleaner(elem.VR))
        if str(elem.value) != str(before):
            return Action.CLEAN
        return Action.KEEP
    return keep(ds, elem, run, path, mode)


def remap_uid(ds: Dataset, elem: DataElement, run: Run, path: str, mode: Action | None) -> Action:
    """U: keyed one-way remap of every instance UID value; registry UIDs and class UIDs stay."""
    if elem.VR == "SQ":  # X/Z/U*: keep the sequence, remap the UIDs inside
        run.walk_sequence(elem, path, None)
        return Action.UID
    if elem.VR != "UI":
        return dummy(ds, elem, run, path, mode)
    if _empty(elem):
        return Action.KEEP
    _map_values(elem, lambda v: v if is_well_known_uid(v) else run.keyring.uid(v))
    return Action.UID


def shift_dates(ds: Dataset, elem: DataElement, run: Run, path: str, mode: Action | None) -> Action:
    """Shift DA/DT by the per-patient offset; an unparsable date is replaced by a dummy, never kept."""
    if _empty(elem):
        return Action.KEEP
    if run.days is None:  # callers shift only when the profile does; a date is never kept by accident
        raise ValueError("date shift asked for without a date offset")
    try:
        elem.value = shift_date_value(elem.VR, elem.value if elem.VM <= 1 else "\\".join(elem.value),
                                      run.days)
    except DateParseError:
        elem.value = dummy_value(elem.VR, "", elem.keyword, run.keyring.pseudonym)
        return Action.DUMMY
    run.dates_shifted += 1
    return Action.CLEAN


def dummy(ds: Dataset, elem: DataElement, run: Run, path: str, mode: Action | None) -> Action:
    """D: a non-empty dummy of the right VR (keyed pseudonym for text). Empty stays empty: a dummy would
    invent a value the original never had."""
    if elem.VR == "SQ":
        run.walk_sequence(elem, path, Action.DUMMY)
        return Action.DUMMY
    if _empty(elem):
        return Action.ZERO
    if elem.VR == "UI":
        return remap_uid(ds, elem, run, path, mode)
    if elem.VR in DATE_VRS and run.days is not None:
        return shift_dates(ds, elem, run, path, mode)
    original = str(elem.value)
    elem.value = dummy_value(elem.VR, original, elem.keyword, run.keyring.pseudonym)
    return Action.DUMMY


def clean(ds: Dataset, elem: DataElement, run: Run, path: str, mode: Action | None) -> Action:
    """C: keep what carries no identity. Dates shift (modified-dates option), text is scrubbed,
    sequences are walked in clean mode; what cannot be cleaned (AE titles, bitmaps) is replaced/removed."""
    vr = elem.VR
    if vr == "SQ":
        run.walk_sequence(elem, path, Action.CLEAN)
        return Action.CLEAN
    if _empty(elem):
        return Action.KEEP
    if vr in DATE_VRS:
        return shift_dates(ds, elem, run, path, mode) if run.days is not None else dummy(ds, elem, run, path, mode)
    if vr == "TM":
        return Action.KEEP if run.days is not None else dummy(ds, elem, run, path, mode)
    if vr in FREE_TEXT_VRS:
        _map_values(elem, run.text_cleaner(vr))
        return Action.CLEAN
    if vr == "AE":
        return pseudonym(ds, elem, run, path, mode)
    if vr == "UI":
        return remap_uid(ds, elem, run, path, mode)
    if vr in ("OB", "OW", "OF", "OD", "OL", "OV", "UN"):
        return remove(ds, elem, run, path, mode)  # no way to clean a bitmap / blob here
    return Action.KEEP


PSEUDONYM_FUNCS = {"PatientName": "patient_name", "PatientID": "patient_id"}


def pseudonym(ds: Dataset, elem: DataElement, run: Run, path: str, mode: Action | None) -> Action:
    """P: keyed pseudonym (same original -> same pseudonym), e.g. Patient Name / ID, accession numbers."""
    if _empty(elem):
        return Action.ZERO
    func = PSEUDONYM_FUNCS.get(elem.keyword)
    if func:
        _map_values(elem, getattr(run.keyring, func))
        return Action.PSEUDONYM
    if elem.VR not in FREE_TEXT_VRS | {"AE", "CS"}:
        return dummy(ds, elem, run, path, mode)
    limit = 16 if elem.VR in ("SH", "AE", "CS") else 64
    _map_values(elem, lambda v: (("ANON^" if elem.VR == "PN" else "ANON")
                                 + run.keyring.pseudonym(elem.keyword or elem.VR, v))[:limit])
    return Action.PSEUDONYM


def fixed_value(value: object) -> Handler:
    """V: the profile's replacement value (a site decision, e.g. PatientAge -> '000Y')."""
    def handler(ds: Dataset, elem: DataElement, run: Run, path: str, mode: Action | None) -> Action:
        elem.value = value
        return Action.FIXED
    return handler


Handler = Callable[[Dataset, DataElement, Run, str, "Action | None"], Action]

HANDLERS: dict[Action, Handler] = {
    Action.REMOVE: remove, Action.ZERO: zero, Action.DUMMY: dummy, Action.KEEP: keep,
    Action.KEEP_SCRUBBED: keep_scrubbed, Action.CLEAN: clean, Action.UID: remap_uid, Action.UID_ALL: remap_uid,
    Action.PSEUDONYM: pseudonym,
}
