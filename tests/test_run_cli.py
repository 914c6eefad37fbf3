"""The batch command end to end on real files: discovery, quarantine, resume, drop, workers, nothing lost."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from inference.run import EXIT_FATAL, EXIT_OK, EXIT_QUARANTINED, main
from files_fixtures import tree_digest, write

GSPS = "1.2.840.10008.5.1.4.1.1.11.1"   # header-only object: no pixel model needed
RT_PLAN = "1.2.840.10008.5.1.4.1.1.481.5"
PATIENT_NAME = "Žemaitytė^Gabija"
PATIENT_ID = "48705120123"


def make_object(sop_class: str, study: str, series: str, *, name=PATIENT_NAME, pid=PATIENT_ID) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.PatientName, ds.PatientID = name, pid
    ds.PatientBirthDate = "19870512"
    ds.StudyDate, ds.StudyTime = "20240112", "101500"
    ds.AccessionNumber = "ACC123456"
    ds.InstitutionName = "Vilniaus universiteto ligoninė Santaros klinikos"
    ds.Modality = "PR" if sop_class == GSPS else "RTPLAN"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    return ds




@pytest.fixture
def study(tmp_path: Path) -> Path:
    src = tmp_path / "in" / "Žemaitytė Gabija"   # an identifying folder name: must never reach OUTPUT
    st = generate_uid()
    for s in range(2):
        se = generate_uid()
        for i in range(3):
            write(make_object(GSPS, st, se), src / f"series{s}" / f"img{i}")  # no extension: found by content
    (src / "notes.txt").write_text("not a dicom file")
    shutil.copy(Path(pydicom.data.get_testdata_file("DICOMDIR")), src / "DICOMDIR")
    good = src / "series0" / "img0"
    (src / "truncated.dcm").write_bytes(good.read_bytes()[:300])
    return tmp_path / "in"


def run(src: Path, out: Path, *extra: str) -> int:
    return main([str(src), str(out), "--quiet", *extra])


def test_folder_is_processed_skips_reported_and_truncated_quarantined(study, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    before = tree_digest(study)
    out = tmp_path / "out"
    assert run(study, out) == EXIT_QUARANTINED
    err = capsys.readouterr().err
    assert "written      6" in err and "skipped      2" in err and "quarantined  1" in err
    written = sorted(p for p in out.rglob("*.dcm"))
    assert len(written) == 6
    # nothing identifying anywhere under OUTPUT: paths or bytes
    for p in out.rglob("*"):
        rel = str(p.relative_to(out))
        assert "Žemait" not in rel and PATIENT_ID not in rel and "img" not in rel
    for p in written:
        raw = p.read_bytes()
        for token in ("Žemaitytė".encode(), b"Gabija", PATIENT_ID.encode(), b"ACC123456", b"19870512"):
            assert token not in raw
        ds = pydicom.dcmread(p)
        assert ds.PatientIdentityRemoved == "YES"
    # the study/series tree is kept under remapped UIDs
    studies = {p.parts[-3] for p in written}
    series = {p.parts[-2] for p in written}
    assert len(studies) == 1 and len(series) == 2
    # the quarantine holds the truncated original and says why
    reasons = [json.loads(p.read_text()) for p in (tmp_path / "out.quarantine").rglob("reason.json")]
    assert len(reasons) == 1 and reasons[0]["source"].endswith("truncated.dcm")
    assert reasons[0]["reason"]
    # inputs untouched
    assert tree_digest(study) == before


def test_rerun_skips_done_files_and_outputs_are_identical(study, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    out = tmp_path / "out"
    run(study, out)
    first = tree_digest(out)
    capsys.readouterr()
    run(study, out)
    assert "already done 6" in capsys.readouterr().err
    assert tree_digest(out) == first
    shutil.rmtree(out)
    run(study, out, "--force")
    assert tree_digest(out) == first  # same key -> byte-identical outputs


def test_different_key_gives_different_identifiers(study, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDANON_KEY", "a" * 32)
    run(study, tmp_path / "a")
    monkeypatch.setenv("MEDANON_KEY", "b" * 32)
    run(study, tmp_path / "b")
    a = {p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.dcm")}
    b = {p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.dcm")}
    assert len(a) == len(b) == 6 and not (a & b)


def test_workers_give_the_same_outputs(study, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    run(study, tmp_path / "one")
    run(study, tmp_path / "two", "--workers", "2")
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two")


def test_drop_removes_object_types_and_records_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    st = generate_uid()
    write(make_object(GSPS, st, generate_uid()), tmp_path / "in" / "ps.dcm")
    write(make_object(RT_PLAN, st, generate_uid()), tmp_path / "in" / "plan.dcm")
    assert run(tmp_path / "in", tmp_path / "out", "--drop", "ps") == EXIT_OK
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 1
    trail = [json.loads(l) for l in (tmp_path / "out.audit" / "trail.jsonl").read_text().splitlines()]
    assert {r["status"] for r in trail} == {"written", "dropped"}


def test_unknown_drop_name_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit, match="unknown object type"):
        run(tmp_path, tmp_path / "out", "--drop", "nonsense")


def test_unwritable_output_is_a_clear_fatal_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    (tmp_path / "in").mkdir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert run(tmp_path / "in", blocker / "out") == EXIT_FATAL
    assert "not writable" in capsys.readouterr().err


def test_thousand_files_with_one_corrupt(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    st, se = generate_uid(), generate_uid()
    proto = make_object(GSPS, st, se)
    for i in range(1000):
        proto.SOPInstanceUID = generate_uid()
        proto.file_meta.MediaStorageSOPInstanceUID = proto.SOPInstanceUID
        proto.InstanceNumber = i
        write(proto, tmp_path / "in" / f"{i:04d}.dcm")
    bad = tmp_path / "in" / "0500.dcm"
    data = bytearray(bad.read_bytes())
    data[140:160] = b"\xff" * 20  # corrupt the file meta group
    bad.write_bytes(bytes(data))
    assert run(tmp_path / "in", tmp_path / "out", "--workers", "2") == EXIT_QUARANTINED
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 999
    assert len(list((tmp_path / "out.quarantine").rglob("reason.json"))) == 1


@pytest.mark.parametrize("cut", [200, 300, 700, 2000, 5000, 30000])
def test_truncated_image_is_quarantined_wherever_it_is_cut(tmp_path, monkeypatch, cut):
    """pydicom reads a file cut at an element boundary without complaint: the pipeline must not."""
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    data = Path(pydicom.data.get_testdata_file("CT_small.dcm")).read_bytes()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "ct.dcm").write_bytes(data[:cut])
    assert run(tmp_path / "in", tmp_path / "out") == EXIT_QUARANTINED
    assert not list((tmp_path / "out").rglob("*.dcm"))


def test_bad_profile_is_a_usage_error_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    (tmp_path / "in").mkdir()
    assert run(tmp_path / "in", tmp_path / "out", "--profile", "no-such-profile") == 2
    assert "profile" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_release_gate_quarantines_what_the_auditor_flags(tmp_path, monkeypatch, capsys):
    """A profile that (wrongly) keeps the institution and name: without --audit it is released, with it not."""
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    leaky = tmp_path / "leaky.yaml"
    leaky.write_text("name: leaky\nextends: basic\noverrides:\n  PatientName: K\n")
    write(make_object(GSPS, generate_uid(), generate_uid()), tmp_path / "in" / "ps.dcm")
    assert run(tmp_path / "in", tmp_path / "open", "--profile", str(leaky)) == EXIT_OK
    assert run(tmp_path / "in", tmp_path / "gated", "--profile", str(leaky), "--audit") == EXIT_QUARANTINED
    assert not list((tmp_path / "gated").rglob("*.dcm"))
    reason = json.loads(next((tmp_path / "gated.quarantine").rglob("reason.json")).read_text())["reason"]
    assert reason.startswith("auditor flagged")
    assert "Gabija" not in reason  # reasons are masked: the quarantine note itself identifies nobody


def test_workers_after_an_in_process_run_do_not_hang(tmp_path):
    """A caller that already holds an ONNX Runtime session (an earlier in-process run) then asks for workers:
    forked children used to inherit the half-copied session thread pool and deadlock destroying it."""
    import os
    import subprocess
    import sys
    import textwrap

    import numpy as np

    ds = make_object(RT_PLAN, generate_uid(), generate_uid())
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # secondary capture
    ds.Modality = "OT"
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 64, 96, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = np.random.default_rng(0).integers(0, 255, (64, 96), np.uint8).tobytes()
    for i in range(3):
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        write(ds, tmp_path / "in" / f"img{i}.dcm")
    script = textwrap.dedent(f"""
        import time
        from inference.run import main
        import inference.engines.local as r  # the local engine holds the in-process context
        from inference.detect import TextDetector
        from inference.pipeline import DEFAULT_MODEL
        session = TextDetector(DEFAULT_MODEL)  # a library caller holding a live session (files run in workers)
        session.detect(__import__("numpy").zeros((64, 96), "uint8"))
        assert main([{str(tmp_path / 'in')!r}, {str(tmp_path / 'one')!r}, "--workers", "1"]) == 0
        assert r._CTX is None, "files are processed in worker processes, never in the caller"
        time.sleep(2)  # let the session's pool threads go from spinning to waiting (the state a fork copies badly)
        assert main([{str(tmp_path / 'in')!r}, {str(tmp_path / 'two')!r}, "--workers", "2"]) == 0
    """)
    env = {**os.environ, "MEDANON_KEY": "k" * 32}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1], env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert tree_digest(tmp_path / "one" / "dicom") == tree_digest(tmp_path / "two" / "dicom")
