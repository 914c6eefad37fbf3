"""A PACS as the input: hospital Orthanc -> anonymised -> research Orthanc in one command, by DICOMweb
(QIDO-RS + WADO-RS) and by DIMSE (C-FIND + C-GET), resumed per study, staged outside OUTPUT and deleted."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
import requests

from orthanc_fixture import OrthancServer
from scale_fixtures import tree_digest

ROOT = Path(__file__).resolve().parents[1]
KEY = "5a1c9e3b7d2f4a6c8e0b1d3f5a7c9e21"
STUDY_FILES = [  # three real studies: MR (3 instances of one series), CT + SR (one study), US
    "QIICR+dcmqi/data/paramaps/pm-example-dcm.zip__701-ADCb500/000000.dcm",
    "QIICR+dcmqi/data/paramaps/pm-example-dcm.zip__701-ADCb500/000001.dcm",
    "QIICR+dcmqi/data/paramaps/pm-example-dcm.zip__701-ADCb500/000002.dcm",
    "ImagingDataCommons+highdicom/data/test_files/ct_image.dcm",
    "ImagingDataCommons+highdicom/data/test_files/sr_document.dcm",
    "dcm4che+dcm4che/dcm4che-test-data/src/main/resources/US-RGB-8-esopecho",
]


@pytest.fixture(scope="module")
def two_pacs():
    """A hospital PACS and a research PACS: two real Orthanc processes, stopped at the end whatever happens."""
    if not Path("/usr/sbin/Orthanc").exists():
        pytest.fail("Orthanc is not installed: run scripts/install.sh dev")
    servers = [OrthancServer(Path(tempfile.mkdtemp(prefix=f"medanon-{n}-", dir="/tmp"))) for n in ("hosp", "res")]
    try:
        for s in servers:
            s.start()
        yield servers
    finally:
        for s in servers:
            try:
                s.stop()
            finally:
                shutil.rmtree(s.folder, ignore_errors=True)


def _upload(server: OrthancServer, files: list[Path]) -> None:
    for f in files:
        r = requests.post(server.url + "/instances", data=f.read_bytes(), auth=server.auth, timeout=30)
        r.raise_for_status()


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEDANON_KEY": KEY}
    return subprocess.run([sys.executable, "-m", "inference.run", *args, "--quiet"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def _tree_of(folder: Path) -> dict[str, dict[str, set[str]]]:
    out: dict[str, dict[str, set[str]]] = {}
    for p in folder.rglob("*.dcm"):
        ds = pydicom.dcmread(p, stop_before_pixels=True)
        out.setdefault(ds.StudyInstanceUID, {}).setdefault(ds.SeriesInstanceUID, set()).add(ds.SOPInstanceUID)
    return out


def test_hospital_pacs_to_research_pacs_reads_back_equal_and_resumes_per_study(two_pacs, shared_dicom, tmp_path):
    hosp, res = two_pacs
    hosp.clear()
    res.clear()
    originals = [shared_dicom / f for f in STUDY_FILES]
    _upload(hosp, originals)
    assert hosp.count_instances() == 6

    # the same files from a folder: the reference output
    folder = tmp_path / "folder"
    for i, f in enumerate(originals):
        (folder / f"{i}.dcm").parent.mkdir(parents=True, exist_ok=True)
        os.symlink(f, folder / f"{i}.dcm")
    ref = _run(str(folder), str(tmp_path / "ref"))
    assert ref.returncode == 0, ref.stderr[-2000:]

    out = tmp_path / "out"
    url = "dicomweb+" + hosp.dicomweb
    done = _run(url, str(out), "--source-credentials", str(hosp.credentials_file),
                "--pacs", res.dicomweb, "--pacs-credentials", str(res.credentials_file))
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(sorted((tmp_path / "out.audit").glob("summary-*.json"))[-1].read_text())
    assert summary["counts"]["studies done"] == 3 and summary["counts"]["written"] == 6
    assert summary["input"] == url
    # byte-identical to the folder run; nothing but anonymised DICOM under OUTPUT; staging gone
    assert tree_digest(out) == tree_digest(tmp_path / "ref")
    assert {p.parts[0] for p in (q.relative_to(out) for q in out.rglob("*") if q.is_file())} == {"dicom"}
    assert not (tmp_path / "out.audit" / "staging").exists()
    trail = [json.loads(line) for p in (tmp_path / "out.audit").glob("trail*.jsonl") for line in p.open()]
    assert all(r["source"].count("/") == 1 for r in trail)   # <study uid>/<sop uid>.dcm, not a temp path

    # read back from the research PACS: instance count, study/series/instance tree, pixels
    assert res.count_instances() == 6
    assert res.tree() == _tree_of(out)
    for p in out.rglob("*.dcm"):
        ours = pydicom.dcmread(p)
        theirs = pydicom.dcmread(io.BytesIO(res.get(f"/instances/{res.lookup(ours.SOPInstanceUID)}/file").content))
        assert str(theirs.get("PatientName", "")) == str(ours.get("PatientName", ""))
        if "PixelData" in ours:
            assert np.array_equal(theirs.pixel_array, ours.pixel_array)
    names = {str(pydicom.dcmread(f, stop_before_pixels=True).PatientName) for f in originals} - {""}
    assert not names & {str(pydicom.dcmread(p, stop_before_pixels=True).get("PatientName", ""))
                        for p in out.rglob("*.dcm")}

    # resume per study: nothing fetched again; a study added on the hospital PACS is the only one fetched
    again = _run(url, str(out), "--source-credentials", str(hosp.credentials_file))
    assert again.returncode == 0, again.stderr[-2000:]
    s2 = json.loads(sorted((tmp_path / "out.audit").glob("summary-*.json"))[-1].read_text())
    assert s2["counts"] == {"studies already done": 3} and s2["files_in"] == 0
    _upload(hosp, [shared_dicom / "ImagingDataCommons+highdicom/data/test_files/dx_image.dcm"])
    third = _run(url, str(out), "--source-credentials", str(hosp.credentials_file))
    assert third.returncode == 0, third.stderr[-2000:]
    s3 = json.loads(sorted((tmp_path / "out.audit").glob("summary-*.json"))[-1].read_text())
    assert s3["counts"] == {"studies already done": 3, "studies done": 1, "written": 1}


def test_dimse_source_with_a_query_fetches_only_matching_studies(two_pacs, shared_dicom, tmp_path):
    hosp, _ = two_pacs
    hosp.clear()
    _upload(hosp, [shared_dicom / f for f in STUDY_FILES])
    out = tmp_path / "out"
    done = _run(hosp.dicom_url.replace("dicom://", "dimse://"), str(out), "--query", "Modality=US")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(sorted((tmp_path / "out.audit").glob("summary-*.json"))[-1].read_text())
    assert summary["counts"].get("studies done") == 1 and summary["counts"].get("written") == 1
    (ds,) = [pydicom.dcmread(p) for p in out.rglob("*.dcm")]
    assert ds.Modality == "US" and ds.pixel_array.shape[:2] == (120, 256)
    # the same file from a folder gives the same output, element for element and pixel for pixel (C-GET re-encodes
    # the file meta: the output keeps the input's Implementation Class UID, so the bytes of group 0002 differ)
    folder = tmp_path / "folder"
    folder.mkdir()
    os.symlink(shared_dicom / STUDY_FILES[-1], folder / "us.dcm")
    assert _run(str(folder), str(tmp_path / "ref")).returncode == 0
    assert set(tree_digest(out)) == set(tree_digest(tmp_path / "ref"))     # same names: same pseudonymous UIDs
    (ref,) = [pydicom.dcmread(p) for p in (tmp_path / "ref").rglob("*.dcm")]
    assert ds == ref and np.array_equal(ds.pixel_array, ref.pixel_array)


def test_a_bad_query_or_pacs_url_is_a_usage_error(tmp_path):
    r = _run("dicomweb+http://127.0.0.1:9/dicom-web", str(tmp_path / "o"), "--query", "NotAKeyword=1")
    assert r.returncode == 2 and "--query takes KEYWORD=VALUE" in r.stderr
    r = _run("dicomweb+http://u:p@127.0.0.1:9/dicom-web", str(tmp_path / "o"))
    assert r.returncode == 2 and "do not put credentials in the PACS URL" in r.stderr
    r = _run("dicomweb+http://127.0.0.1:9/dicom-web", str(tmp_path / "o"))   # nothing listens there
    assert r.returncode == 1 and "cannot reach the source PACS" in r.stderr


def test_multipart_related_parts_are_split_exactly():
    from inference.storage.dicomweb import multipart_body
    from inference.storage.source import multipart_parts
    parts = [b"DICM\r\n--not-a-boundary\r\n\x00\xff", b"", b"x" * 1000]
    body, content_type = multipart_body(parts)
    assert multipart_parts(body, content_type) == parts
    assert multipart_parts(b"", "application/dicom+json") == []
