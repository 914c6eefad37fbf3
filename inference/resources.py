"""Where the data files that ship with medanon are: profiles, tables, object types, templates, the model.

Found through importlib.resources, so an installed wheel finds them as a checkout does. pip installs a wheel
unpacked, so every resource is a real file; a zipped import would not be, and is refused rather than guessed.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from pathlib import Path

MODEL_NAME = "text_detector.onnx"


def data_file(package: str, *parts: str) -> Path:
    """A file (or folder) shipped inside ``package``, e.g. ``data_file("inference.header", "data", "policy.json")``."""
    res = resources.files(package).joinpath(*parts)
    if not isinstance(res, Path):
        raise RuntimeError(f"{package}/{'/'.join(parts)} is not a file on disk ({type(res).__name__}): "
                           "install medanon unpacked (pip install)")
    return res


def default_model() -> Path:
    """The committed text detector. One copy lives in git, at models/ where training.export writes it; a wheel
    carries it as inference/models/ (copied there by setup.py at build time). A checkout has only models/."""
    packaged = data_file("inference", "models", MODEL_NAME)
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[1] / "models" / MODEL_NAME


DEFAULT_MODEL = default_model()

CODE_SUFFIXES = (".py", ".yaml", ".json", ".txt", ".html")  # what decides the outputs (the model is hashed apart)


def code_digest(root: Path) -> str:
    """SHA-256 over the package's code and data files (relative path and bytes, in order; the model excluded):
    any change to the de-identification, a profile or a table gives another digest."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in CODE_SUFFIXES and p.is_file()
                       and "__pycache__" not in p.parts and p.relative_to(root).parts[0] != "models"):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """The package version and the digest of the inference/ files this process runs: part of the re-run
    fingerprint, so a de-identification fix processes again the files an earlier version did."""
    from . import __version__
    return f"{__version__}+{code_digest(data_file('inference'))[:16]}"
