"""What the station can show: the files recorded in the audit trail and the quarantine, each under an id.

Only these files can ever be requested (by id, never by path), and each path is checked again when opened: it must
lie, after resolving symlinks, inside OUTPUT, the quarantine or an input folder recorded in the run summaries.
"""
from __future__ import annotations

import hashlib
import json
import random
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..outputs import AuditTrail
from ..pixels.templates import device_key
from .apply import quarantine_copy

CATEGORIES = ("quarantined", "flagged", "released")


def file_id(source: str) -> str:
    """The same id as the quarantine slot (outputs.Quarantine): stable across runs, no path inside."""
    return hashlib.sha256(source.encode()).hexdigest()[:16]


@dataclass
class Item:
    id: str
    source: str
    category: str  # quarantined | flagged | released
    status: str
    reason: str
    digest: str
    original: Path | None  # the input (or its quarantine copy): the "before" image
    output: Path | None  # the released DICOM: the "after" image
    device: dict[str, Any]
    frames: int
    regions: list[list[int]]
    regions_by_frame: list[list[list[int]]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def device_key(self) -> str:
        return device_key(self.device)

    def regions_of(self, frame: int) -> list[list[int]]:
        if self.regions_by_frame and 0 <= frame < len(self.regions_by_frame):
            return self.regions_by_frame[frame]
        return self.regions

    def public(self) -> dict[str, Any]:
        """What the browser gets: no file system paths."""
        return {"id": self.id, "source": self.source, "category": self.category, "status": self.status,
                "reason": self.reason, "device": self.device, "device_key": self.device_key, "frames": self.frames,
                "regions": self.regions, "has_before": self.original is not None,
                "has_after": self.output is not None, "per_frame": bool(self.regions_by_frame)}


def _header_device(path: Path | None) -> tuple[dict[str, Any], int]:
    """Device and frame count from a DICOM header (for files quarantined before the trail recorded them)."""
    if path is None:
        return {"manufacturer": "", "model": "", "rows": 0, "columns": 0}, 1
    import pydicom
    from ..pixels.templates import device_of
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        return device_of(ds), int(ds.get("NumberOfFrames", 1) or 1)
    except Exception:
        return {"manufacturer": "", "model": "", "rows": 0, "columns": 0}, 1


def input_roots(audit_dir: Path) -> list[Path]:
    """Every INPUT recorded in the run summaries (the originals may only be read from there)."""
    roots = set()
    for p in sorted(audit_dir.glob("summary-*.json")):
        try:
            roots.add(Path(json.loads(p.read_text(encoding="utf-8"))["input"]).resolve())
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(roots)


def _audit_report_flags(audit_dir: Path) -> set[str]:
    """OUTPUT-relative files flagged by `python -m inference.audit` reports kept in the audit folder."""
    flagged: set[str] = set()
    for p in audit_dir.rglob("report.json"):
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            flagged |= {f["file"] for f in data.get("files", []) if f.get("flagged")}
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            continue
    return flagged


class Catalog:
    """Items by id, built from the trail, the quarantine and any audit report, with a random released sample."""

    def __init__(self, output: Path, audit_dir: Path, qdir: Path, sample: int = 20, seed: int = 0):
        self.output, self.audit_dir, self.qdir = output.resolve(), audit_dir.resolve(), qdir.resolve()
        self.roots = input_roots(self.audit_dir)
        self.items: dict[str, Item] = {}
        self._build(sample, seed)

    def allowed(self, path: Path | None) -> Path | None:
        """path resolved (symlinks followed) when it is a file inside OUTPUT, the quarantine or an input root."""
        if path is None:
            return None
        real = Path(path).resolve()
        if not real.is_file():
            return None
        for root in [self.output, self.qdir, *self.roots]:
            if root == real or root in real.parents:
                return real
        return None

    def _original(self, rec: dict[str, Any]) -> Path | None:
        src = rec.get("source_path")
        if src and self.allowed(Path(src)):
            return self.allowed(Path(src))
        copy = quarantine_copy(self.qdir, rec["source"])
        if copy is not None and self.allowed(copy):
            return self.allowed(copy)
        for root in self.roots:
            p = self.allowed(root / rec["source"]) if root.is_dir() else None
            if p is not None:
                return p
        return None

    def _item(self, rec: dict[str, Any], category: str) -> Item:
        pixels = (rec.get("actions") or {}).get("pixels") or {}
        original = self._original(rec)
        dicom_out = [o for o in rec.get("outputs", []) if o.endswith(".dcm")]
        output = self.allowed(self.output / dicom_out[0]) if dicom_out and rec.get("status") == "written" else None
        device = (rec.get("actions") or {}).get("device")
        frames = int(pixels.get("n_frames") or 0)
        if not device or not frames:
            hdr_device, hdr_frames = _header_device(original)
            device, frames = device or hdr_device, frames or hdr_frames
        return Item(file_id(rec["source"]), rec["source"], category, rec.get("status", ""), rec.get("reason", ""),
                    rec.get("digest", ""), original, output, device, frames, pixels.get("regions") or [],
                    pixels.get("regions_by_frame"), {"review": (rec.get("actions") or {}).get("review")})

    def _build(self, sample: int, seed: int) -> None:
        latest = AuditTrail(self.audit_dir).done()
        flagged_outputs = _audit_report_flags(self.audit_dir)
        released: list[dict[str, Any]] = []
        for source, rec in latest.items():
            if rec.get("status") == "quarantined":
                flagged = str(rec.get("reason", "")).startswith("auditor flagged")
                self.items[file_id(source)] = self._item(rec, "flagged" if flagged else "quarantined")
            elif rec.get("status") == "written" and rec.get("handler") == "image":
                if set(rec.get("outputs", [])) & flagged_outputs or (rec.get("actions") or {}).get(
                        "audit_findings_approved"):
                    self.items[file_id(source)] = self._item(rec, "flagged")
                else:
                    released.append(rec)
        # reason.json of files whose trail line is missing (a crash between quarantine and trail)
        if self.qdir.is_dir():
            for reason in sorted(self.qdir.glob("*/reason.json")):
                try:
                    info = json.loads(reason.read_text(encoding="utf-8"))
                    source = str(info["source"])
                except (OSError, ValueError, KeyError, TypeError):
                    continue
                if file_id(source) not in self.items and source not in latest:
                    self.items[file_id(source)] = self._item(
                        {"source": source, "status": "quarantined", "reason": info.get("reason", "")}, "quarantined")
        by_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rec in released:
            by_device[device_key((rec.get("actions") or {}).get("device") or {})].append(rec)
        rng = random.Random(seed)
        for recs in by_device.values():
            for rec in (recs if len(recs) <= sample else rng.sample(recs, sample)):
                self.items[file_id(rec["source"])] = self._item(rec, "released")

    def grouped(self) -> list[dict[str, Any]]:
        """Devices (sorted by key) with their items, quarantined first."""
        groups: dict[str, list[Item]] = defaultdict(list)
        for it in self.items.values():
            groups[it.device_key].append(it)
        order = {c: i for i, c in enumerate(CATEGORIES)}
        return [{"key": k, "device": v[0].device,
                 "items": [i.public() for i in sorted(v, key=lambda i: (order[i.category], i.source))]}
                for k, v in sorted(groups.items())]
