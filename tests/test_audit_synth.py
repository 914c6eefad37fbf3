"""The issue's 'must show' on synth/ data: broken redactors caught, correct redaction passed.

synth.generate writes real, varied layouts (vertical labels, plates, JPEG/J2K/RLE encodings, 800-1700 px frames);
the redactors are those of tests/audit_fixtures.py. Larger run: benchmarks/bench_audit.py --synth.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from audit_fixtures import MODES_BROKEN, Planted, redact  # noqa: E402

from inference.audit import audit_dataset  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
N_FILES = 8


@pytest.fixture(scope="module")
def synth_cases(tmp_path_factory):
    out = tmp_path_factory.mktemp("audit_synth")
    subprocess.run([sys.executable, "-m", "synth.generate", "--out", str(out), "--n", str(N_FILES), "--seed", "23",
                    "--workers", "1", "--documents-every", "100000"], check=True, cwd=ROOT, capture_output=True)
    images = sorted((out / "images").glob("*.dcm"))
    assert len(images) == N_FILES
    return [Planted(p.stem, p, out / "gt" / f"{p.stem}.json") for p in images]


def flagged(cases, mode: str) -> list[str]:
    return [c.id for c in cases if audit_dataset(redact(c, mode), pydicom.dcmread(c.path)).flagged]


@pytest.mark.slow
def test_synth_correct_redaction_passes(synth_cases):
    assert flagged(synth_cases, "correct") == []


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES_BROKEN)
def test_synth_broken_redactors_are_caught(synth_cases, mode):
    assert len(flagged(synth_cases, mode)) == len(synth_cases)
