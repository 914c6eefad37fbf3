"""Classify a DICOM object: which content handler it needs and which `--drop` names match it.

The mapping lives in data/object_types.yaml (data, not code) so a site can add a SOP class without a release.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydicom.dataset import Dataset

DATA = Path(__file__).parent / "data" / "object_types.yaml"
HANDLERS = ("image", "sr", "pdf", "waveform", "header")
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"


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


def _by_content(ds: Dataset) -> str:
    if "EncapsulatedDocument" in ds:
        return "pdf"
    if "WaveformSequence" in ds:
        return "waveform"
    if "PixelData" in ds or "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
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
            # a class mapped to header-only that still carries pixel data of its own kind keeps header handling
            # only where the YAML says so; content found where a handler expects none is escalated.
            handler = t.handler
            if handler == "header" and "EncapsulatedDocument" in ds:
                handler = "pdf"
            return t.name, handler
    if _is_image_class(uid):
        return "image", "image"
    handler = _by_content(ds)
    return {"image": "image", "sr": "sr", "pdf": "document", "waveform": "waveform"}.get(handler, "other"), handler
