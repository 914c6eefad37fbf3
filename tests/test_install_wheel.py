"""medanon installs like a library: a built wheel, installed into a fresh venv (not editable), anonymises a shared
sample with the `medanon` command exactly as `python -m inference.run` does from the checkout (issue 19.1)."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from review_fixtures import US_RGB

ROOT = Path(__file__).resolve().parents[1]
KEY = "medanon-wheel-test-key-0123456789abcdef"
BUILD_INPUTS = ("pyproject.toml", "setup.py", "README.md", "inference/", "training/", "synth/",
                "models/text_detector.onnx", "models/text_detector.json")


def _tracked_sources(dest: Path) -> None:
    """The files a clean clone has (tracked or new, not ignored): no build/, egg-info or caches."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.splitlines()
    names = [n for n in listed if n.startswith(BUILD_INPUTS) and (ROOT / n).is_file()]
    with tarfile.open(dest / "src.tar", "w") as tar:
        for n in names:
            tar.add(ROOT / n, arcname=n)
    with tarfile.open(dest / "src.tar") as tar:
        tar.extractall(dest / "src", filter="data")


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(wheel, venv): built with the machine's setuptools, installed without network or dependencies (they come
    from the system site-packages)."""
    tmp = tmp_path_factory.mktemp("wheel")
    _tracked_sources(tmp)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp / "dist"), "."], cwd=tmp / "src", check=True, timeout=300)
    (wheel,) = (tmp / "dist").glob("medanon-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(tmp / "venv")], check=True)
    subprocess.run([str(tmp / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, timeout=300)
    return wheel, tmp / "venv"


def test_wheel_carries_the_model_every_data_file_and_py_typed(wheel_env: tuple[Path, Path]) -> None:
    wheel, _ = wheel_env
    names = set(zipfile.ZipFile(wheel).namelist())
    data = subprocess.run(["git", "ls-files", "inference"], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.split()
    data_files = [n for n in data if not n.endswith((".py", ".md"))]
    assert data_files, "no data files found under inference/"
    assert not [n for n in data_files if n not in names], "data files missing from the wheel"
    assert {"inference/models/text_detector.onnx", "inference/models/text_detector.json",
            "inference/py.typed"} <= names
    packaged = zipfile.ZipFile(wheel).read("inference/models/text_detector.onnx")
    assert packaged == (ROOT / "models" / "text_detector.onnx").read_bytes()
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "medanon = inference.cli:main" in entry


def test_there_is_one_committed_copy_of_the_model() -> None:
    tracked = subprocess.run(["git", "ls-files", "*.onnx"], cwd=ROOT, check=True, capture_output=True,
                             text=True).stdout.split()
    assert [t for t in tracked if t.endswith("text_detector.onnx") and "checkpoints" not in t] == [
        "models/text_detector.onnx"]


@pytest.mark.slow
def test_installed_medanon_run_anonymises_like_the_checkout(wheel_env: tuple[Path, Path], shared_dicom: Path,
                                                             tmp_path: Path) -> None:
    _, venv = wheel_env
    src = tmp_path / "in"
    src.mkdir()
    (src / "us.dcm").write_bytes((shared_dicom / US_RGB).read_bytes())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MEDANON_KEY")}
    env["MEDANON_KEY"] = KEY
    # run outside the checkout, so nothing but the installed package can be imported
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import inference, inference.resources as r; print(inference.__file__); "
                            "print(r.DEFAULT_MODEL)"], cwd=tmp_path, env=env, check=True, capture_output=True,
                           text=True).stdout.split()
    assert all(str(venv) in w for w in where), where
    installed = subprocess.run([str(venv / "bin" / "medanon"), "run", str(src), str(tmp_path / "out_wheel"),
                                "--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    checkout = subprocess.run([sys.executable, "-m", "inference.run", str(src), str(tmp_path / "out_checkout"),
                               "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert checkout.returncode == 0, checkout.stderr
    written = sorted(p.relative_to(tmp_path / "out_wheel") for p in (tmp_path / "out_wheel").rglob("*.dcm"))
    assert len(written) == 1
    expected = sorted(p.relative_to(tmp_path / "out_checkout") for p in (tmp_path / "out_checkout").rglob("*.dcm"))
    assert written == expected
    assert (tmp_path / "out_wheel" / written[0]).read_bytes() == (tmp_path / "out_checkout" / written[0]).read_bytes()
    for command in ("audit", "review"):
        helped = subprocess.run([str(venv / "bin" / "medanon"), command, "--help"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert helped.returncode == 0 and "usage:" in helped.stdout, helped.stderr
    unknown = subprocess.run([str(venv / "bin" / "medanon"), "anonymise"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "unknown command" in unknown.stderr
