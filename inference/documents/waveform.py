"""Waveforms (12-lead / general ECG, Holter, hemodynamic, ...): annotation and context text de-identified,
samples untouched.

Why nothing else: WaveformData is the signal itself and must stay bit for bit; channel definitions are device
settings. Free text lives in WaveformAnnotationSequence (UnformattedTextValue, and content-item style TEXT /
PNAME annotations) and AcquisitionContextSequence (content items). The header engine does the rest (patient
module, dates, UIDs) and must be called with ``keep_tags=KEEP_TAGS``.
"""
from __future__ import annotations

import hashlib
from typing import Any

from pydicom.dataset import Dataset
from pydicom.tag import Tag

from ..keys import Keyring
from ..textdeid import TextDeidentifier
from . import DocumentError
from .content_items import ItemCleaner

KEEP_TAGS: frozenset[int] = frozenset(int(Tag(k)) for k in (
    "UnformattedTextValue",   # (0070,0006) scrubbed here (dates shifted): a second scrub would shift again
    "TextValue",              # content-item text in annotations / acquisition context, scrubbed here
    "PersonName",             # content-item names, already keyed pseudonyms
))


def waveform_digest(ds: Dataset) -> str:
    """SHA-256 over every multiplex group's WaveformData, to prove the samples did not change."""
    h = hashlib.sha256()
    for group in ds.get("WaveformSequence", []) or []:
        h.update(bytes(group.get("WaveformData", b"") or b""))
    return h.hexdigest()


def deidentify_waveform(ds: Dataset, identity: Any, keyring: Keyring, textdeid: TextDeidentifier) -> list[str]:
    """Scrub annotation and acquisition-context text of ``ds`` in place; verify the samples are unchanged."""
    if "WaveformSequence" not in ds:
        raise DocumentError("waveform object without WaveformSequence")
    before = waveform_digest(ds)
    cleaner = ItemCleaner(textdeid, keyring)
    n_text = 0
    for ann in ds.get("WaveformAnnotationSequence", []) or []:
        if "UnformattedTextValue" in ann and ann.UnformattedTextValue:
            ann.UnformattedTextValue = textdeid.scrub(str(ann.UnformattedTextValue))
            n_text += 1
        cleaner.clean_item(ann)                      # TEXT/PNAME/CODE annotations (content item macro)
    for name in ("AcquisitionContextSequence", "AcquisitionContextDescription"):
        if name not in ds:
            continue
        elem = ds[name]
        if elem.VR == "SQ":
            cleaner.clean_tree(elem.value)
        elif elem.value:
            elem.value = textdeid.scrub(str(elem.value))
    # free text in the multiplex groups (labels are device words, but a site may type anything there)
    for group in ds.get("WaveformSequence", []) or []:
        if "MultiplexGroupLabel" in group and group.MultiplexGroupLabel:
            group.MultiplexGroupLabel = textdeid.scrub(str(group.MultiplexGroupLabel))[:64]
        for ch in group.get("ChannelDefinitionSequence", []) or []:
            if "ChannelLabel" in ch and ch.ChannelLabel:
                ch.ChannelLabel = textdeid.scrub(str(ch.ChannelLabel))[:16]
    if waveform_digest(ds) != before:
        raise DocumentError("waveform samples changed during de-identification")
    actions = [f"waveform: {n_text} annotation text(s) scrubbed, samples unchanged (sha256 verified)"]
    actions += [f"waveform: {k} x{v}" for k, v in sorted(cleaner.counts.items())]
    return actions
