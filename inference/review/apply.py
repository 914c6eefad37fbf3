"""What the next ``python -m inference.run`` does with the review station's decisions (docs/REVIEW.md).

- Reviewer boxes are blanked in addition to the detector's (pipeline.py: PixelOptions.extra_boxes).
- An approved quarantined file is processed again, from its source or, when gone from INPUT, from its quarantine
  copy, through the whole pipeline (header de-identification, detector, pixel stage): approval lifts only the
  "uncertain" holds (BurnedInAnnotation YES without text found, auditor findings), never a failure.
- 'needs redaction' holds the file in quarantine and withdraws an output released before from OUTPUT.
- A reviewed file is done again even if the trail says done: its review is part of its fingerprint.
"""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any, Iterator

from ..context import RunOptions
from ..pixels.templates import all_templates
from .store import DB_NAME, Review, load_reviews


def review_options(options: RunOptions, reviews: Path | None, templates: Path | None,
                   audit_dir: Path) -> tuple[RunOptions, dict[str, Review]]:
    """Options with the review database and templates folder (given, or the audit folder's own when present);
    raises ValueError when a given one is missing or unreadable."""
    if reviews is not None and not reviews.is_file():
        raise ValueError(f"--reviews {reviews}: no such review database")
    given = reviews or (audit_dir / DB_NAME)
    db = given.resolve() if given.is_file() else None
    tdir = (templates or audit_dir / "templates").resolve()
    if templates is not None and not tdir.is_dir():
        raise ValueError(f"--templates {templates}: no such folder")
    try:
        loaded = load_reviews(db)
        all_templates(tdir)  # a malformed template is refused here, not discovered per file
    except Exception as e:  # sqlite3.Error, TemplateError, ReviewError
        raise ValueError(f"cannot read the reviews or templates: {e}") from e
    return dataclasses.replace(options, reviews_path=db, templates_dir=tdir if tdir.is_dir() else None), loaded


def review_fingerprints(fp: str, reviews: dict[str, Review]) -> dict[str, str]:
    """source -> the run fingerprint extended by that file's review, so a reviewed file is processed again."""
    return {src: hashlib.sha256(f"{fp}|review:{r.token()}".encode()).hexdigest()[:16]
            for src, r in reviews.items() if r.decision != "pending" or r.added}


def quarantine_copy(qdir: Path, source: str) -> Path | None:
    """The original kept in the quarantine slot of source (Quarantine.add), or None."""
    slot = qdir / hashlib.sha256(source.encode()).hexdigest()[:16]
    if not slot.is_dir():
        return None
    files = [p for p in slot.iterdir() if p.is_file() and p.name != "reason.json" and not p.is_symlink()]
    return files[0] if len(files) == 1 else None


def quarantined_reviewed(reviews: dict[str, Review], in_input: set[str], qdir: Path,
                         done: dict[tuple[str, str], dict[str, Any]],
                         fp_by_source: dict[str, str]) -> Iterator[tuple[Path, str, str]]:
    """(quarantine copy, source, digest) of approved files no longer in INPUT and not yet released as reviewed."""
    from ..run import file_digest
    for source, r in sorted(reviews.items()):
        if r.decision != "approved" or source in in_input:
            continue
        copy = quarantine_copy(qdir, source)
        if copy is None or file_digest(copy) != r.digest:
            continue
        prev = done.get((source, r.digest))
        if prev and prev.get("status") == "written" and prev.get("fingerprint") == fp_by_source.get(source):
            continue
        yield copy, source, r.digest


def withdraw_outputs(out: Path, previous: dict[str, Any] | None, digest: str) -> int:
    """Remove from OUTPUT what an earlier run released for this input when a reviewer now holds it back."""
    if not previous or previous.get("status") != "written" or previous.get("digest") != digest:
        return 0
    n = 0
    root = out.resolve()
    for rel in previous.get("outputs", []):
        target = (out / rel).resolve()
        if root in target.parents and target.is_file():
            target.unlink()
            n += 1
    return n
