"""Inputs for the engine, Ray and scale tests: a few real shared files, repeated through symbolic links."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

# one small single-frame file per kind of work (header-only SR, greyscale CT/MR/DX, colour US with RLE)
SAMPLES = {
    "CT": "ImagingDataCommons+highdicom/data/test_files/ct_image.dcm",
    "DX": "ImagingDataCommons+highdicom/data/test_files/dx_image.dcm",
    "MR": "QIICR+dcmqi/data/paramaps/pm-example-dcm.zip__701-ADCb500/000000.dcm",
    "US": "dcm4che+dcm4che/dcm4che-test-data/src/main/resources/US-RGB-8-esopecho",
    "SR": "ImagingDataCommons+highdicom/data/test_files/sr_document.dcm",
}
US_640x480 = "dcm4che+dcm4che/dcm4che-test-data/src/main/resources/YBR_FULL-RLE.dcm"
# real-sized images per modality, for the per-file cost model (benchmarks/bench_scale.py, docs/SCALING.md)
TYPICAL = {
    "CT 512x512": "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/CTImage.dcm",
    "CT 512x512 J2K": "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/"
                      "CTImage.dcm_JPEG2000LosslessOnlyTransferSyntax_1.2.840.10008.1.2.4.90.dcm",
    "MR 256x256": "QIICR+dcmqi/data/paramaps/pm-example-dcm.zip__701-ADCb500/000000.dcm",
    "CR 2140x1760 J2K": "robyoung+dicom-test-files/data/WG04/J2KI/RG2_J2KI",
    "US 640x480 RLE": US_640x480,
    "US 1024x768": "pydicom+deid-data/deid_data/data/ultrasounds/GREYSCALE_IMAGE.dcm",
    "SR": "ImagingDataCommons+highdicom/data/test_files/sr_document.dcm",
}


def sample_input(folder: Path, shared_dicom: Path, copies: int = 1, kinds: tuple[str, ...] = tuple(SAMPLES)) -> Path:
    """folder/<kind>/<n>.dcm as symbolic links to the shared samples (inputs are never modified)."""
    for kind in kinds:
        target = shared_dicom / SAMPLES[kind]
        assert target.is_file(), f"shared sample missing: {target}"
        for n in range(copies):
            link = folder / kind / f"{n:04d}.dcm"
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, link)
    return folder


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}
