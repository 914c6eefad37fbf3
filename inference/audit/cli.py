"""python -m inference.audit OUTPUT: audit every released file, write the reports, log to MLflow, exit 1 if too
many files are flagged. Exit codes: 0 passed, 1 residual rate over --threshold (or nothing to audit), 2 usage."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .ocr import ENGINES, OcrUnavailable
from ..outputs import AuditTrail
from .options import AuditOptions


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m inference.audit",
                                description="Independent audit of anonymised output: headers, documents, pixels (OCR).")
    p.add_argument("output", type=Path, help="the OUTPUT folder written by inference.run")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--against", type=Path, help="the original INPUT folder: look for its personal values")
    src.add_argument("--trail", type=Path, help="audit folder of the run (default OUTPUT.audit): input <-> output")
    p.add_argument("--ground-truth", type=Path,
                   help="labelled set (synth/ layout: gt/<id>.json): recall, over-redaction")
    p.add_argument("--report", type=Path, help="where to write report.html/json/csv (default OUTPUT.audit/report)")
    p.add_argument("--threshold", type=float, default=0.0,
                   help="highest share of flagged files that still passes, 0-1 (default 0: any flagged file fails)")
    p.add_argument("--ocr", choices=ENGINES, default=AuditOptions.ocr_engine, help="OCR engine for the pixel check")
    p.add_argument("--no-pixels", action="store_true", help="skip the OCR pixel check (headers and documents only)")
    p.add_argument("--flag-any-text", action="store_true",
                   help="flag any legible text left in pixels, not only personal data")
    p.add_argument("--max-frames", type=int, help="OCR at most N frames per object, evenly spaced (default: all)")
    p.add_argument("--allow-private", action="store_true",
                   help="private elements were kept on purpose (safe-private option)")
    p.add_argument("--no-mlflow", action="store_true", help="do not log the metrics to MLflow")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    if not a.output.is_dir():
        print(f"error: {a.output} is not a folder", file=sys.stderr)
        return 2
    if not 0.0 <= a.threshold <= 1.0:
        print("error: --threshold is a share between 0 and 1 (e.g. 0.01 for 1 %)", file=sys.stderr)
        return 2
    if a.against is not None and not a.against.is_dir():
        print(f"error: --against {a.against} is not a folder", file=sys.stderr)
        return 2
    from .report_files import write_machine_reports
    from .report_html import write_html
    from .runner import AuditConfig, run_audit
    from .summary import summarise

    options = AuditOptions(ocr_engine=a.ocr, check_pixels=not a.no_pixels, flag_any_text=a.flag_any_text,
                           max_frames=a.max_frames, allow_private_tags=a.allow_private)
    output = a.output.resolve()
    trail = a.trail
    if trail is None and a.against is not None:
        default = output.with_name(output.name + ".audit")
        trail = default if AuditTrail(default).exists() else None
    config = AuditConfig(output=output, against=a.against, trail=trail, ground_truth=a.ground_truth,
                         threshold=a.threshold, options=options)
    try:
        run = run_audit(config, progress=None if a.quiet else _progress())
    except OcrUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    summary = summarise(run)
    report_dir = (a.report or output.with_name(output.name + ".audit") / "report").resolve()
    write_machine_reports(run, summary, report_dir)
    html = write_html(run, summary, report_dir)
    mlflow_line = "MLflow: off (--no-mlflow)" if a.no_mlflow else _log(summary, report_dir)
    print(closing_text(summary, html, mlflow_line))
    return 0 if run.passed else 1


def _log(summary: dict, report_dir: Path) -> str:
    from .mlflow_log import log_to_mlflow
    try:
        return log_to_mlflow(summary, report_dir)
    except Exception as e:   # the audit verdict stands without the dashboard; say why it is missing
        return f"MLflow logging failed ({type(e).__name__}: {e}); the reports are complete"


def closing_text(s: dict, html: Path, mlflow_line: str) -> str:
    verdict = "PASSED" if s["passed"] else "NOT PASSED"
    lines = [f"audit {verdict}: {s['flagged']} of {s['files']} files flagged "
             f"({100 * s['residual_rate']:.2f} %, limit {100 * s['threshold']:.2f} %)",
             f"  checked with originals: {s['files_with_original']} files; OCR: {s['ocr_engine']}, "
             f"{s['frames_checked']} frames; {s['files_per_s']:.2f} files/s"]
    if s["files"] == 0:
        lines.append("  nothing to audit: no DICOM or JPEG/PNG file under the output folder")
    unread = s.get("unread_inputs", [])
    if unread:
        lines.append(f"  {len(unread)} input file(s) could not be read, so their personal values were not looked "
                     "for (not passed):")
        lines += [f"    {u['input']}: {u['reason']}" for u in unread[:20]]
    for kind, n in list(s["findings_by_kind"].items())[:8]:
        lines.append(f"  {n:6d}  {kind}")
    gt = s.get("ground_truth")
    if gt:
        lines.append(f"  labels: {100 * gt['instance_recall']:.2f} % of personal items removed, "
                     f"{100 * gt['char_recall']:.2f} % of characters; {100 * gt['over_redaction_outside']:.3f} % "
                     "of other pixels changed")
    lines += [f"  report: {html}", f"  {mlflow_line}"]
    return "\n".join(lines)


def _progress():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    bar: dict = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, unit="file", desc="audit", file=sys.stderr)
        bar["bar"].update(1)
        if done == total:
            bar["bar"].close()
    return update
