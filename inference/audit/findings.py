"""Result types of the auditor: a finding says what was found where; an AuditResult collects them per file."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Region:
    """A flagged pixel region in a released frame (pixel coordinates of that frame)."""

    frame: int
    x0: int
    y0: int
    x1: int
    y1: int

    def as_list(self) -> list[int]:
        return [self.frame, self.x0, self.y0, self.x1, self.y1]


@dataclass(frozen=True)
class Finding:
    """One reason to flag a file.

    category: header | compliance | content | pixels | ground_truth | error
    where: the element path ("(0010,0010) PatientName", "PDF text", "frame 3") for people to find it.
    """

    category: str
    kind: str          # e.g. identity:name, generic:email, text, missing_removal, residual_phi
    where: str
    detail: str        # masked value or explanation; never the personal value in clear when masking is on
    region: Region | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["region"] = self.region.as_list() if self.region else None
        return d


@dataclass
class AuditResult:
    """The verdict on one released object. flagged -> it must not be released (quarantine)."""

    findings: list[Finding] = field(default_factory=list)
    frames_checked: int = 0
    metrics: dict[str, float] = field(default_factory=dict)   # ground-truth metrics when available
    views: list[Any] = field(default_factory=list)            # 8-bit frames, only with options.keep_views

    @property
    def flagged(self) -> bool:
        return bool(self.findings)

    @property
    def reasons(self) -> list[str]:
        return [f"{f.category}:{f.kind} at {f.where}: {f.detail}" for f in self.findings]

    @property
    def regions(self) -> list[Region]:
        return [f.region for f in self.findings if f.region is not None]
