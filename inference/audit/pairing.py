"""Which original input (and which label file) each released file came from.

The pipeline's audit trail (OUTPUT.audit/trail.jsonl: one JSON record per input with "source", the input
path relative to the input root, "status" and "outputs", paths relative to OUTPUT) links outputs to inputs.
Without a trail, every input's personal values are looked for in every output (pooled).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

RELEASED_SUFFIXES = {".dcm": "dicom", ".jpg": "image", ".jpeg": "image", ".png": "image", ".mp4": "video",
                     ".json": "text", ".csv": "text", ".txt": "text", ".xml": "text", ".html": "text", ".md": "text"}


@dataclass(frozen=True)
class Released:
    path: Path            # absolute path of the released file
    rel: str              # path relative to OUTPUT (the name in reports)
    kind: str             # dicom | image
    source: Path | None   # the original input, when known
    ground_truth: Path | None


def released_files(output: Path) -> Iterator[tuple[Path, str]]:
    """Every file under OUTPUT: DICOM (by content, any name), JPEG/PNG, MP4, text; anything else is 'other'
    (the auditor cannot read it, so it is flagged rather than passed unseen)."""
    for p in sorted(output.rglob("*")):
        if not p.is_file():
            continue
        kind = RELEASED_SUFFIXES.get(p.suffix.lower())
        if kind is None:
            kind = "dicom" if _is_dicom(p) else "other"
        yield p, kind


def _is_dicom(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            f.seek(128)
            return f.read(4) == b"DICM"
    except OSError:
        return False


def read_trail(trail_dir: Path) -> dict[str, str]:
    """Released relative path -> source (relative to the input root), from the latest written record per source."""
    from ..outputs import AuditTrail, _read_jsonl
    if trail_dir.is_dir():
        trail = AuditTrail(trail_dir)
        if not trail.exists():
            raise FileNotFoundError(f"no audit trail at {trail_dir / 'trail.jsonl'}")
        records = trail.records()  # trail.jsonl and the shards of a distributed run
    elif trail_dir.is_file():
        records = _read_jsonl(trail_dir)
    else:
        raise FileNotFoundError(f"no audit trail at {trail_dir}")
    mapping: dict[str, str] = {}
    for rec in records:
        if rec.get("status") != "written" or "source" not in rec:
            continue
        for out in rec.get("outputs", []):
            rel = out if isinstance(out, str) else out.get("relpath") or out.get("path")
            if rel:
                mapping[str(rel)] = str(rec["source"])
    return mapping


def input_root_from_trail(trail_dir: Path) -> Path | None:
    """The input folder the run read, from its newest summary-*.json (written by inference.run)."""
    summaries = sorted(trail_dir.glob("summary-*.json")) if trail_dir.is_dir() else []
    for s in reversed(summaries):
        try:
            value = json.loads(s.read_text(encoding="utf-8")).get("input")
        except (OSError, json.JSONDecodeError):
            continue
        if value:
            return Path(value)
    return None


def pair(output: Path, against: Path | None, trail_dir: Path | None, gt_dir: Path | None) -> list[Released]:
    """Released files with their source and label file where they can be known."""
    mapping = read_trail(trail_dir) if trail_dir is not None else {}
    root = against or (input_root_from_trail(trail_dir) if trail_dir is not None else None)
    out = []
    for p, kind in released_files(output):
        rel = p.relative_to(output).as_posix()
        src_rel = mapping.get(rel)
        source = (root / src_rel) if (root is not None and src_rel) else None
        if source is not None and not source.is_file():
            source = None
        gt = None
        if gt_dir is not None and src_rel:
            candidate = gt_dir / "gt" / f"{Path(src_rel).stem}.json"
            gt = candidate if candidate.is_file() else None
        out.append(Released(p, rel, kind, source, gt))
    return out


def input_files(root: Path) -> list[Path]:
    """DICOM inputs under root (for pooled identities when there is no trail)."""
    return [p for p, kind in released_files(root) if kind == "dicom"]
