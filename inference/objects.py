"""Classify a DICOM object: which content handler it needs and which `--drop` names match it.

The mapping lives in data/object_types.yaml (data, not code) so a site can add a SOP class without a release.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydicom.dataset import Dataset

from inference.resources import data_file

DATA = data_file("inference", "data", "object_types.yaml")
HANDLERS = ("image", "sr", "pdf", "waveform", "header")
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


@dataclass(frozen=True)
class ObjectType:
    name: str
    handler: str
    uids: frozenset[str]
    prefixes: tuple[str, ...]

    def matches(self, sop_class_uid: str) -> bool:
        return sop_class_uid in self.uids or any(sop_class_uid.startswith(p) for p in self.prefixes)


@lru_cache(maxsize=None)
def object_types(path: Path = DATA) -> tuple[ObjectType, ...]:
    raw = yaml.safe_load(path.read_text())["types"]
    types = tuple(
        ObjectType(r["name"], r["handler"], frozenset(r.get("uids", [])), tuple(r.get("prefixes", [])))
        for r in raw
    )
    bad = [t.name for t in types if t.handler not in HANDLERS]
    if bad:
        raise ValueError(f"{path}: unknown handler for {bad}; expected one of {HANDLERS}")
    return types


def drop_names() -> set[str]:
    """Every name `--drop` accepts."""
    return {t.name for t in object_types()}


def has_pixels(ds: Dataset) -> bool:
    """Top-level pixel data of any kind: it may carry burned-in text, whatever the SOP class promises."""
    return any(k in ds for k in PIXEL_KEYWORDS)


def _by_content(ds: Dataset) -> str:
    if "EncapsulatedDocument" in ds:
        return "pdf"
    if "WaveformSequence" in ds:
        return "waveform"
    if has_pixels(ds):
        return "image"
    if "ContentSequence" in ds:
        return "sr"
    return "header"


def _is_image_class(uid: str) -> bool:
    """Standard image storage classes by their registered name: an image object must always carry pixels."""
    from pydicom.uid import UID
    name = UID(uid).name if uid else ""
    return "Image Storage" in name and "Presentation State" not in name


def classify(ds: Dataset) -> tuple[str, str]:
    """Return (type name, handler) for a dataset; unknown classes are handled by what they contain."""
    uid = str(ds.get("SOPClassUID", "") or getattr(getattr(ds, "file_meta", None), "MediaStorageSOPClassUID", ""))
    for t in object_types():
        if t.matches(uid):
            # content found where a handler expects none is escalated: pixels of a 'header-only' class (RT Dose,
            # SEG, Parametric Map, a crafted GSPS) go through the pixel stage, which quarantines what it cannot read
            handler = t.handler
            if handler == "header" and "EncapsulatedDocument" in ds:
                handler = "pdf"
            elif handler == "header" and has_pixels(ds):
                handler = "image"
            return t.name, handler
    if _is_image_class(uid):
        return "image", "image"
    handler = _by_content(ds)
    return {"image": "image", "sr": "sr", "pdf": "document", "waveform": "waveform"}.get(handler, "other"), handler
