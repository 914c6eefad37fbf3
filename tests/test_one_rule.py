"""One definition per rule (issue 19.4): the personal-code check, the VR groups, the header's default cleaner."""
from __future__ import annotations

import ast
import random
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset

from inference.audit.detectors import find_generic
from inference.header import deidentify_dataset, load_profile
from inference.identity import Identity
from inference.keys import Keyring
from inference.textdeid import TextDeidentifier, personal_code_valid
from synth.identity import make_identity

ROOT = Path(__file__).resolve().parents[1]
KEYRING = Keyring(b"medanon-test-key-0123456789abcdef")


def test_personal_code_rule() -> None:
    assert personal_code_valid("38703181745")           # the public textbook example
    assert not personal_code_valid("38703181746")       # wrong check digit
    assert not personal_code_valid("38713181745")       # month 13, though the check digit fits
    assert not personal_code_valid("78703181745")       # no such century digit
    nine = next(c for c in (f"9000000000{k}" for k in range(10)) if personal_code_valid(c))
    assert nine.startswith("9")                         # exceptional codes: no date in them
    rng = random.Random(3)
    assert all(personal_code_valid(make_identity(rng).personal_code) for _ in range(200))


def test_redactor_and_auditor_agree_on_personal_codes() -> None:
    td = TextDeidentifier(None, KEYRING)
    for code, valid in (("38703181745", True), ("38713181745", False), ("38703181746", False)):
        text = f"a.k. {code}"
        kinds = {s.kind for s in td.find(text)}
        audited = {h.kind for h in find_generic(text)}
        assert (("PERSONAL_CODE" in kinds) == valid) and (("personal_code" in audited) == valid), code
        assert kinds & {"PERSONAL_CODE", "ID"}  # redacted either way: a mistyped code still identifies


def test_one_definition_of_each_vr_group() -> None:
    """No module defines its own *TEXT_VRS set any more: inference/vrs.py does."""
    own = []
    for path in (ROOT / "inference").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Set, ast.Call)):  # a literal set
                own += [f"{path.relative_to(ROOT)}:{t.id}" for t in node.targets
                        if isinstance(t, ast.Name) and t.id.endswith("TEXT_VRS") and path.name != "vrs.py"]
    assert own == []


def _study() -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.66"
    ds.SOPInstanceUID = "1.2.3.4"
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Žemaitienė^Ona", "LT-77", "19700102"
    # unlisted free text: kept, scrubbed ('k'); an e-mail and a phone are no known value of this patient
    ds.add_new(0x00324000, "LT", "Ona Žemaitienė, ona@example.lt, tel. +370 612 34567, a.k. 47001020123")
    return ds


def test_the_library_call_scrubs_as_the_pipeline() -> None:
    library, pipeline_way = _study(), _study()
    deidentify_dataset(library, load_profile("basic"), KEYRING)
    identity = Identity.from_dataset(pipeline_way)
    deidentify_dataset(pipeline_way, load_profile("basic"), KEYRING, identity=identity,
                       clean_text=TextDeidentifier(identity, KEYRING).scrub)
    assert library == pipeline_way
    text = str(library[0x00324000].value)  # cleaned (C), not removed
    assert "[REDACTED-PHONE]" in text
    for gone in ("Žemaitienė", "ona@example.lt", "612 34567", "47001020123"):
        assert gone not in text
