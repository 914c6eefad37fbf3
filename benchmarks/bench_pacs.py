"""Instances per second pushed to a local Orthanc, by DICOMweb STOW-RS and by C-STORE (each with read-back).

    nice -n 15 python3 benchmarks/bench_pacs.py [--instances 100] [--size 512] [--batch-size 50]

Starts its own Orthanc with scripts/orthanc.sh in a temporary folder and stops it at the end.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inference.storage.pacs import PushOptions, push  # noqa: E402


def make_output(root: Path, n: int, size: int) -> int:
    """n CT-like instances (16-bit, size x size) in one study, 4 series; returns the bytes written."""
    study = generate_uid(prefix="2.25.")
    series = [generate_uid(prefix="2.25.") for _ in range(4)]
    rng = np.random.default_rng(0)
    total = 0
    for i in range(n):
        ds = Dataset()
        sop = generate_uid(prefix="2.25.")
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ds.file_meta.MediaStorageSOPInstanceUID = sop
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.2", sop
        ds.PatientID, ds.PatientName, ds.Modality = "BENCH", "ANON^BENCH", "CT"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series[i % 4]
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PixelData = rng.integers(0, 4096, (size, size), dtype=np.uint16).tobytes()
        path = root / "dicom" / "BENCH" / study / ds.SeriesInstanceUID / f"{sop}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        total += path.stat().st_size
    return total


def orthanc(command: str, folder: Path) -> None:
    r = subprocess.run(["bash", str(ROOT / "scripts" / "orthanc.sh"), command, str(folder)], capture_output=True,
                       text=True)
    if r.returncode != 0:
        sys.exit(f"scripts/orthanc.sh {command} failed: {r.stderr.strip()}")


def clear(env: dict[str, str], auth: tuple[str, str]) -> None:
    for pid in requests.get(env["ORTHANC_URL"] + "/patients", auth=auth, timeout=30).json():
        requests.delete(f"{env['ORTHANC_URL']}/patients/{pid}", auth=auth, timeout=30).raise_for_status()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--instances", type=int, default=100)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=50)
    a = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="medanon-bench-", dir="/tmp"))
    work.chmod(0o711)   # Orthanc runs as nobody and must reach work/orthanc
    try:
        out, server = work / "OUTPUT", work / "orthanc"
        nbytes = make_output(out, a.instances, a.size)
        orthanc("start", server)
        env = dict(line.split("=", 1) for line in (server / "orthanc.env").read_text().splitlines())
        auth = tuple((server / "credentials").read_text().strip().split(":", 1))
        options = PushOptions(batch_size=a.batch_size)
        rates = {}
        for name, url in (("STOW-RS", env["ORTHANC_DICOMWEB"]), ("C-STORE", env["ORTHANC_DICOM_URL"])):
            clear(env, auth)  # type: ignore[arg-type]
            t0 = time.perf_counter()
            report = push(out, url, credentials_file=server / "credentials", ledger_dir=work / f"ledger-{name}",
                          options=options)
            dt = time.perf_counter() - t0
            assert report.complete and report.sent == a.instances, report
            rates[name] = a.instances / dt
            print(f"{name:8s} {a.instances} instances ({nbytes / 1e6:.1f} MB) in {dt:.2f} s: "
                  f"{rates[name]:.1f} instances/s, {nbytes / 1e6 / dt:.1f} MB/s (verified by read-back)")
        print(f"ratio C-STORE / STOW-RS: {rates['C-STORE'] / rates['STOW-RS']:.2f}")
    finally:
        orthanc("stop", work / "orthanc") if (work / "orthanc").exists() else None
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
