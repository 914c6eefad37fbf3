"""Find the DICOM files under an input path, by content rather than by extension."""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pydicom
from pydicom.errors import InvalidDicomError

from .objects import MEDIA_STORAGE_DIRECTORY


@dataclass(frozen=True)
class Candidate:
    path: Path          # absolute path of the file
    relpath: str        # path relative to the input root (for the audit trail only; never under OUTPUT)
    kind: str           # "dicom", "dicomdir" or "not-dicom"
    detail: str = ""    # why a file is not DICOM


def sniff(path: Path) -> tuple[str, str]:
    """Say whether a file is DICOM: 'DICM' at byte 128, or a header-only parse without preamble that finds
    real attributes. DICOMDIR (Media Storage Directory) is recognised and reported separately."""
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError as e:
        return "not-dicom", f"unreadable: {e.strerror}"
    if len(head) < 8:
        return "not-dicom", "too short to be DICOM"
    has_preamble = head[128:132] == b"DICM"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=not has_preamble,
                                 specific_tags=["SOPClassUID", "SOPInstanceUID", "DirectoryRecordSequence"])
    except (InvalidDicomError, EOFError, ValueError, OSError, KeyError, TypeError) as e:
        if has_preamble:
            return "dicom", ""  # a damaged DICOM file: let the pipeline quarantine it with the real error
        return "not-dicom", f"not DICOM ({type(e).__name__})"
    meta = getattr(ds, "file_meta", None)
    sop_class = str(ds.get("SOPClassUID", "") or (meta.get("MediaStorageSOPClassUID", "") if meta else ""))
    if sop_class == MEDIA_STORAGE_DIRECTORY or "DirectoryRecordSequence" in ds:
        return "dicomdir", "DICOMDIR (a media index, not an instance)"
    if not has_preamble:
        # force=True parses almost anything: require real identifying attributes of an instance
        if not (ds.get("SOPClassUID") or ds.get("SOPInstanceUID")):
            return "not-dicom", "no DICOM preamble and no SOP Class/Instance UID"
    return "dicom", ""


def candidate(path: Path, relpath: str) -> Candidate:
    """One file as the walk sees it (also used by distributed workers, which sniff their own files)."""
    if path.is_symlink() and not path.exists():
        return Candidate(path, relpath, "not-dicom", "broken symbolic link")
    if not path.is_file():
        return Candidate(path, relpath, "not-dicom", "missing or not a regular file")
    kind, detail = sniff(path)
    return Candidate(path.resolve(), relpath, kind, detail)


def walk(root: Path) -> Iterator[Candidate]:
    """Yield every file under root (or root itself), sorted so runs are reproducible."""
    root = Path(root)
    if root.is_file():
        kind, detail = sniff(root)
        yield Candidate(root.resolve(), root.name, kind, detail)
        return
    for p in walk_paths(root):
        yield candidate(p, str(p.relative_to(root)))


def walk_paths(root: Path) -> Iterator[Path]:
    """Every file path under root in sorted order, lazily and without opening any (cheap listing)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name
