"""Structured Reports: de-identify the whole content tree of any SR storage class (and Key Object Selection).

Division of work with the header engine (which runs after this):
- here: TEXT values (text de-identifier), PNAME values (keyed pseudonyms; the patient's own name becomes the
  header's PatientName pseudonym), CODE meanings holding identifiers, observer/subject context items by concept
  (data/observer_concepts.yaml), every other free text or PN inside the tree, verifying observer / author /
  participant names at the top level.
- header engine: every UID (UIDREF, ReferencedSOPSequence in the tree, CurrentRequestedProcedureEvidenceSequence)
  and every DA/DT, anywhere, with the same keyring as the images: one place remaps and shifts, so SR
  references stay consistent with the images and nothing is shifted twice. It must be called with
  ``keep_tags=KEEP_TAGS`` so it keeps what was cleaned here instead of dummying or re-cleaning it.
"""
from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset
from pydicom.tag import Tag

from ..keys import Keyring
from ..textdeid import TextDeidentifier
from .content_items import ItemCleaner

KEEP_TAGS: frozenset[int] = frozenset(int(Tag(k)) for k in (
    "ContentSequence",      # (0040,A730) basic profile: D; the tree is cleaned here, its UIDs/dates still walked
    "TextValue",            # (0040,A160) scrubbed here (dates shifted): a second scrub would shift them again
    "PersonName",           # (0040,A123) basic profile: D; already the consistent keyed pseudonym
))
# top-level sequences of SR documents whose items may carry names (observer, author, participant...)
_PEOPLE_SEQUENCES = ("VerifyingObserverSequence", "AuthorObserverSequence", "ParticipantSequence",
                     "CustodialOrganizationSequence", "PredecessorDocumentsSequence")


def deidentify_sr(ds: Dataset, identity: Any, keyring: Keyring, textdeid: TextDeidentifier,
                  *, uids_and_dates: bool = False) -> list[str]:
    """Clean the content tree of ``ds`` in place; return the actions (counts, never values).

    ``uids_and_dates=True`` also remaps UIDs and shifts DA/DT in the tree, for callers that do NOT run the
    header engine afterwards (the pipeline does, so the default leaves them to it).
    """
    cleaner = ItemCleaner(textdeid, keyring, uids_and_dates=uids_and_dates)
    trees = [e for e in ds if e.VR == "SQ" and (e.keyword == "ContentSequence" or _holds_content_items(e.value))]
    for elem in trees:                     # ContentSequence, and the retired trial SR sequences (FindingsSequence)
        cleaner.clean_tree(elem.value)
    for name in _PEOPLE_SEQUENCES:
        if name in ds:
            cleaner.clean_tree(ds[name].value)
    for kw in ("ContentCreatorName",):
        if kw in ds and ds[kw].value:
            ds[kw].value = cleaner.person_name(ds[kw].value)
    actions = [f"sr: {k} x{v}" for k, v in sorted(cleaner.counts.items())]
    return actions or ["sr: no content items"]


def _holds_content_items(items: Any) -> bool:
    return any(isinstance(i, Dataset) and ("ValueType" in i or "TextValue" in i) for i in items or [])
