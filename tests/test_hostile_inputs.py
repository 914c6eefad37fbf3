"""Issue 20, points 5-13: one hostile file costs only itself. Each input is built here, from a shared sample
or with pydicom, and run through the real command (`python -m inference.run` in a subprocess): the hostile
file is quarantined (or reported skipped) with its reason, the good file beside it is written, nothing
identifying reaches OUTPUT and the inputs are not modified."""
from __future__ import annotations

import io
import json
import os
import resource
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.sequence import Sequence
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian, generate_uid

from inference.discover import sniff, walk
from inference.pixels.decode import check_decode_budget
from inference.pixels.errors import PixelError
from inference.workers import Supervisor, WorkerError
from files_fixtures import tree_digest
from files_fixtures import write as save

ROOT = Path(__file__).resolve().parents[1]
SHARED_DICOM = ROOT.parent / "shared" / "data" / "dicom"
TEST_FILES = SHARED_DICOM / "pydicom+pydicom" / "src" / "pydicom" / "data" / "test_files"
GSPS = "1.2.840.10008.5.1.4.1.1.11.1"  # header-only: no model needed
NAME, PID = "Petrauskienė^Ona", "MRN-998877"


def good_object(name: str = NAME, pid: str = PID) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID, ds.SOPInstanceUID = GSPS, generate_uid()
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = GSPS, ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = name, pid, "PR"
    ds.StudyDate, ds.SeriesNumber, ds.InstanceNumber = "20240112", 1, 1
    return ds




def cli(src: Path, out: Path, *extra: str, timeout: float = 180, prefix: tuple[str, ...] = (),
        preexec=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEDANON_KEY": "k" * 32}
    return subprocess.run([*prefix, sys.executable, "-m", "inference.run", str(src), str(out), "--quiet", *extra],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env, preexec_fn=preexec)


def records(out: Path) -> dict[str, dict]:
    trail = out.with_name(out.name + ".audit") / "trail.jsonl"
    latest: dict[str, dict] = {}
    for line in trail.read_text().splitlines():
        r = json.loads(line)
        latest[r["source"]] = r
    return latest


def assert_fail_closed(out: Path, done: subprocess.CompletedProcess, hostile: list[str], good: list[str],
                       *, reason: str = "") -> dict[str, dict]:
    """The hostile files are quarantined with a reason (copy or note in the quarantine), the good ones written,
    the run ended normally, and no identifying string is under OUTPUT."""
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 3, done.stderr[-3000:]
    recs = records(out)
    for h in hostile:
        assert recs[h]["status"] == "quarantined" and recs[h]["reason"], recs[h]
        assert reason.lower() in recs[h]["reason"].lower(), recs[h]["reason"]
    for g in good:
        assert recs[g]["status"] == "written", recs[g]
    reasons = [json.loads(p.read_text()) for p in out.with_name(out.name + ".quarantine").rglob("reason.json")]
    assert {r["source"] for r in reasons} >= set(hostile)
    for p in out.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            for token in (NAME.encode(), NAME.encode("latin-1", "replace"), PID.encode(), b"Petrausk"):
                assert token not in data, (p, token)
    return recs


@pytest.fixture
def study(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    save(good_object(), src / "good.dcm")
    return src


# --- 5. truncated or corrupt Deflate ------------------------------------------------------------------------

def test_truncated_and_corrupt_deflate_files_are_quarantined(study, tmp_path):
    data = (TEST_FILES / "image_dfl.dcm").read_bytes()
    names = []
    for cut in (400, 1000, 3000, len(data) - 10):
        (study / f"dfl_cut{cut}.dcm").write_bytes(data[:cut])
        names.append(f"dfl_cut{cut}.dcm")
    body = bytearray(data)
    body[600:640] = bytes(40)  # zeroed deflate stream
    (study / "dfl_zeroed.dcm").write_bytes(bytes(body))
    names.append("dfl_zeroed.dcm")
    for n in names:
        assert sniff(study / n) == ("dicom", ""), n  # never raises: the worker quarantines with the reason
    before = tree_digest(study, links=False)
    done = cli(study, tmp_path / "out")
    recs = assert_fail_closed(tmp_path / "out", done, names, ["good.dcm"])
    assert "Deflate" in recs["dfl_cut1000.dcm"]["reason"]
    assert tree_digest(study, links=False) == before


def test_deflate_bomb_is_quarantined_against_the_budget(study, tmp_path):
    bomb = good_object()
    bomb.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    bomb.add_new(0x00091010, "OB", bytes(64 << 20))  # 64 MiB of zeros: a file of about 64 KiB
    path = save(bomb, study / "bomb.dcm")
    assert path.stat().st_size < 1 << 20
    done = cli(study, tmp_path / "out", "--max-decoded-mb", "16")
    assert_fail_closed(tmp_path / "out", done, ["bomb.dcm"], ["good.dcm"], reason="decode budget")


# --- 6. corrupt VR on the meta group length -----------------------------------------------------------------

def test_corrupt_vr_on_meta_group_length_is_quarantined(study, tmp_path):
    data = (SHARED_DICOM / "ImagingDataCommons+highdicom/data/test_files/ct_image.dcm").read_bytes()
    at = data.index(b"\x02\x00\x00\x00UL", 128)
    names = []
    for vr in (b"FD", b"\x00\x00", b"XX"):
        mutant = bytearray(data)
        mutant[at + 4:at + 6] = vr
        name = f"vr_{vr.hex()}.dcm"
        (study / name).write_bytes(bytes(mutant))
        assert sniff(study / name)[0] == "dicom"
        names.append(name)
    done = cli(study, tmp_path / "out")
    assert_fail_closed(tmp_path / "out", done, names, ["good.dcm"])


# --- 7. a Rust decoder panic (PanicException is not an Exception) ----------------------------------------------

def rle_panic_input() -> bytes:
    """One changed byte in RLE data that makes pylibjpeg-rle panic (index out of bounds)."""
    data = bytearray((TEST_FILES / "SC_rgb_rle_16bit.dcm").read_bytes())
    data[data.index(b"\xe0\x7f\x10\x00") + 924] = 136
    return bytes(data)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_rle_decoder_panic_costs_only_its_file(study, tmp_path, workers):
    (study / "rle_panic.dcm").write_bytes(rle_panic_input())
    save(good_object(), study / "zz_after.dcm")  # processed after the panic, in the same worker
    done = cli(study, tmp_path / "out", "--workers", workers)
    recs = assert_fail_closed(tmp_path / "out", done, ["rle_panic.dcm"], ["good.dcm", "zz_after.dcm"])
    assert "PanicException" in recs["rle_panic.dcm"]["reason"]


# --- 8. SR nested deeper than Python's recursion limit -------------------------------------------------------

def test_deeply_nested_sr_is_quarantined(study, tmp_path):
    ds = good_object()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.33"
    ds.Modality = "SR"
    cur = ds
    for _ in range(300):  # undefined lengths at every level
        item = Dataset()
        item.RelationshipType, item.ValueType = "CONTAINS", "CONTAINER"
        cur.ContentSequence = Sequence([item])
        cur["ContentSequence"].is_undefined_length = True
        cur = item
    cur.ValueType, cur.TextValue = "TEXT", f"{NAME} {PID}"
    buf = io.BytesIO()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20000)
    try:
        ds.save_as(buf, enforce_file_format=True)
    finally:
        sys.setrecursionlimit(limit)
    (study / "deep_sr.dcm").write_bytes(buf.getvalue())
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # Python's default, as in the CLI's worker (another test may have raised it here)
    try:
        with pytest.raises(RecursionError):  # the input really is beyond the parser's reach
            pydicom.dcmread(study / "deep_sr.dcm")
    finally:
        sys.setrecursionlimit(limit)
    assert sniff(study / "deep_sr.dcm")[0] == "dicom"
    done = cli(study, tmp_path / "out")
    assert_fail_closed(tmp_path / "out", done, ["deep_sr.dcm"], ["good.dcm"], reason="Recursion")


# --- 9. FIFOs and devices named *.dcm --------------------------------------------------------------------------

def test_fifo_and_device_links_are_reported_not_read(study, tmp_path):
    os.mkfifo(study / "pipe.dcm")
    (study / "zero.dcm").symlink_to("/dev/zero")
    (study / "random.dcm").symlink_to("/dev/urandom")
    done = cli(study, tmp_path / "out", timeout=120)  # hung forever before
    assert done.returncode == 0, done.stderr[-3000:]
    recs = records(tmp_path / "out")
    assert recs["pipe.dcm"]["status"] == "skipped" and "FIFO" in recs["pipe.dcm"]["reason"]
    for n in ("zero.dcm", "random.dcm"):
        assert recs[n]["status"] == "skipped" and "character device" in recs[n]["reason"]
    assert recs["good.dcm"]["status"] == "written"
    assert "not read: pipe.dcm" in done.stderr
    # a FIFO given as INPUT itself
    done = cli(study / "pipe.dcm", tmp_path / "out2", timeout=120)
    assert done.returncode == 0 and "FIFO" in done.stderr, done.stderr[-2000:]


# --- 10. a JPEG 2000 header claiming 40000 x 40000 -------------------------------------------------------------

def j2k_claiming(rows: int, cols: int, *, header_too: bool) -> Dataset:
    ds = pydicom.dcmread(TEST_FILES / "MR_small_jp2klossless.dcm")
    frag = bytearray(next(generate_frames(ds.PixelData, number_of_frames=1)))
    assert frag[:4] == b"\xff\x4f\xff\x51"
    frag[8:16] = struct.pack(">II", cols, rows)     # Xsiz, Ysiz
    frag[24:32] = struct.pack(">II", cols, rows)    # one tile
    ds.PixelData = encapsulate([bytes(frag)])
    if header_too:
        ds.Rows, ds.Columns = rows, cols
    ds.PatientName, ds.PatientID = NAME, PID
    return ds


def test_oversized_jpeg2000_is_quarantined_before_decoding(study, tmp_path):
    save(j2k_claiming(40000, 40000, header_too=True), study / "j2k_big.dcm")
    save(j2k_claiming(40000, 40000, header_too=False), study / "j2k_siz_only.dcm")  # Rows/Columns say 64 x 64
    limit = 8 << 30

    def memory_limit():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    done = cli(study, tmp_path / "out", preexec=memory_limit)
    assert_fail_closed(tmp_path / "out", done, ["j2k_big.dcm", "j2k_siz_only.dcm"], ["good.dcm"],
                       reason="decode budget")
    # the untouched original is far below the budget: the check does not refuse ordinary images
    check_decode_budget(pydicom.dcmread(TEST_FILES / "MR_small_jp2klossless.dcm"), 1 << 20)
    with pytest.raises(PixelError, match="decode budget"):
        check_decode_budget(j2k_claiming(40000, 40000, header_too=False), 2048 << 20)


# --- 11. a file that becomes unreadable after the walk -----------------------------------------------------------

def test_file_unreadable_after_the_walk_is_quarantined_with_a_note(study, tmp_path):
    for n in ("gone.dcm", "now_fifo.dcm", "now_folder.dcm"):
        save(good_object(), study / n)
    script = f"""
import os, shutil, sys
from pathlib import Path
import inference.engines.local as run
from inference.run import main
real_walk = run.walk
def walk_then_change(root):
    found = list(real_walk(root))
    src = Path({str(study)!r})
    (src / "gone.dcm").unlink()
    (src / "now_fifo.dcm").unlink(); os.mkfifo(src / "now_fifo.dcm")
    (src / "now_folder.dcm").unlink(); (src / "now_folder.dcm").mkdir()
    yield from found
run.walk = walk_then_change
sys.exit(main([{str(study)!r}, {str(tmp_path / 'out')!r}, "--quiet"]))
"""
    env = {**os.environ, "MEDANON_KEY": "k" * 32}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180, cwd=ROOT,
                          env=env)
    recs = assert_fail_closed(tmp_path / "out", done, ["gone.dcm", "now_fifo.dcm", "now_folder.dcm"], ["good.dcm"])
    assert "original not copied into the quarantine" in recs["gone.dcm"]["reason"]
    assert "FIFO" in recs["now_fifo.dcm"]["reason"]


# --- 12. a full disk under OUTPUT ----------------------------------------------------------------------------------

def big_image(path: Path) -> Path:
    ds = good_object()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.Modality = "OT"
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 256, 512, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = np.zeros((256, 512), np.uint8).tobytes()  # 128 KiB of output
    return save(ds, path)


def hidden_temps(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.startswith(".") or "medanon-tmp" in p.name]


def check_full_disk_then_resume(study: Path, out: Path, done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "cannot write" in done.stderr, done.stderr[-3000:]
    assert "run the same command again" in done.stderr
    assert hidden_temps(out) == []
    assert not (out / "jpg").exists() or not list((out / "jpg").rglob("*"))
    again = cli(study, out)
    assert again.returncode == 0, again.stderr[-3000:]
    recs = records(out)
    assert recs["big.dcm"]["status"] == "written" and recs["good.dcm"]["status"] in ("written",)
    assert len(list(out.rglob("*.dcm"))) == 2 and hidden_temps(out) == []


def test_file_size_limit_under_output_fails_clearly_and_resumes(study, tmp_path):
    big_image(study / "big.dcm")
    limit = 64 << 10  # RLIMIT_FSIZE: writes past 64 KiB fail with EFBIG, as a full disk fails with ENOSPC

    def file_size_limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = tmp_path / "out"
    done = cli(study, out, "--format", "dicom,jpg", preexec=file_size_limit)
    check_full_disk_then_resume(study, out, done)


def test_full_tmpfs_under_output_fails_clearly_and_resumes(study, tmp_path):
    big_image(study / "big.dcm")
    out = tmp_path / "out"
    out.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(out)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        done = cli(study, out, "--audit-dir", str(tmp_path / "audit"), "--quarantine-dir", str(tmp_path / "q"))
        assert done.returncode == 1, done.stderr[-3000:]
        assert "disk is full" in done.stderr and "Traceback" not in done.stderr, done.stderr[-3000:]
        assert hidden_temps(out) == []
    finally:
        subprocess.run(["umount", "-l", str(out)], check=True)
    again = cli(study, out, "--audit-dir", str(tmp_path / "audit"), "--quarantine-dir", str(tmp_path / "q"))
    assert again.returncode == 0, again.stderr[-3000:]


# --- 13. symbolic links to folders, loops, unreadable folders ----------------------------------------------------

def test_linked_folders_are_walked_once_and_unreadable_ones_reported(tmp_path):
    src, elsewhere = tmp_path / "in", tmp_path / "elsewhere"
    save(good_object(), src / "a" / "one.dcm")
    save(good_object(), elsewhere / "two.dcm")
    save(good_object(), src / "locked" / "three.dcm")
    (src / "linked").symlink_to(elsewhere, target_is_directory=True)
    (src / "a" / "loop").symlink_to(src, target_is_directory=True)  # a loop back to the root
    (src / "locked").chmod(0)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:  # root reads everything: drop the override so the folder is unreadable
        prefix = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")
    try:
        done = cli(src, tmp_path / "out", prefix=prefix)
    finally:
        (src / "locked").chmod(0o755)
    assert done.returncode == 0, done.stderr[-3000:]
    recs = records(tmp_path / "out")
    assert recs["a/one.dcm"]["status"] == "written" and recs["linked/two.dcm"]["status"] == "written"
    assert recs["locked"]["status"] == "skipped" and "not readable" in recs["locked"]["reason"]
    assert recs["a/loop"]["status"] == "skipped" and "already walked" in recs["a/loop"]["reason"]
    assert "written      2" in done.stderr and "skipped      2" in done.stderr, done.stderr[-2000:]
    assert "not read: locked" in done.stderr and "not read: a/loop" in done.stderr
    # walk() alone: every path accounted for, the loop walked once
    kinds = {c.relpath: c.kind for c in walk(src)}
    assert kinds == {"a/one.dcm": "dicom", "a/loop": "unreadable", "linked/two.dcm": "dicom",
                     "locked/three.dcm": "dicom"}


# --- the general rule: a worker's native death costs only its file ----------------------------------------------

def test_native_crash_in_a_worker_costs_only_its_file():
    import worker_fixtures as wf
    items = [("/x", n) for n in ("a", "segv1", "b", "abort1", "c", "hang1", "d")]
    results = {r.source: r for r in Supervisor(2, wf.init, ("ok",), wf.work, file_timeout=5).run(items)}
    assert set(results) == {n for _, n in items}
    for n in ("a", "b", "c", "d"):
        assert results[n].status == "written"
    assert results["segv1"].status == "quarantined" and "SIGSEGV" in results["segv1"].reason
    assert results["abort1"].status == "quarantined" and "SIGABRT" in results["abort1"].reason
    assert results["hang1"].status == "quarantined" and "longer than 5 s" in results["hang1"].reason


def test_workers_that_cannot_start_stop_the_run_with_a_clear_error():
    import worker_fixtures as wf
    with pytest.raises(WorkerError, match="cannot start"):
        list(Supervisor(1, wf.init_dies, ("x",), wf.work).run([("/x", "a")]))
