"""The joins between stages are typed (issue 19.2): one identity Protocol read without fallbacks, reports that
say everything (the header's action pairs included), header actions as one Enum, no engine <-> handlers circle."""
from __future__ import annotations

import ast
import random
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset

from inference.header import Action, load_profile
from inference.header.engine import deidentify_dataset
from inference.identity import Identity
from inference.keys import Keyring
from inference.textdeid import PersonalValues, TextDeidentifier
from inference.textdeid.fold import fold
from inference.textdeid.identity_terms import terms_of
from synth.identity import make_identity

ROOT = Path(__file__).resolve().parents[1]
KEYRING = Keyring(b"medanon-test-key-0123456789abcdef")


def _ct() -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = pydicom.uid.CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = "1.2.3.4.5"
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Petraitis^Jonas", "LT-778", "19800412"
    ds.StudyDescription = "CT for Petraitis"
    ds.ReferringPhysicianName = "Kazlauskas^Ona"
    ds.add_new(0x00091010, "LO", "private note")
    return ds


def test_both_identities_satisfy_the_protocol_and_give_their_terms() -> None:
    header = Identity.from_dataset(_ct())
    synth = make_identity(random.Random(7))
    assert isinstance(header, PersonalValues) and isinstance(synth, PersonalValues)
    terms = terms_of(header)
    assert terms.patient_id == "LT-778" and "petraitis" in terms.name_parts and "kazlauskas" in terms.other_names
    assert terms.date_key == header.patient_key
    sterms = terms_of(synth)
    assert sterms.patient_name == synth.dicom_name and fold(synth.family_name) in sterms.name_parts
    assert synth.personal_code in sterms.ids


class _RenamedField:
    """An identity whose patient_id was renamed: it must not silently scrub less."""

    patient_name = "Petraitis^Jonas"
    patient_key = "X"
    birth_date = ""
    name_parts = ()
    record_number = "LT-778"

    def person_names(self) -> tuple[str, ...]:
        return ()

    def tokens(self) -> list[str]:
        return []


def test_a_missing_identity_field_is_an_error_not_less_scrubbing() -> None:
    assert not isinstance(_RenamedField(), PersonalValues)
    with pytest.raises(AttributeError, match="patient_id"):
        terms_of(_RenamedField())  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        TextDeidentifier(_RenamedField(), KEYRING)  # type: ignore[arg-type]


def test_the_header_record_keeps_its_action_pairs_as_plain_codes() -> None:
    report = deidentify_dataset(_ct(), load_profile("basic"), KEYRING)
    record = report.to_record()
    pairs = dict((path, code) for path, code in record["actions"])
    assert pairs["(0009,1010)"] == "X" and pairs["(0010,0010)"] == "P"
    assert all(type(code) is str for _, code in record["actions"])  # JSON plain, not Enum members
    assert all(type(code) is str for code in record["counts"])
    assert sum(record["counts"].values()) == len(record["actions"])
    assert {code for _, code in record["actions"]} <= {a.value for a in Action}


def test_pipeline_trail_has_the_header_action_pairs(tmp_path: Path) -> None:
    """Through the real pipeline: report_dict used to drop the pairs from the trail."""
    from inference.context import RunOptions
    from inference.pipeline import Context, process_file
    ds = _ct()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.66"  # Raw Data: header only
    src = tmp_path / "raw.dcm"
    ds.save_as(src, enforce_file_format=True)
    result = process_file(src, "raw.dcm", Context(RunOptions(), KEYRING))
    assert result.status == "written", result.reason
    assert ["(0009,1010)", "X"] in result.record()["actions"]["header"]["actions"]


def test_keep_and_keep_scrubbed_are_distinct_actions() -> None:
    assert Action("k") is Action.KEEP_SCRUBBED and Action("K") is Action.KEEP and Action.KEEP != Action.KEEP_SCRUBBED
    with pytest.raises(ValueError, match="unknown header action code 'Q'"):
        Action.of("Q")


def test_profile_override_actions_are_enum_members() -> None:
    profile = load_profile("basic")
    assert profile.overrides and all(isinstance(o.action, Action) for o in profile.overrides.values())


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            out.add(node.module)
    return out


def test_no_engine_handlers_import_circle() -> None:
    header = ROOT / "inference" / "header"
    assert "handlers" in _imports(header / "engine.py")
    for module in ("handlers", "state", "actions", "profile", "table", "values"):
        assert "engine" not in _imports(header / f"{module}.py"), module
    assert "handlers" not in _imports(header / "state.py")
