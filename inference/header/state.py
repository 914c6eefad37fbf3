"""The data the header engine and its handlers share: action codes, the policy, the report, one run's state.

Kept apart from engine.py so that handlers.py and engine.py both import this module and not each other: the
run walks sequences through the walker it is given (engine._walk), not through an import of the engine.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from inference.resources import data_file

from ..keys import Keyring
from .actions import Action
from .profile import Profile
from .table import Table
from .values import MAX_CHARS, fit_text

POLICY_PATH = data_file("inference.header", "data", "policy.json")


@dataclass(frozen=True)
class Policy:
    uid_keep_keywords: frozenset[str]
    structural_keywords: frozenset[str]
    file_meta_remove: frozenset[int]
    sequence_compound: dict[str, Action]
    type2_sequences: frozenset[str]
    empty_instead_of_remove: frozenset[str]
    remove_when_emptied: dict[str, str]
    identity_groups: tuple[tuple[int, int, int], ...] = ()  # (group, first element, last element)
    identity_group_keep: frozenset[int] = frozenset()  # tags there kept although Table E.1-1 does not list them

    def in_identity_group(self, tag: int) -> bool:
        """True for patient, institution, request and visit data: unlisted elements there are removed."""
        group, element = tag >> 16, tag & 0xFFFF
        return any(g == group and lo <= element <= hi for g, lo, hi in self.identity_groups)


def _tags(keywords: list[str]) -> frozenset[int]:
    tags = {k: tag_for_keyword(k) for k in keywords}
    unknown = [k for k, t in tags.items() if t is None]
    if unknown:
        raise ValueError(f"{POLICY_PATH.name}: unknown DICOM keywords {unknown}")
    return frozenset(t for t in tags.values() if t is not None)


@lru_cache(maxsize=1)
def load_policy() -> Policy:
    data = json.loads(POLICY_PATH.read_text())
    return Policy(frozenset(data["uid_keep_keywords"]), frozenset(data["structural_keywords"]),
                  _tags(data["file_meta_remove"]),
                  {k: Action.of(v) for k, v in data["sequence_compound_resolution"].items()},
                  frozenset(data["type2_sequences"]),
                  frozenset(data["empty_instead_of_remove"]), data["remove_when_emptied"],
                  tuple((int(g, 16), int(lo, 16), int(hi, 16)) for g, lo, hi in data["identity_groups"]),
                  _tags(data["identity_group_keep"]))


@dataclass
class HeaderReport:
    """What was done, for the audit trail: action counts and (tag path, action) pairs. Never values."""

    profile: str
    counts: Counter[Action] = field(default_factory=Counter)
    actions: list[tuple[str, Action]] = field(default_factory=list)
    dates_shifted: int = 0
    charset: str = ""
    method_codes: list[str] = field(default_factory=list)

    def record(self, path: str, action: Action) -> None:
        self.counts[action] += 1
        self.actions.append((path, action))

    def to_record(self) -> dict[str, Any]:
        """JSON-ready form for the audit trail: every field, the (path, action) pairs included."""
        return {"profile": self.profile, "counts": {a.value: n for a, n in self.counts.items()},
                "actions": [[path, a.value] for path, a in self.actions],
                "dates_shifted": self.dates_shifted, "charset": self.charset, "method_codes": list(self.method_codes)}


TextCleaner = Callable[..., str]  # (text, max_len: int | None = None, vr: str | None = None) -> cleaned text
Walker = Callable[[Dataset, "Run", str, "Action | None"], None]


@dataclass
class Run:
    """State of one de-identification: shared by the walker and the handlers."""

    table: Table
    profile: Profile
    keyring: Keyring
    policy: Policy
    clean_text: TextCleaner  # (text, max_len=, vr=) -> text (TextDeidentifier.scrub)
    days: int | None  # date offset when the modified-dates option is on
    report: HeaderReport
    walker: Walker  # engine._walk: how a sequence's items are walked
    keep_tags: frozenset[int] = frozenset()
    content_codes: tuple[tuple[str, str], ...] = ()  # CID 7050 codes earned by the content handlers
    dates_shifted: int = 0

    def walk(self, ds: Dataset, path: str, mode: Action | None) -> None:
        self.walker(ds, self, path, mode)

    def text_cleaner(self, vr: str) -> Callable[[str], str]:
        """clean_text for one value of this VR: told the VR and its maximum length, and held to that length."""
        limit = MAX_CHARS.get(vr)
        return lambda text: fit_text(self.clean_text(text, max_len=limit, vr=vr), vr)

    def walk_sequence(self, elem: DataElement, path: str, mode: Action | None) -> None:
        for i, item in enumerate(elem.value or []):
            self.walker(item, self, f"{path}[{i}].", mode)
