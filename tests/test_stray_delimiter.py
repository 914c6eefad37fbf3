"""A real file with a sequence delimiter at its top level (fo-dicom's DIRW0007, a 65-frame Acuson echo) is released
with its burned-in text blanked, not refused whole; cut short, the same file is still quarantined."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pydicom

ROOT = Path(__file__).resolve().parents[1]
DIRW = ROOT.parent / "shared" / "data" / "dicom" / "fo-dicom+fo-dicom" / "Tests" / "FO-DICOM.Tests" / "Test Data" / "DIRW0007"


def _run(src: Path, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEDANON_KEY": "stray-delimiter-test-key-0123456789"}
    return subprocess.run([sys.executable, "-m", "inference.run", str(src), str(out), "--quiet"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_top_level_sequence_delimiter_is_dropped_and_the_file_released(tmp_path):
    data = DIRW.read_bytes()
    assert b"\xfe\xff\xdd\xe0" in data  # the stray (FFFE,E0DD) is really in the input
    src = tmp_path / "in"
    src.mkdir()
    (src / "echo.dcm").write_bytes(data)
    (src / "cut.dcm").write_bytes(data[: len(data) // 2])
    r = _run(src, tmp_path / "out")
    assert r.returncode == 3, r.stderr[-2000:]
    recs = {json.loads(line)["source"]: json.loads(line)
            for line in (tmp_path / "out.audit" / "trail.jsonl").read_text().splitlines()}
    assert recs["echo.dcm"]["status"] == "written" and recs["cut.dcm"]["status"] == "quarantined"
    out = pydicom.dcmread(tmp_path / "out" / recs["echo.dcm"]["outputs"][0])
    assert int(out.NumberOfFrames) == 65 and out.BurnedInAnnotation == "NO"
    assert "12975" not in str(out.get("PatientID", ""))
    assert (src / "echo.dcm").read_bytes() == data  # input not modified
