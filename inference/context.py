"""Configuration and results of one run, as plain dataclasses (picklable: workers get them whole)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

FORMATS = ("dicom", "jpg", "mp4")
Status = Literal["written", "dropped", "quarantined", "skipped"]


@dataclass(frozen=True)
class RunOptions:
    """What the user chose; everything a worker needs besides the key."""

    profile: str = "basic"                     # name of a profile in inference/header/profiles or a YAML path
    formats: tuple[str, ...] = ("dicom",)
    drop: frozenset[str] = frozenset()         # object type names (see data/object_types.yaml)
    model_path: Path | None = None             # None: models/text_detector.onnx
    audit: bool = False                        # release gate: audit every file before it is released
    audit_max_frames: int | None = None        # frames OCR-ed per file by the gate (None: every frame)
    audit_flag_any_text: bool = False          # gate flags any legible text left, not only personal data
    lossy_reencode: bool = False               # lossy inputs re-encoded lossy instead of written uncompressed
    providers: tuple[str, ...] | None = None   # ONNX Runtime providers; None = CUDA when present, else CPU
    detector_threads: int = 2                  # ONNX Runtime threads per worker process
    max_decoded_mb: int = 2048                 # decode budget: declared pixel (or inflated) size above it -> quarantine
    reviews_path: Path | None = None           # review station decisions (reviews.sqlite): extra boxes, approvals
    templates_dir: Path | None = None          # device templates (YAML); accepted ones are blanked on their device
    detector_batch: int | None = None          # tiles per session.run; None = the sidecar's batch (default 1)


@dataclass
class OutputFile:
    relpath: str    # relative to OUTPUT, built from pseudonymous identifiers only
    data: bytes
    kind: str       # "dicom", "jpg" or "mp4"


@dataclass
class FileResult:
    """Everything process_file learned about one input; the runner writes it. No original values inside."""

    source: str                      # input path relative to the input root (audit trail only)
    status: Status
    reason: str = ""
    object_type: str = ""
    handler: str = ""
    outputs: list[OutputFile] = field(default_factory=list)
    actions: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    catalog: list[dict[str, Any]] = field(default_factory=list)  # rows for the JPEG catalogue, one per frame
    internal_error: bool = False     # quarantined by an unexpected exception (a bug), not by a NotReleasable

    def record(self) -> dict[str, Any]:
        """The audit-trail record: no pixel data, no original identifiers."""
        internal = {"internal_error": True} if self.internal_error else {}
        return {**internal,
            "source": self.source,
            "status": self.status,
            "reason": self.reason,
            "object_type": self.object_type,
            "handler": self.handler,
            "outputs": [o.relpath for o in self.outputs],
            "actions": self.actions,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }
