"""The header engine on every public sample in ../shared/data/dicom: it de-identifies each file or raises a
clear HeaderError, never anything else; the outputs carry no original patient name / ID; and dciodvfy finds
no error in an output that it did not find in its input."""
from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
import shutil
from pathlib import Path

import pydicom
import pytest

from inference.header import HeaderError, deidentify_dataset, load_profile
from inference.keys import Keyring
from inference.vrs import FREE_TEXT_VRS

from conftest import require_shared
from header_fixtures import KEY, SAMPLES, sample_files



@pytest.fixture(autouse=True)
def _samples_present() -> None:
    require_shared(SAMPLES / "inventory.csv")  # missing shared data fails (conftest.require_shared)

UNREADABLE = ("read failed", "not valid DICOM")  # dciodvfy could not parse the input: nothing to compare
TEXT_VRS = FREE_TEXT_VRS


def read(path: Path):
    try:
        return pydicom.dcmread(path, force=True)
    except Exception:  # unreadable files are the discoverer's business (reported and skipped), not the header's
        return None


def written_back(ds):
    """The dataset as a reader of the output file sees it; None if this input's syntax cannot be written
    (deflate variants, broken pixel encapsulation: the writer's business, not the header's)."""
    buf = BytesIO()
    try:
        ds.save_as(buf, enforce_file_format=False)
    except Exception:
        return None
    return pydicom.dcmread(BytesIO(buf.getvalue()), force=True)


def deidentify_samples(profile_name: str = "basic"):
    """Yield (path, dataset or None, HeaderError or None) for every readable sample."""
    profile, keyring = load_profile(profile_name), Keyring(KEY)
    for path in sample_files():
        ds = read(path)
        if ds is None:
            continue
        try:
            deidentify_dataset(ds, profile, keyring)
        except HeaderError as exc:
            yield path, None, exc
            continue
        yield path, ds, None


def test_every_sample_is_deidentified_or_refused_clearly():
    done, refused, leaks = 0, [], []
    for path, ds, error in deidentify_samples():
        if error is not None:
            assert str(error), path
            refused.append((path.name, str(error)))
            continue
        done += 1
        assert ds.PatientIdentityRemoved == "YES"
        assert not any(e.tag.is_private for e in ds), path
        original = read(path)
        texts = [str(e.value) for e in ds.iterall() if e.VR in TEXT_VRS and e.value]
        written = written_back(ds)
        if written is not None:  # every text value reads back as intended: no charset mix-up, no mojibake
            assert [str(e.value) for e in written.iterall() if e.VR in TEXT_VRS and e.value] == texts, path
        for kw, min_len in (("PatientID", 4), ("PatientName", 4)):
            value = str(original.get(kw, "") or "").strip()
            for part in {value, *value.split("^")}:
                if len(part) >= min_len and any(part in t for t in texts):
                    leaks.append(f"{path}: {kw}")
    assert done > 500, f"only {done} samples processed; refused: {refused[:10]}"
    assert all("DICOMDIR" in reason or "cannot" in reason for _, reason in refused), refused
    assert not leaks, leaks[:20]


def _errors(path: Path) -> tuple[set[str], bool]:
    """dciodvfy Error lines with values blanked, and whether dciodvfy could read the file at all."""
    run = subprocess.run(["dciodvfy", "-new", str(path)], capture_output=True, text=True, errors="replace",
                         timeout=60)
    lines = [ln for ln in (run.stdout + run.stderr).splitlines() if ln.startswith("Error")]
    readable = not any(marker in ln for ln in lines for marker in UNREADABLE)
    normalised = {re.sub(r"\[\d+\]", "[]", re.sub(r"= <[^>]*(>|$)", "= <>", ln)) for ln in lines
                  if "PixelData has incorrect value length" not in ln}  # pixels are not the header's
    return normalised, readable


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) not installed")
def test_dciodvfy_reports_no_new_error(tmp_path):
    pairs = []
    for i, (path, ds, error) in enumerate(deidentify_samples()):
        if ds is None:
            continue
        out = tmp_path / f"{i}.dcm"
        try:
            ds.save_as(out, enforce_file_format=False)
        except Exception:
            continue
        pairs.append((path, out))

    def compare(pair):
        src, out = pair
        before, readable = _errors(src)
        if not readable:
            return src, None  # dciodvfy cannot read the input (deflate, truncated): nothing to compare
        after, _ = _errors(out)
        return src, after - before

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(compare, pairs))
    compared = [r for r in results if r[1] is not None]
    new = [(str(src.relative_to(SAMPLES)), sorted(err)) for src, err in compared if err]
    assert len(compared) > 450
    assert not new, f"{len(new)} of {len(compared)} outputs have new dciodvfy errors:\n" + "\n".join(
        f"{p}: {e[:3]}" for p, e in new[:30])
