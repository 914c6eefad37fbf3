"""The numbers of an audit run, as one plain dict: what JSON, HTML and MLflow all show."""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from .groundtruth import GtMetrics
from .runner import AuditRun, gt_totals


def summarise(run: AuditRun) -> dict[str, Any]:
    files = run.files
    by_category = Counter(f.category for fa in files for f in fa.findings)
    by_kind = Counter(f"{f.category}:{f.kind}" for fa in files for f in fa.findings)
    frames = sum(f.frames_checked for f in files)
    return {
        "output": str(run.config.output),
        "files": len(files),
        "flagged": run.flagged,
        "residual_rate": run.residual_rate,
        "threshold": run.config.threshold,
        "passed": run.passed,
        "unread_inputs": [{"input": rel, "reason": why} for rel, why in run.unread_inputs],
        "files_with_original": sum(f.has_source for f in files),
        "frames_checked": frames,
        "seconds": run.seconds,
        "files_per_s": len(files) / run.seconds if run.seconds else 0.0,
        "seconds_per_frame": run.seconds / frames if frames else 0.0,
        "ocr_engine": run.config.options.ocr_engine if run.config.options.check_pixels else "off",
        "flag_any_text": run.config.options.flag_any_text,
        "findings_by_category": dict(by_category),
        "findings_by_kind": dict(by_kind.most_common()),
        "by_modality": per_modality(run),
        "ground_truth": gt_totals(run),
    }


def per_modality(run: AuditRun) -> dict[str, dict[str, Any]]:
    groups: dict[str, list] = defaultdict(list)
    for f in run.files:
        groups[f.modality].append(f)
    out = {}
    for modality, fs in sorted(groups.items()):
        gt = GtMetrics()
        for f in fs:
            if f.gt is not None:
                gt.add(f.gt)
        row: dict[str, Any] = {"files": len(fs), "flagged": sum(f.flagged for f in fs),
                               "residual_rate": sum(f.flagged for f in fs) / len(fs)}
        if any(f.gt is not None for f in fs):
            d = gt.as_dict()
            row.update({k: d[k] for k in ("instance_recall", "char_recall", "over_redaction_outside")})
        out[modality] = row
    return out


def file_record(f) -> dict[str, Any]:
    rec = {"file": f.rel, "kind": f.kind, "modality": f.modality, "flagged": f.flagged,
           "frames_checked": f.frames_checked, "seconds": round(f.seconds, 3), "original_known": f.has_source,
           "findings": [x.to_dict() for x in f.findings]}
    if f.gt is not None:
        rec["ground_truth"] = f.gt.as_dict()
    return rec
