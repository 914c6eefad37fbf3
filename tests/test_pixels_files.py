"""Redacted outputs against real tools (dciodvfy, dcmdump, gdcmconv) and real device files.

Generated cases: dciodvfy -new must report no error on the output that it did not already report
on the input. Real files (../shared/data/dicom): box blanked, everything else equal to pydicom's
own decode of the input, geometry unchanged, output re-readable.
"""
from __future__ import annotations

import copy
import io
import shutil
import subprocess
import warnings

import numpy as np
import pydicom
import pytest

from inference.pixels import PixelError, PixelOptions, UsRegions, redact_dataset
from conftest import require_shared
from pixels_fixtures import CASES, DICOM_DIR, BoxDetector, assert_box_blank, build, to_bytes

DCIODVFY, DCMDUMP, GDCMCONV = (shutil.which(t) for t in ("dciodvfy", "dcmdump", "gdcmconv"))


def _errors(path) -> set[str]:
    out = subprocess.run([DCIODVFY, "-new", str(path)], capture_output=True, text=True, timeout=60)
    return {line.strip() for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Every generated case written before and after redaction (files on disk for the tools)."""
    root = tmp_path_factory.mktemp("pixels_out")
    pairs = {}
    for case in CASES:
        ds = build(case)
        src, dst = root / f"{case.name}.in.dcm", root / f"{case.name}.out.dcm"
        src.write_bytes(to_bytes(ds))
        redact_dataset(ds, BoxDetector())
        dst.write_bytes(to_bytes(ds))
        pairs[case.name] = (src, dst)
    return pairs


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (dicom3tools) not installed: scripts/install.sh dev")
@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_dciodvfy_no_new_errors(written, name):
    src, dst = written[name]
    if name.startswith("deflate"):
        pytest.skip("dciodvfy cannot read Deflated Explicit VR files at all (the input fails the same way)")
    new = _errors(dst) - _errors(src)
    assert not new, new


@pytest.mark.skipif(DCMDUMP is None, reason="dcmdump (dcmtk) not installed")
def test_dcmdump_reads_outputs(written):
    for src, dst in written.values():
        out = subprocess.run([DCMDUMP, str(dst)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "BurnedInAnnotation" in out.stdout, (dst, out.stderr)


@pytest.mark.skipif(GDCMCONV is None, reason="gdcmconv (python-gdcm / libgdcm-tools) not installed")
def test_gdcmconv_decodes_outputs(written, tmp_path):
    for name, (src, dst) in written.items():
        out = subprocess.run([GDCMCONV, "--raw", str(dst), str(tmp_path / f"{name}.raw.dcm")],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, (name, out.stderr)


# Real files, one per syntax x photometric family (paths relative to ../shared/data/dicom).
REAL = [
    "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/TestPattern_JPEG-Baseline_YBR422.dcm",
    "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/TestPattern_JPEG-Baseline_YBRFull.dcm",
    "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/TestPattern_JPEG-LS-NearLossless.dcm",
    "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/TestPattern_JPEG-Lossless_RGB.dcm",
    "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/CTImage.dcm_BigEndianExplicitTransferSyntax_1.2.840.10008.1.2.2.dcm",
    "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm",
    "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/CTImage.dcm_JPEG2000TransferSyntax_1.2.840.10008.1.2.4.91.dcm",
    "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/CTImage.dcm_JPEGLSLosslessTransferSyntax_1.2.840.10008.1.2.4.80.dcm",
    "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/CTImage.dcm_JPEGProcess14TransferSyntax_1.2.840.10008.1.2.4.57.dcm",
    "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/CTImage.dcm_RLELosslessTransferSyntax_1.2.840.10008.1.2.5.dcm",
    "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/no-pixel-spacing.dcm",
    "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/US-YBR_FULL_422-EVRLE.dcm",
    "dcm4che+dcm4che/dcm4che-test-data/src/main/resources/YBR_FULL-RLE.dcm",
    "dcm4che+dcm4che/dcm4che-test-data/src/main/resources/jpeg-ls-Palette.dcm",
    "orthanc-mirrors+orthanc-tests/Database/Issue44/Monochrome1-Jpeg.dcm",
    "orthanc-mirrors+orthanc-tests/Database/Implicit-vr-us-palette.dcm",
    "pydicom+pydicom-data/data_store/data/OBXXXX1A_expb.dcm",
    "pydicom+pydicom-data/data_store/data/US1_J2KR.dcm",
    "pydicom+pydicom-data/data_store/data/US1_J2KI.dcm",
    "pydicom+pydicom-data/data_store/data/RG3_J2KR.dcm",
    "pydicom+pydicom/src/pydicom/data/test_files/SC_rgb_rle_16bit_2frame.dcm",
]


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def _frames(ds, as_rgb):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.pixel_array_options(as_rgb=as_rgb)
        arr = ds.pixel_array
    n = int(ds.get("NumberOfFrames", 1) or 1)
    return arr if n > 1 else arr[None]


@pytest.mark.parametrize("rel", REAL, ids=[p.rsplit("/", 1)[-1][-40:] for p in REAL])
def test_real_file(rel):
    path = DICOM_DIR / rel
    require_shared(path)
    src = _read(path)
    ds = copy.deepcopy(src)
    rows, cols = int(ds.Rows), int(ds.Columns)
    box = (cols // 10, rows // 10, cols // 10 + max(cols // 4, 4), rows // 10 + max(rows // 8, 4))
    report = redact_dataset(ds, BoxDetector([box]), PixelOptions(us_regions=UsRegions.IGNORE))
    out = pydicom.dcmread(io.BytesIO(to_bytes(ds)))
    keep_ybr = out.PhotometricInterpretation == "YBR_FULL"
    before, after = _frames(src, as_rgb=not keep_ybr), _frames(out, as_rgb=not keep_ybr)
    assert before.shape == after.shape
    for kw in ("Rows", "Columns", "NumberOfFrames", "PixelSpacing", "BitsStored", "PixelRepresentation", "SOPInstanceUID"):
        assert out.get(kw) == src.get(kw), kw
    x0, y0, x1, y1 = box
    inside = np.zeros((rows, cols), bool)
    inside[y0:y1, x0:x1] = True
    palette = src.PhotometricInterpretation == "PALETTE COLOR"
    for b, a in zip(before, after):
        if palette:  # the noise rule measures indices in the colours they show (redact.py), in 8-bit levels
            from inference.pixels.view import colour_to_view, view_params
            assert_box_blank(colour_to_view(a, view_params(out, "PALETTE COLOR"))[inside], True)
        else:
            assert_box_blank(a[inside], int(src.BitsStored) <= 8)
        assert np.array_equal(a[~inside], b[~inside])  # lossy inputs are written uncompressed
    assert out.BurnedInAnnotation == "NO" and report.n_frames == before.shape[0]
    if report.lossy:
        assert out.LossyImageCompression == "01"


UNDECODABLE = [
    "robyoung+dicom-test-files/data/WG04/JPLY/MR1_JPLY",  # 12-bit JPEG extended: no pydicom plugin decodes it
    "cornerstonejs+cornerstone3D/packages/dicomImageLoader/testImages/CTImage.dcm_JPEGProcess6_8TransferSyntax_1.2.840.10008.1.2.4.53.dcm",
]


@pytest.mark.parametrize("rel", UNDECODABLE, ids=["jpeg-extended-12bit", "jpeg-spectral"])
def test_undecodable_is_pixel_error(rel, monkeypatch):
    """Without dcmdjpeg (the fallback decoder, tests/test_release_fidelity.py) these are PixelErrors, not crashes."""
    path = DICOM_DIR / rel
    require_shared(path)
    monkeypatch.setenv("PATH", "/nonexistent")
    ds = _read(path)
    with pytest.raises(PixelError, match="cannot decode.*dcmdjpeg"):
        redact_dataset(ds, BoxDetector())
    assert ds.get("BurnedInAnnotation") != "NO"
