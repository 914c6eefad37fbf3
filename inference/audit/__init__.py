"""Independent auditor of anonymised output: headers, content, pixels (OCR), ground truth, reports.

Library entry point for the release gate: audit_dataset(ds, original_identity, options) -> AuditResult.
CLI: python -m inference.audit OUTPUT [--against INPUT] [--ground-truth DIR] [--report DIR] ...
"""
from .findings import AuditResult, Finding, Region
from .gate import audit_dataset
from .options import AuditOptions

__all__ = ["audit_dataset", "AuditOptions", "AuditResult", "Finding", "Region"]
