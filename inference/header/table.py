"""PS3.15 Table E.1-1 as lookup rules: which action applies to a tag under the picked options.

The committed JSON (data/ps315_table_e1_1.json, built by build_table.py) is the only source of
actions; this module only indexes it and resolves option columns and compound codes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from inference.resources import data_file

TABLE_PATH = data_file("inference.header", "data", "ps315_table_e1_1.json")
REPEATING_GROUPS = (0x5000, 0x6000)
MODIFIED_DATES_COLUMN = "rtnLongModifDatesOpt"  # curves (50xx) and overlays (60xx): even groups 0xgg00..0xgg1E


@dataclass(frozen=True)
class Rule:
    """One row of Table E.1-1."""

    tag: str  # "(0008,0050)" or "(60XX,3000)"
    name: str
    basic: str  # Basic Profile code: X, Z, D, U, or a compound code such as X/Z/D
    options: dict[str, str] = field(default_factory=dict)  # option column -> K or C
    keyword: str = ""
    vr: str = ""

    def resolve(self, columns: frozenset[str], compound: dict[str, str]) -> str:
        """The single action (X, Z, D, K, C, U, U*) for the enabled option columns.

        Option columns override the Basic Profile; when several enabled options name this row,
        K (retain) wins over C (clean), since an option that retains is the more specific choice, except
        for dates and times under Modified Dates: they are shifted (C) with all the others even when another
        option retains them (Retain Device Identity kept DateOfLastCalibration unshifted beside shifted study
        dates, which gives the offset away).
        """
        code = self.select(columns)
        return compound.get(code, code)

    def select(self, columns: frozenset[str]) -> str:
        """The code of the column that applies (maybe compound, e.g. X/Z/D), before resolution."""
        picked = {self.options[c] for c in columns if c in self.options}
        if self.vr in ("DA", "DT", "TM") and self.options.get(MODIFIED_DATES_COLUMN) == "C" \
                and MODIFIED_DATES_COLUMN in columns:
            return "C"
        return "K" if "K" in picked else "C" if "C" in picked else self.basic


@dataclass(frozen=True)
class Table:
    rules: dict[int, Rule]  # concrete tags
    repeating: dict[tuple[int, int | None], Rule]  # (group base, element or None for XXXX)
    private: Rule
    options: dict[str, dict[str, str]]  # friendly option name -> {column, code, meaning}
    compound: dict[str, str]

    def rule_for(self, tag: int) -> Rule | None:
        """Rule for a public tag, repeating groups (50xx/60xx) included; None if not in the table."""
        rule = self.rules.get(tag)
        if rule is not None:
            return rule
        group, element = tag >> 16, tag & 0xFFFF
        base = group & 0xFF00
        if base in REPEATING_GROUPS and group % 2 == 0 and (group & 0xFF) <= 0x1E:
            return self.repeating.get((base, element)) or self.repeating.get((base, None))
        return None


def _tag_value(text: str) -> int:
    return int(text[1:5] + text[6:10], 16)


def _repeating_key(text: str) -> tuple[int, int | None]:
    group, element = text.strip("()").split(",")
    return int(group[:2] + "00", 16), None if "X" in element else int(element, 16)


@lru_cache(maxsize=4)
def load_table(path: str | None = None) -> Table:
    data = json.loads(Path(path or TABLE_PATH).read_text())
    rules: dict[int, Rule] = {}
    repeating: dict[tuple[int, int | None], Rule] = {}
    for row in data["rows"]:
        rule = Rule(tag=row["tag"], name=row["name"], basic=row["basic"], options=row["options"],
                    keyword=row.get("keyword", ""), vr=row.get("vr", ""))
        if row.get("repeating"):
            repeating[_repeating_key(row["tag"])] = rule
        else:
            rules[_tag_value(row["tag"])] = rule
    private = Rule(tag="(GGGG,EEEE)", name="Private Attributes", basic=data["private"]["basic"],
                   options=data["private"]["options"])
    return Table(rules=rules, repeating=repeating, private=private, options=data["options"],
                 compound=data["compound_resolution"])
