"""Regenerate data/ps315_table_e1_1.json from the shared PS3.15 Table E.1-1 extract.

Run once per DICOM edition: ``python -m inference.header.build_table [SOURCE_JSON]``.
The output is committed so that the package never reads ../shared at run time; keeping the
generator beside it makes the provenance of every row reproducible.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from pydicom.datadict import dictionary_VR, keyword_for_tag

DEFAULT_SOURCE = Path(__file__).resolve().parents[3] / "shared" / "data" / "standard" / (
    "confidentiality_profile_attributes.json")
OUTPUT = Path(__file__).resolve().parent / "data" / "ps315_table_e1_1.json"

# Option columns of Table E.1-1: friendly profile name -> (column key, CID 7050 code, code meaning).
OPTIONS = {
    "retain_longitudinal_full_dates": ("rtnLongFullDatesOpt", "113106",
                                       "Retain Longitudinal Temporal Information Full Dates Option"),
    "retain_longitudinal_modified_dates": ("rtnLongModifDatesOpt", "113107",
                                           "Retain Longitudinal Temporal Information Modified Dates Option"),
    "clean_descriptors": ("cleanDescOpt", "113105", "Clean Descriptors Option"),
    "retain_uids": ("rtnUIDsOpt", "113110", "Retain UIDs Option"),
    "retain_device_identity": ("rtnDevIdOpt", "113109", "Retain Device Identity Option"),
    "retain_patient_characteristics": ("rtnPatCharsOpt", "113108", "Retain Patient Characteristics Option"),
    "retain_institution_identity": ("rtnInstIdOpt", "113112", "Retain Institution Identity Option"),
    "clean_graphics": ("cleanGraphOpt", "113103", "Clean Graphics Option"),
    "clean_structured_content": ("cleanStructContOpt", "113104", "Clean Structured Content Option"),
    "retain_safe_private": ("rtnSafePrivOpt", "113111", "Retain Safe Private Option"),
}

# How a compound code is resolved when the IOD type of the attribute is not known here
# (Table E.1-1 picks by Type 1/2/3). Choosing the member that keeps the attribute present
# keeps every IOD valid and never keeps an original value: D and Z carry no original data.
COMPOUND = {"X/Z": "Z", "X/D": "D", "X/Z/D": "D", "Z/D": "D", "X/Z/U*": "U*"}


def parse_tag(text: str) -> tuple[str, str]:
    """'(60XX,3000)' -> ('60XX', '3000'); hex digits stay upper case, 'X' marks a wildcard digit."""
    group, element = text.strip("()").split(",")
    return group.upper(), element.upper()


def build_row(src: dict) -> dict:
    group, element = parse_tag(src["tag"].split(" ")[0])
    row = {"tag": f"({group},{element})", "name": src["name"], "basic": src["basicProfile"],
           "options": {col: src[col] for _, (col, _, _) in OPTIONS.items() if col in src}}
    if "X" in group + element:
        row["repeating"] = True
        return row
    tag = int(group + element, 16)
    row["keyword"] = keyword_for_tag(tag) or ""
    row["vr"] = dictionary_VR(tag)
    return row


def build(source: Path) -> dict:
    rows = json.loads(source.read_text())
    regular = [r for r in rows if not r["tag"].startswith("(GGGG")]
    private = [r for r in rows if r["tag"].startswith("(GGGG")]
    return {
        "source": "DICOM PS3.15 Table E.1-1 (edition 2024e, innolitics/dicom-standard extract)",
        "generated_by": "python -m inference.header.build_table",
        "options": {name: {"column": col, "code": code, "meaning": meaning}
                    for name, (col, code, meaning) in OPTIONS.items()},
        "compound_resolution": COMPOUND,
        "private": {"basic": private[0]["basicProfile"],
                    "options": {k: v for k, v in private[0].items() if k.endswith("Opt")}},
        "rows": sorted((build_row(r) for r in regular), key=lambda r: r["tag"]),
    }


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    table = build(source)
    OUTPUT.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(table['rows'])} rows to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
