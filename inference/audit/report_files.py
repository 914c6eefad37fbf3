"""Machine-readable reports: report.json (summary + every file), files.csv (one row per file), findings.csv."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from .runner import AuditRun
from .summary import file_record


def write_machine_reports(run: AuditRun, summary: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "report.json", folder / "files.csv", folder / "findings.csv"]
    data = {"summary": summary, "files": [file_record(f) for f in run.files]}
    paths[0].write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    with open(paths[1], "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "modality", "flagged", "findings", "reasons", "regions", "instance_recall",
                    "char_recall", "over_redaction_outside", "seconds"])
        for f in run.files:
            gt = f.gt.as_dict() if f.gt else {}
            w.writerow([f.rel, f.modality, int(f.flagged), len(f.findings),
                        " | ".join(sorted({f"{x.category}:{x.kind}" for x in f.findings})),
                        json.dumps([x.region.as_list() for x in f.findings if x.region]),
                        _fmt(gt.get("instance_recall")), _fmt(gt.get("char_recall")),
                        _fmt(gt.get("over_redaction_outside")), f"{f.seconds:.3f}"])
    with open(paths[2], "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "category", "kind", "where", "detail", "frame", "x0", "y0", "x1", "y1"])
        for f in run.files:
            for x in f.findings:
                reg = x.region.as_list() if x.region else [""] * 5
                w.writerow([f.rel, x.category, x.kind, x.where, x.detail, *reg])
    return paths


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.4f}"
