"""Helpers for the document tests: run a content handler + the header engine the way the pipeline must,
and look for identity tokens anywhere in the result (case- and diacritics-insensitive, word-bounded)."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import pydicom
from pydicom.dataset import Dataset

from inference.documents import pdf as pdf_mod
from inference.documents import sr as sr_mod
from inference.documents import waveform as wf_mod
from inference.header import load_profile
from inference.header.engine import deidentify_dataset
from inference.identity import Identity
from inference.keys import Keyring
from inference.textdeid import TextDeidentifier
from inference.textdeid.fold import fold

HANDLERS: dict[str, tuple[Callable, frozenset[int]]] = {
    "sr": (sr_mod.deidentify_sr, sr_mod.KEEP_TAGS),
    "pdf": (pdf_mod.deidentify_pdf, pdf_mod.KEEP_TAGS),
    "waveform": (wf_mod.deidentify_waveform, wf_mod.KEEP_TAGS),
}


def process(path: Path, kind: str, keyring: Keyring, extra_identity: Any = None,
            detector: Any = None) -> tuple[Dataset, bytes, Identity]:
    """Content handler, then the header engine with keep_tags, then serialise: (dataset, file bytes, identity)."""
    ds = pydicom.dcmread(path)
    identity = Identity.from_dataset(ds)
    if extra_identity is not None:    # the synthetic identity knows more renderings than the header holds
        identity = Identity(**{**identity.__dict__, "extra": tuple(extra_identity.tokens())})
    textdeid = TextDeidentifier(identity, keyring)
    handler, keep = HANDLERS[kind]
    if kind == "pdf":
        handler(ds, identity, keyring, textdeid, detector=detector)
    else:
        handler(ds, identity, keyring, textdeid)
    deidentify_dataset(ds, load_profile("basic"), keyring, identity=identity, clean_text=textdeid.scrub,
                       keep_tags=keep)
    complete = "SOPInstanceUID" in ds     # dwv's SR samples have none: the pipeline quarantines those
    if complete:
        _ensure_file_meta(ds)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=complete)
    return ds, buf.getvalue(), identity


def _ensure_file_meta(ds: Dataset) -> None:
    """As the pipeline does: inputs without (complete) file meta get one, so the output is a Part 10 file."""
    from pydicom.dataset import FileMetaDataset

    meta = getattr(ds, "file_meta", None)
    if meta is None:
        meta = ds.file_meta = FileMetaDataset()
    if "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID


def leak_tokens(identity: Any) -> list[str]:
    """Every identifying string of a synth identity, folded, that must not survive (>= 3 characters)."""
    from synth.identity import DATE_STYLES, format_date

    out = set(identity.tokens())
    out |= set(identity.name_parts)
    out |= {format_date(identity.birth_date, s) for s in DATE_STYLES}
    out |= {identity.personal_code, identity.phone, identity.accession, identity.address, identity.email,
            identity.patient_id, identity.street}
    digits_phone = re.sub(r"\D", "", identity.phone)
    out |= {digits_phone, digits_phone[-8:]}
    return sorted({fold(t).strip() for t in out if len(t.strip()) >= 3})


def _find(token: str, haystack: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(token)}(?![a-z0-9])", haystack) is not None


def element_texts(ds: Dataset) -> list[str]:
    """Every element value of every item, at any depth, as text (bulk bytes excluded)."""
    out = []
    for elem in ds.iterall():
        if elem.VR in ("OB", "OW", "OF", "OD", "UN", "SQ"):
            continue
        out.append(str(elem.value))
    return out


def find_leaks(identity: Any, ds: Dataset, file_bytes: bytes, extra_texts: list[str] = ()) -> list[str]:
    """Tokens found in element values, extra texts (PDF text/metadata), or the raw file bytes."""
    texts = fold("\n".join(element_texts(ds) + list(extra_texts)))
    raw = fold(file_bytes.decode("latin-1")) + "\n" + fold(file_bytes.decode("utf-8", errors="ignore"))
    leaks = []
    for tok in leak_tokens(identity):
        if _find(tok, texts):
            leaks.append(f"element/text: {tok}")
        # raw bytes hold compressed images and samples: short tokens could match by chance there
        elif len(tok) >= 6 and _find(tok, raw):
            leaks.append(f"raw bytes: {tok}")
    return leaks


def pdf_texts(data: bytes) -> list[str]:
    """Text layer of every page, Info, XMP and attachment names of a PDF (pypdf)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    out = [p.extract_text() or "" for p in reader.pages]
    out += [str(v) for v in (reader.metadata or {}).values()]
    if reader.xmp_metadata is not None:
        out.append(str(reader.xmp_metadata.rdf_root.toxml()))
    out += list(reader.attachments.keys())
    return out


def dciodvfy_errors(path: Path) -> set[str]:
    """Error lines of `dciodvfy -new` (dicom3tools)."""
    exe = shutil.which("dciodvfy")
    assert exe, "dciodvfy missing: scripts/install.sh dev installs dicom3tools"
    res = subprocess.run([exe, "-new", str(path)], capture_output=True, text=True, timeout=60)
    lines = (res.stdout + res.stderr).splitlines()
    # values (remapped UIDs, lengths) differ between input and output: compare the messages without them
    return {re.sub(r"(=|be) <[^>]*>", r"\1 <>", re.sub(r"\s+", " ", line.strip()))
            for line in lines if line.startswith("Error")}
