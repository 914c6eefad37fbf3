"""Clean SR-style content items (ValueType + ConceptNameCodeSequence + value), wherever they occur.

Why shared: the same item macro carries SR report trees, waveform acquisition context and observer context.
Text values are scrubbed by the TextDeidentifier, person names become keyed pseudonyms, CODE meanings are only
touched when they hold an identifier, and items whose concept says what they are (Device Observer Serial
Number...) follow data/observer_concepts.yaml. Dates and UIDs are left to the header engine (one place shifts
and remaps them, so nothing is shifted twice), unless ``uids_and_dates=True`` for callers without it.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml
from pydicom.dataset import Dataset

from inference.resources import data_file

from ..keys import Keyring
from ..textdeid import TextDeidentifier
from ..textdeid.fold import fold
from ..vrs import FREE_TEXT_VRS

DATA = data_file("inference.documents", "data", "observer_concepts.yaml")
# free text of a content item; PN values are names, handled as such (PNAME items), not scrubbed as text
ITEM_TEXT_VRS = FREE_TEXT_VRS - {"PN"}
# scrubbed by their own handler (a second scrub would shift dates twice)
ALREADY_SCRUBBED = frozenset({"TextValue", "UnformattedTextValue", "CodeMeaning", "CodeValue", "LongCodeValue"})
_SPLIT = re.compile(r"[\^=\s,;.\-]+")


@lru_cache(maxsize=1)
def _concept_data() -> dict[str, Any]:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def observer_concepts() -> dict[tuple[str, str], dict[str, str]]:
    """(scheme, code) -> {action, kind}."""
    raw = _concept_data()
    return {("DCM", str(code)): spec for code, spec in raw["DCM"].items()}


def standard_schemes() -> frozenset[str]:
    """Coding schemes whose meanings are dictionary terms (kept as they are)."""
    return frozenset(s.upper() for s in _concept_data()["standard_schemes"])


@dataclass
class ItemCleaner:
    """Cleans content items for one dataset; counts what it did (for the audit trail, no values)."""

    textdeid: TextDeidentifier
    keyring: Keyring
    uids_and_dates: bool = False
    counts: Counter = field(default_factory=Counter)

    # ---------------------------------------------------------------------------------------- values
    def person_name(self, value: Any) -> str:
        """The patient's own name -> the header's PatientName pseudonym; anyone else -> a keyed pseudonym."""
        text = str(value or "").strip()
        if not text:
            return text
        parts = {fold(p) for p in _SPLIT.split(text) if len(p) >= 2}
        own = set(self.textdeid.terms.name_parts)
        if parts and own and parts <= own | {""} and len(parts & own) >= min(2, len(own)):
            return self.textdeid.patient_pseudonym
        norm = " ".join(sorted(parts))
        return "ANON^" + self.keyring.pseudonym("person-name", norm, 8)

    def pseudonym(self, value: str, limit: int = 64) -> str:
        return ("ANON" + self.keyring.pseudonym("sr-text", fold(value).strip(), 10))[:limit]

    def scrub(self, value: Any) -> str:
        return self.textdeid.scrub(str(value))

    # ----------------------------------------------------------------------------------------- items
    def clean_item(self, item: Dataset) -> None:
        """One content item (not its children)."""
        vt = str(item.get("ValueType", "") or "")
        concept = _concept(item)
        spec = observer_concepts().get(concept, {}) if concept else {}
        action = spec.get("action", "scrub")

        if "TextValue" in item and item.TextValue:
            item.TextValue = self._text_by_action(str(item.TextValue), action, spec.get("kind", "ID"))
            self.counts["TEXT"] += 1
        if "PersonName" in item and item.PersonName:
            item.PersonName = self.person_name(item.PersonName)
            self.counts["PNAME"] += 1
        for seq in ("ConceptNameCodeSequence", "ConceptCodeSequence"):
            for code in item.get(seq, []) or []:
                self._clean_code(code)
        if "CodeMeaning" in item:                 # a code item reached by the tree walk (units, modifiers...)
            self._clean_code(item)
        if self.uids_and_dates:
            self._uids_and_dates(item)
        self._other_text(item)
        if vt:
            self.counts[f"item:{vt}"] += 1

    def _text_by_action(self, value: str, action: str, kind: str) -> str:
        if action == "pseudonym":
            return self.pseudonym(value)
        if action == "patient_id":
            return self.keyring.patient_id(self.textdeid.terms.patient_id or value)
        if action == "redact":
            return self.textdeid.options.redaction_format.format(kind=kind)
        if action == "person_name":
            return self.person_name(value).replace("^", " ")
        return self.scrub(value)

    def _clean_code(self, code: Dataset) -> None:
        """CODE meanings are kept unless they hold an identifier (then scrubbed); standard dictionaries stay."""
        if str(code.get("CodingSchemeDesignator", "")).upper() in standard_schemes():
            return
        for kw in ("CodeMeaning", "CodeValue", "LongCodeValue"):
            if kw in code and code[kw].value and self.textdeid.contains_identifier(str(code[kw].value)):
                if kw == "CodeMeaning":
                    code.CodeMeaning = self.scrub(code.CodeMeaning)[:64]
                else:
                    code[kw].value = self.pseudonym(str(code[kw].value), 16 if kw == "CodeValue" else 64)
                self.counts["CODE scrubbed"] += 1

    def _other_text(self, item: Dataset) -> None:
        """Any other free text in the item itself (not sequences) is scrubbed too: nothing slips by."""
        for elem in item:
            if elem.VR in ITEM_TEXT_VRS and elem.keyword not in ALREADY_SCRUBBED and elem.value:
                if elem.VM > 1:
                    elem.value = [self.scrub(v) for v in elem.value]
                else:
                    elem.value = self.scrub(elem.value)
            elif elem.VR == "PN" and elem.keyword != "PersonName" and elem.value:
                elem.value = self.person_name(elem.value)
                self.counts["PN"] += 1

    def _uids_and_dates(self, item: Dataset) -> None:
        from ..header.values import shift_date_value
        days = self.textdeid.date_offset
        for elem in item:
            if elem.VR == "UI" and elem.value and elem.keyword not in ("ReferencedSOPClassUID", "SOPClassUID"):
                vals = elem.value if elem.VM > 1 else [elem.value]
                new = [str(v) if str(v).startswith("1.2.840.10008.") else self.keyring.uid(str(v)) for v in vals]
                elem.value = new if elem.VM > 1 else new[0]
                self.counts["UID"] += 1
            elif elem.VR in ("DA", "DT") and elem.value:
                elem.value = shift_date_value(elem.VR, str(elem.value), days)
                self.counts["DATE"] += 1

    # ------------------------------------------------------------------------------------------ trees
    def clean_tree(self, items: Any, depth: int = 0) -> None:
        """Every item of a content sequence, depth first, all the way down (any nested sequence)."""
        if depth > 200:
            from . import DocumentError
            raise DocumentError("content tree deeper than 200 levels (cyclic or corrupt)")
        for item in items or []:
            self.clean_item(item)
            for elem in item:
                if elem.VR == "SQ" and elem.keyword not in ("ConceptNameCodeSequence", "ConceptCodeSequence"):
                    if elem.keyword in ("ContentSequence",) or _has_items(elem.value):
                        self.clean_tree(elem.value, depth + 1)


def _has_items(seq: Any) -> bool:
    return bool(seq) and any(isinstance(i, Dataset) for i in seq)


def _concept(item: Dataset) -> tuple[str, str] | None:
    seq = item.get("ConceptNameCodeSequence")
    if not seq:
        return None
    code = seq[0]
    return str(code.get("CodingSchemeDesignator", "")), str(code.get("CodeValue", ""))
