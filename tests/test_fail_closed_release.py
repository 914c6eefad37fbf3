"""Issue 20: hostile inputs must never be released un-anonymised (unknown tags, pixels in 'header-only' classes,
truncated documents, protected folders under OUTPUT, UID clashes across runs, key handling)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from inference.run import EXIT_OK, EXIT_QUARANTINED, EXIT_USAGE, main
from files_fixtures import write

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["orthanc_fixture"]   # the real Orthanc, for --resume-push (one per session)
RT_PLAN = "1.2.840.10008.5.1.4.1.1.481.5"
MRN = "MRN-998877"
HIDDEN_NAME = "Petrauskiene^Ona"
PATIENT_ID = "LT-555012349"  # even length: no padding byte


def run(src: Path, out: Path, *extra: str) -> int:
    return main([str(src), str(out), "--quiet", *extra])


def base_object(sop_class: str = RT_PLAN, syntax: str = ExplicitVRLittleEndian) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID = "Kazlauskas^Jonas", PATIENT_ID
    ds.PatientBirthDate = "19700101"
    ds.StudyDate, ds.StudyTime = "20240112", "101500"
    ds.Modality = "RTPLAN"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    return ds



def released(out: Path) -> list[Path]:
    return sorted(out.rglob("*.dcm")) if out.exists() else []


def trail(out: Path) -> list[dict]:
    path = out.with_name(out.name + ".audit") / "trail.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --- 1. unknown public tags ------------------------------------------------------------------------------------

def hostile_implicit_file(path: Path) -> Path:
    """Implicit VR: (0010,FF20) holds an MRN, an unknown group-0010 element a name, and one bit flip moves
    PatientID (0010,0020) to (0010,0120), a tag no dictionary knows."""
    ds = base_object(syntax=ImplicitVRLittleEndian)
    ds.add_new(0x0010FF20, "LO", MRN)
    ds.add_new(0x00100060, "PN", HIDDEN_NAME)
    write(ds, path)
    data = bytearray(path.read_bytes())
    tag = b"\x10\x00\x20\x00" + len(PATIENT_ID).to_bytes(4, "little")
    at = data.index(tag)
    data[at + 3] ^= 0x01  # element 0x0020 -> 0x0120
    path.write_bytes(bytes(data))
    assert pydicom.dcmread(path).get((0x0010, 0x0120)) is not None  # the flip did what it claims
    return path


@pytest.mark.parametrize("audit", [False, True])
def test_unknown_public_elements_and_a_moved_patient_id_are_removed(tmp_path, monkeypatch, audit):
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    hostile_implicit_file(tmp_path / "in" / "plan.dcm")
    out = tmp_path / "out"
    assert run(tmp_path / "in", out, *(["--audit"] if audit else [])) == EXIT_OK
    [written] = released(out)
    raw = written.read_bytes()
    for token in (MRN, HIDDEN_NAME, "Petrauskiene", PATIENT_ID):
        assert token.encode() not in raw
    ds = pydicom.dcmread(written)
    for tag in (0x0010FF20, 0x00100060, 0x00100120):
        assert tag not in ds
    assert not ds.get("PatientID")


def test_unlisted_public_elements_removed_unless_the_profile_keeps_them(tmp_path, test_key):
    """Explicit VR: an unknown element outside the identity groups goes too (whatever its VR); an unlisted but
    known element in group 0010 goes unless policy keeps it; a profile override keeps what a site vouches for."""
    from inference.header import deidentify_dataset, load_profile
    from inference.keys import Keyring

    def hostile() -> Dataset:
        ds = base_object()
        ds.add_new(0x0018FF00, "LO", HIDDEN_NAME)
        ds.add_new(0x0018FF02, "US", 4242)
        ds.add_new(0x00100022, "CS", "TEXT")              # TypeOfPatientID: known, not in Table E.1-1
        ds.add_new(0x00102210, "CS", "BIPED")             # AnatomicalOrientationType: kept by policy
        ds.add_new(0x00380008, "CS", "ADMITTED")          # VisitStatusID: unlisted visit data
        return ds

    ds = hostile()
    deidentify_dataset(ds, load_profile("basic"), Keyring(test_key))
    for tag in (0x0018FF00, 0x0018FF02, 0x00100022, 0x00380008):
        assert tag not in ds, hex(tag)
    assert ds.AnatomicalOrientationType == "BIPED"
    keeper = tmp_path / "keeper.yaml"
    keeper.write_text('name: keeper\nextends: basic\noverrides:\n  "(0018,FF02)": K\n')
    ds = hostile()
    deidentify_dataset(ds, load_profile(keeper), Keyring(test_key))
    assert ds[0x0018FF02].value in (4242, b"\x92\x10") and 0x0018FF00 not in ds


# --- 2. pixels in 'header-only' classes ------------------------------------------------------------------------

def _sop(name: str) -> str:
    sops = json.loads((ROOT.parent / "shared" / "data" / "standard" / "sops.json").read_text())
    return next(s["id"] for s in sops if s["name"] == name)


def burned_in_text(rows: int = 96, cols: int = 256):
    """A black frame with a white name line, as a device burns it in."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont
    img = Image.new("L", (cols, rows), 0)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 16)
    ImageDraw.Draw(img).text((8, 8), "PETRAUSKIENE ONA 1970", fill=255, font=font)
    return np.asarray(img)


def pixel_object(sop_name: str, modality: str, bits: int) -> Dataset:
    import numpy as np
    ds = base_object(_sop(sop_name))
    ds.Modality = modality
    text = burned_in_text()
    ds.Rows, ds.Columns = text.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BurnedInAnnotation = "YES"
    if sop_name == "Parametric Map Storage":
        ds.BitsAllocated = 32
        ds.FloatPixelData = text.astype(np.float32).tobytes()
        return ds
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    if bits == 1:   # binary SEG: 1 bit per pixel, packed
        ds.PixelData = np.packbits((text > 127).reshape(-1), bitorder="little").tobytes()
    elif bits == 8:
        ds.PixelData = text.tobytes()
    else:
        ds.PixelData = (text.astype(np.uint16) * 200).tobytes()
    return ds


PIXEL_OBJECTS = {"dose.dcm": ("RT Dose Storage", "RTDOSE", 16), "seg-binary.dcm": ("Segmentation Storage", "SEG", 1),
                 "seg-fractional.dcm": ("Segmentation Storage", "SEG", 8),
                 "gsps.dcm": ("Grayscale Softcopy Presentation State Storage", "PR", 8),
                 "pmap.dcm": ("Parametric Map Storage", "MR", 32)}


@pytest.fixture
def pixel_objects(tmp_path) -> Path:
    src = tmp_path / "in"
    for name, spec in PIXEL_OBJECTS.items():
        write(pixel_object(*spec), src / name)
    write(base_object(), src / "plan.dcm")  # no pixels: header handling, released either way
    return src


def test_pixels_of_header_only_classes_go_through_the_pixel_stage(pixel_objects, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    out = tmp_path / "out"
    assert run(pixel_objects, out) == EXIT_QUARANTINED
    records = {r["source"]: r for r in trail(out)}
    text = burned_in_text() > 0
    for name in ("dose.dcm", "seg-binary.dcm", "seg-fractional.dcm", "gsps.dcm"):
        r = records[name]
        assert r["status"] == "written" and r["handler"] == "image", (name, r["reason"])
        ds = pydicom.dcmread(out / r["outputs"][0])
        assert ds.BurnedInAnnotation == "NO"
        assert "113101" in {str(i.CodeValue) for i in ds.DeidentificationMethodCodeSequence}
        assert not ds.pixel_array[text].any(), f"{name}: burned-in text left in the pixels"
    # Float Pixel Data: the pixel stage cannot read it, so it is held back with the reason, never released as is
    assert records["pmap.dcm"]["status"] == "quarantined"
    assert "FloatPixelData" in records["pmap.dcm"]["reason"]
    assert records["plan.dcm"]["status"] == "written"


def test_model_missing_releases_no_object_with_pixels(pixel_objects, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    out = tmp_path / "out"
    assert run(pixel_objects, out, "--model", str(tmp_path / "missing.onnx")) == EXIT_QUARANTINED
    records = {r["source"]: r for r in trail(out)}
    for name in PIXEL_OBJECTS:
        assert records[name]["status"] == "quarantined", name
        assert records[name]["reason"], name
    [only] = released(out)
    assert "PixelData" not in pydicom.dcmread(only) and records["plan.dcm"]["status"] == "written"
    assert len(list(out.with_name("out.quarantine").rglob("reason.json"))) == len(PIXEL_OBJECTS)


def test_pixel_data_in_a_document_object_is_not_released(tmp_path, monkeypatch):
    """An SR (content handler cleans text, not pixels) that carries PixelData is held back."""
    import numpy as np
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    ds = base_object(_sop("Basic Text SR Storage"))
    ds.Modality = "SR"
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 96, 256, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = burned_in_text().astype(np.uint8).tobytes()
    write(ds, tmp_path / "in" / "sr.dcm")
    assert run(tmp_path / "in", tmp_path / "out") == EXIT_QUARANTINED
    assert not released(tmp_path / "out")
    assert "pixel data" in trail(tmp_path / "out")[0]["reason"]


# --- 3. truncated documents ------------------------------------------------------------------------------------

def cli(*args: str, env_key: str | None = "k" * 32, timeout: int = 300) -> subprocess.CompletedProcess:
    """The real command, in a subprocess."""
    env = {k: v for k, v in os.environ.items() if k != "MEDANON_KEY"}
    if env_key:
        env["MEDANON_KEY"] = env_key
    return subprocess.run([sys.executable, "-m", "inference.run", *args, "--quiet"], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


def _code(value: str, meaning: str, scheme: str = "DCM") -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def text_sr(items: int = 20, syntax: str = ExplicitVRLittleEndian) -> Dataset:
    ds = base_object(_sop("Basic Text SR Storage"), syntax)
    ds.Modality = "SR"
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = [_code("11528-7", "Radiology Report", "LN")]
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "UNVERIFIED"
    content = []
    for i in range(items):
        item = Dataset()
        item.RelationshipType, item.ValueType = "CONTAINS", "TEXT"
        item.ConceptNameCodeSequence = [_code("121071", "Finding")]
        item.TextValue = f"Finding {i}: no abnormality seen in segment {i}."
        content.append(item)
    ds.ContentSequence = content
    return ds


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian], ids=["explicit", "implicit"])
def test_truncated_sr_is_quarantined_not_released_as_complete(tmp_path, syntax):
    whole = write(text_sr(20, syntax), tmp_path / "whole" / "sr.dcm")
    cut = tmp_path / "in" / "sr.dcm"
    cut.parent.mkdir()
    subprocess.run(f"head -c 2600 '{whole}' > '{cut}'", shell=True, check=True)
    assert pydicom.dcmread(cut).ContentSequence  # pydicom reads the cut file without complaint: the trap
    done = cli(str(tmp_path / "in"), str(tmp_path / "out"))
    assert done.returncode == EXIT_QUARANTINED, done.stderr
    assert not released(tmp_path / "out")
    [record] = trail(tmp_path / "out")
    assert record["status"] == "quarantined" and "truncated" in record["reason"]
    # the complete report is released: the check refuses what is cut, not SRs
    done = cli(str(tmp_path / "whole"), str(tmp_path / "out-whole"))
    assert done.returncode == EXIT_OK, done.stderr
    assert len(pydicom.dcmread(released(tmp_path / "out-whole")[0]).ContentSequence) == 20


def test_truncated_pdf_is_quarantined(tmp_path, monkeypatch):
    """A defined-length EncapsulatedDocument cut in the middle: fewer bytes than it declares."""
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    ds = base_object(_sop("Encapsulated PDF Storage"))
    ds.Modality = "DOC"
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = b"%PDF-1.4\n" + b"0" * 4000 + b"\n%%EOF\n"
    whole = write(ds, tmp_path / "whole.dcm").read_bytes()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "doc.dcm").write_bytes(whole[: len(whole) - 1500])
    assert run(tmp_path / "in", tmp_path / "out") == EXIT_QUARANTINED
    assert not released(tmp_path / "out")
    assert "truncated" in trail(tmp_path / "out")[0]["reason"]


KNOWN_CUT = {"no_preamble_dicm_in_data", "MR_truncated.dcm", "GH1339.dcm", "GH179B.dcm", "GH626.dcm", "rtplan_truncated.dcm",
             "emri_small_jpeg_2k_lossless_too_short.dcm"}  # cut, or lengths that run past the end of the file


def test_completeness_check_accepts_every_intact_shared_file(shared_dicom):
    """No false alarm on real files of every encoding (big endian without meta, implicit meta, deflate...)."""
    import warnings
    from inference.completeness import Incomplete, check_complete
    flagged, checked = set(), 0
    for path in sorted(p for p in shared_dicom.rglob("*") if p.is_file() and p.suffix not in (".csv", ".json")):
        data = path.read_bytes()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pydicom.dcmread(path, force=True)
        except Exception:
            continue
        checked += 1
        try:
            check_complete(data)
        except Incomplete:
            flagged.add(path.name)
    assert checked > 500
    assert flagged <= KNOWN_CUT, sorted(flagged - KNOWN_CUT)


# --- 4. protected folders inside OUTPUT ------------------------------------------------------------------------

@pytest.mark.parametrize("flag,where", [("--quarantine-dir", "out/q"), ("--audit-dir", "out/sub/audit"),
                                        ("--quarantine-dir", "out"), ("--audit-dir", "out")])
def test_audit_or_quarantine_folder_inside_output_is_a_usage_error(tmp_path, flag, where):
    hostile_implicit_file(tmp_path / "in" / "plan.dcm")
    truncated = (tmp_path / "in" / "plan.dcm").read_bytes()[:300]
    (tmp_path / "in" / "cut.dcm").write_bytes(truncated)  # would be copied into the quarantine
    done = cli(str(tmp_path / "in"), str(tmp_path / "out"), flag, str(tmp_path / where))
    assert done.returncode == EXIT_USAGE
    assert flag in done.stderr and "inside" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_audit_and_quarantine_folders_beside_output_are_accepted(tmp_path):
    hostile_implicit_file(tmp_path / "in" / "plan.dcm")
    done = cli(str(tmp_path / "in"), str(tmp_path / "out"), "--audit-dir", str(tmp_path / "a"),
               "--quarantine-dir", str(tmp_path / "outq"))  # a sibling whose name starts like OUTPUT's is fine
    assert done.returncode == EXIT_OK, done.stderr
    assert (tmp_path / "a" / "trail.jsonl").exists()


# --- 14. the same SOP Instance UID with other content in a later run -------------------------------------------

@pytest.mark.parametrize("workers", ["1", "2"])
def test_later_version_of_an_instance_gets_its_own_output_and_never_overwrites(tmp_path, monkeypatch, capsys,
                                                                               workers):
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    first = base_object()
    first.StudyDescription = "CHEST"
    write(first, tmp_path / "in1" / "plan.dcm")
    out = tmp_path / "out"
    assert run(tmp_path / "in1", out) == EXIT_OK
    [p1] = released(out)
    before = p1.read_bytes()
    # a corrected re-send: same SOP Instance UID, other content, in a later run (another folder, same name)
    second = base_object()
    second.SOPInstanceUID = second.file_meta.MediaStorageSOPInstanceUID = first.SOPInstanceUID
    second.StudyInstanceUID, second.SeriesInstanceUID = first.StudyInstanceUID, first.SeriesInstanceUID
    second.StudyDescription = "CHEST CORRECTED"
    write(second, tmp_path / "in2" / "plan.dcm")
    assert run(tmp_path / "in2", out, "--workers", workers) == EXIT_OK
    assert p1.read_bytes() == before, "the earlier output was overwritten"
    outputs = released(out)
    assert len(outputs) == 2
    [p2] = [p for p in outputs if p != p1]
    assert p2.parent == p1.parent  # same study and series: only the instance UID tells the versions apart
    v1, v2 = pydicom.dcmread(p1), pydicom.dcmread(p2)
    assert v2.StudyDescription == "CHEST CORRECTED" and v1.StudyDescription == "CHEST"
    assert v2.SOPInstanceUID != v1.SOPInstanceUID and v2.file_meta.MediaStorageSOPInstanceUID == v2.SOPInstanceUID
    assert trail(out)[-1]["actions"]["uid_version"]
    # re-running either input changes nothing and says so
    capsys.readouterr()
    assert run(tmp_path / "in1", out) == EXIT_OK
    assert run(tmp_path / "in2", out) == EXIT_OK
    assert capsys.readouterr().err.count("already done 1") == 2
    assert p1.read_bytes() == before and len(released(out)) == 2
    # forced: the same distinct outputs, byte for byte (the version UID is keyed, not random)
    v2_bytes = p2.read_bytes()
    assert run(tmp_path / "in2", out, "--force") == EXIT_OK
    assert p2.read_bytes() == v2_bytes and p1.read_bytes() == before and len(released(out)) == 2


def test_same_uid_other_content_within_one_run_is_still_quarantined(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDANON_KEY", "k" * 32)
    a = base_object()
    b = base_object()
    b.SOPInstanceUID = b.file_meta.MediaStorageSOPInstanceUID = a.SOPInstanceUID
    b.StudyInstanceUID, b.SeriesInstanceUID = a.StudyInstanceUID, a.SeriesInstanceUID
    b.StudyDescription = "OTHER"
    write(a, tmp_path / "in" / "a.dcm")
    write(b, tmp_path / "in" / "b.dcm")
    assert run(tmp_path / "in", tmp_path / "out") == EXIT_QUARANTINED
    assert len(released(tmp_path / "out")) == 1
    assert any("same SOP Instance UID" in r["reason"] for r in trail(tmp_path / "out"))


# --- 15. --resume-push sends what this run wrote ----------------------------------------------------------------

@pytest.mark.orthanc
def test_resume_push_sends_outputs_written_in_the_same_run(empty_orthanc, tmp_path, capsys):
    from inference.storage.pacs import main as pacs_main
    src, out = tmp_path / "in", tmp_path / "out"
    plans = [base_object() for _ in range(4)]
    for i, ds in enumerate(plans[:2]):
        write(ds, src / f"plan{i}.dcm")
    done = cli(str(src), str(out), "--pacs", empty_orthanc.dicomweb, "--pacs-credentials",
               str(empty_orthanc.credentials_file))
    assert done.returncode == EXIT_OK, done.stderr
    assert empty_orthanc.count_instances() == 2
    for i, ds in enumerate(plans[2:], start=2):  # new files arrive; the next run resumes the push
        write(ds, src / f"plan{i}.dcm")
    done = cli(str(src), str(out), "--pacs", empty_orthanc.dicomweb, "--pacs-credentials",
               str(empty_orthanc.credentials_file), "--resume-push")
    assert done.returncode == EXIT_OK, done.stderr
    assert "written      2" in done.stderr and "already done 2" in done.stderr
    assert len(released(out)) == 4
    assert empty_orthanc.count_instances() == 4, "outputs written by the resuming run were not pushed"
    capsys.readouterr()
    assert pacs_main(["status", str(out), "--pacs", empty_orthanc.dicomweb]) == 0
    assert "4 verified, 0 sent, 0 pending, 0 failed" in capsys.readouterr().err


# --- 16. two first runs at once share one key -------------------------------------------------------------------

def _create(path: str, barrier) -> bytes:
    from inference.keys import create_key_file
    barrier.wait()
    return create_key_file(Path(path))[0]


def test_concurrent_key_creation_yields_one_key(tmp_path):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(6)
        with ProcessPoolExecutor(6, mp_context=ctx) as pool:
            keys = list(pool.map(_create, [str(tmp_path / "audit" / "medanon.key")] * 6, [barrier] * 6))
    assert len(set(keys)) == 1
    assert (tmp_path / "audit" / "medanon.key").read_bytes() == keys[0]
    assert [p.name for p in (tmp_path / "audit").iterdir()] == ["medanon.key"]  # no temporary left
    assert (tmp_path / "audit" / "medanon.key").stat().st_mode & 0o777 == 0o600


def test_two_first_runs_started_together_use_one_key(tmp_path):
    for i in range(3):
        write(base_object(), tmp_path / "in" / f"plan{i}.dcm")
    env = {k: v for k, v in os.environ.items() if k != "MEDANON_KEY"}
    args = [sys.executable, "-m", "inference.run", str(tmp_path / "in"), str(tmp_path / "out"), "--quiet"]
    runs = [subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [r.communicate(timeout=300)[1] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], errors
    notes = " ".join(errors)
    assert notes.count("NEW key generated") <= 1 and "Traceback" not in notes
    keys = list((tmp_path / "out.audit").glob("*.key"))
    assert len(keys) == 1
    # one key -> one pseudonymous patient folder and three outputs; two keys would give two sets
    assert len(released(tmp_path / "out")) == 3


def test_stale_temps_are_removed_but_a_running_writers_are_kept(tmp_path):
    from inference.outputs import TMP_SUFFIX, ensure_writable, remove_stale_temps
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".a.dcm.{dead.stdout.strip()}{TMP_SUFFIX}"
    live = tmp_path / "sub" / f".b.dcm.{os.getpid()}{TMP_SUFFIX}"  # a run beside this one, still writing
    live.parent.mkdir()
    stale.write_bytes(b"x")
    live.write_bytes(b"x")
    assert remove_stale_temps(tmp_path) == 1
    assert not stale.exists() and live.exists()
    ensure_writable(tmp_path, "output")  # its probe is its own and leaves nothing behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]


# --- 17. key files: clear errors, weak keys warned or refused ---------------------------------------------------

@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_missing_or_directory_key_file_is_a_clear_usage_error(tmp_path, kind):
    write(base_object(), tmp_path / "in" / "plan.dcm")
    key = tmp_path / "key"
    if kind == "directory":
        key.mkdir()
    done = cli(str(tmp_path / "in"), str(tmp_path / "out"), "--key-file", str(key), env_key=None)
    assert done.returncode == EXIT_USAGE
    assert "Traceback" not in done.stderr
    assert ("does not exist" if kind == "missing" else "is a directory") in done.stderr
    assert not released(tmp_path / "out")


def test_readable_key_file_and_low_entropy_key_warn_and_strict_refuses(tmp_path):
    import secrets as s
    write(base_object(), tmp_path / "in" / "plan.dcm")
    shared = tmp_path / "shared.key"
    shared.write_text(s.token_hex(32))
    shared.chmod(0o644)
    done = cli(str(tmp_path / "in"), str(tmp_path / "out1"), "--key-file", str(shared), env_key=None)
    assert done.returncode == EXIT_OK and "warning: key file" in done.stderr and "644" in done.stderr
    done = cli(str(tmp_path / "in"), str(tmp_path / "out2"), "--key-file", str(shared), "--strict", env_key=None)
    assert done.returncode == EXIT_USAGE and "--strict" in done.stderr and not released(tmp_path / "out2")
    weak = tmp_path / "weak.key"
    weak.write_text("passwordpassword")
    weak.chmod(0o600)
    done = cli(str(tmp_path / "in"), str(tmp_path / "out3"), "--key-file", str(weak), env_key=None)
    assert done.returncode == EXIT_OK and "low-entropy" in done.stderr
    done = cli(str(tmp_path / "in"), str(tmp_path / "out4"), "--key-file", str(weak), "--strict", env_key=None)
    assert done.returncode == EXIT_USAGE and "low-entropy" in done.stderr
    done = cli(str(tmp_path / "in"), str(tmp_path / "out5"), "--strict", env_key="k" * 32)  # env keys too
    assert done.returncode == EXIT_USAGE and "low-entropy" in done.stderr
    good = tmp_path / "good.key"
    good.write_text(s.token_hex(32))
    good.chmod(0o600)
    done = cli(str(tmp_path / "in"), str(tmp_path / "out6"), "--key-file", str(good), "--strict", env_key=None)
    assert done.returncode == EXIT_OK and "warning" not in done.stderr, done.stderr
