"""Small file helpers shared by the CLI tests: write a dataset, digest a folder tree (inputs never modified)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from pydicom.dataset import Dataset


def write(ds: Dataset, path: Path) -> Path:
    """Save ``ds`` as a DICOM file (parents created); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def tree_digest(root: Path, links: bool = True) -> dict[str, str]:
    """SHA-256 of every regular file under root (``links=False``: symlinked files left out)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and (links or not p.is_symlink())}
