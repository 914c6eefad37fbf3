"""Where the data files that ship with medanon are: profiles, tables, object types, templates, the model.

Found through importlib.resources, so an installed wheel finds them as a checkout does. pip installs a wheel
unpacked, so every resource is a real file; a zipped import would not be, and is refused rather than guessed.
"""
from __future__ import annotations

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
