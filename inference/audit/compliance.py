"""PS3.15 Annex E basic-profile checks on a released dataset.

Only rules that hold whatever options the site picked are checked without the original: attributes the basic
profile removes (X) and no option keeps must be absent; overlays and curves (60xx/50xx) must be gone. With the
original dataset: every UID must differ from the original one and no original date may be left unchanged.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydicom.dataset import Dataset

from inference.resources import data_file

from .findings import Finding

_HERE = Path(__file__).resolve().parent
_TABLES = (
    data_file("inference.header", "data", "ps315_table_e1_1.json"),                    # committed with the package
    _HERE.parents[2] / "shared" / "data" / "standard" / "confidentiality_profile_attributes.json",  # developers
)
_STANDARD_UID_PREFIX = "1.2.840.10008."  # SOP classes, transfer syntaxes: public, never personal
# UIDs that name software, classes or code systems, not a patient's study: the same in every file, kept by design
_PUBLIC_UID_KEYWORDS = ("ClassUID", "TransferSyntaxUID", "CodingSchemeUID", "ContextGroupExtensionCreatorUID",
                        "PrivateRecordUID")


class ComplianceTableError(RuntimeError):
    """The PS3.15 table cannot be found: the audit cannot say the header is compliant, so it refuses."""


@dataclass(frozen=True)
class RemovalRule:
    group: int
    element: int
    group_mask: int   # 0xFF00 for repeating groups (60XX), else 0xFFFF
    name: str


@lru_cache(maxsize=1)
def removal_rules() -> tuple[RemovalRule, ...]:
    """Rows whose basic action is X and that no option column keeps or cleans."""
    for path in _TABLES:
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = data["rows"] if isinstance(data, dict) else data
            return tuple(_rule(r) for r in rows if _always_removed(r))
    raise ComplianceTableError("PS3.15 Table E.1-1 not found (looked in: " + ", ".join(map(str, _TABLES)) + ")")


def _always_removed(row: dict) -> bool:
    basic = row.get("basic") or row.get("basicProfile")
    options = row.get("options")
    if options is None:
        options = {k: v for k, v in row.items() if k.endswith("Opt")}
    return basic == "X" and not options


def _rule(row: dict) -> RemovalRule:
    m = re.fullmatch(r"\(([0-9A-Fx]{4}),([0-9A-Fx]{4})\)", row["tag"].upper().replace("X", "x"))
    if not m:
        raise ComplianceTableError(f"unreadable tag in the PS3.15 table: {row['tag']}")
    g, e = m.group(1), m.group(2)
    if "x" in g:
        return RemovalRule(int(g.replace("x", "0"), 16), int(e.replace("x", "0"), 16), 0xFF00, row.get("name", ""))
    return RemovalRule(int(g, 16), int(e.replace("x", "0"), 16), 0xFFFF, row.get("name", ""))


def check_compliance(ds: Dataset, original: Dataset | None = None, allow_private: bool = False) -> list[Finding]:
    """Findings for a released dataset that breaks the basic profile."""
    findings: list[Finding] = []
    rules = removal_rules()
    exact = {(r.group, r.element): r for r in rules if r.group_mask == 0xFFFF}
    repeating = [r for r in rules if r.group_mask != 0xFFFF]
    for path, elem in _walk(ds):
        tag = elem.tag
        rule = exact.get((tag.group, tag.element))
        if rule is None:
            rule = next((r for r in repeating if (tag.group & 0xFF00) == r.group and tag.element == r.element), None)
        if rule is not None and not _empty(elem):
            findings.append(Finding("compliance", "not_removed", path, f"{rule.name} must be removed (PS3.15 X)"))
        if tag.is_private and not allow_private and not tag.is_private_creator:
            findings.append(Finding("compliance", "private_element", path,
                                    "private element kept (basic profile removes them)"))
    if str(ds.get("PatientIdentityRemoved", "")).upper() != "YES":
        findings.append(Finding("compliance", "identity_removed_flag", "(0012,0062) PatientIdentityRemoved",
                                "must be YES in a de-identified object"))
    if original is not None:
        findings.extend(_unchanged_uids(ds, original))
    return findings


def _unchanged_uids(ds: Dataset, original: Dataset) -> list[Finding]:
    """Every instance-specific UID of the original (not the public standard ones) must be gone from the output."""
    orig = {str(e.value) for _, e in _walk(original) if e.VR == "UI" and e.value
            and not str(e.value).startswith(_STANDARD_UID_PREFIX) and not e.keyword.endswith(_PUBLIC_UID_KEYWORDS)}
    out = []
    for path, elem in _walk(ds):
        if (elem.VR == "UI" and elem.value and str(elem.value) in orig
                and not elem.keyword.endswith(_PUBLIC_UID_KEYWORDS)):
            out.append(Finding("compliance", "uid_not_replaced", path, "original UID kept"))
    return out


def _empty(elem) -> bool:
    v = elem.value
    if v is None:
        return True
    if elem.VR == "SQ":
        return len(v) == 0
    if isinstance(v, bytes):
        return len(v.strip(b"\x00 ")) == 0
    if isinstance(v, str):
        return len(v.strip("\x00 ")) == 0
    return v == []


def _walk(ds: Dataset, prefix: str = ""):
    """(path, element) for every element: file meta first, then the dataset, recursing into sequences."""
    meta = getattr(ds, "file_meta", None)
    if not prefix and meta is not None:
        for elem in meta:
            yield f"file meta {elem.tag} {elem.keyword}", elem
    for elem in ds:
        path = f"{prefix}{elem.tag} {elem.keyword or 'private'}"
        yield path, elem
        if elem.VR == "SQ" and elem.value:
            for i, item in enumerate(elem.value):
                yield from _walk(item, f"{path}[{i}] > ")


walk_elements = _walk
__all__ = ["check_compliance", "walk_elements", "removal_rules", "ComplianceTableError"]
