"""Fixtures shared by every test module: where the public samples are, a test key."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_DICOM = SHARED / "data" / "dicom"

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")


def require_shared(path: Path) -> Path:
    """A file or folder of ../shared that a test needs. The one policy: missing shared data FAILS the test with
    this message, it never skips it (a skipped check reads as a passed one)."""
    if not path.exists():
        pytest.fail(f"shared data missing: expected {path} (../shared beside the repo)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def shared_dicom() -> Path:
    if not SHARED_DICOM.is_dir():
        pytest.fail(f"the public samples are missing: expected {SHARED_DICOM} (../shared beside the repo)")
    return SHARED_DICOM


@pytest.fixture(scope="session")
def test_key() -> bytes:
    return b"medanon-test-key-0123456789abcdef"
