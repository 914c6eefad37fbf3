"""What a run reads: the files under a folder, or the paths listed in a manifest (CSV or Parquet).

Both are streamed, never listed whole in memory: an archive of hundreds of millions of files is handed to the
engine one entry at a time, and the engine bounds how many are in flight. A manifest has a column `path`; a
relative path is taken under INPUT (the root), as is the source name kept in the audit trail.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import unquote, urlsplit

from .discover import walk_tree

MANIFEST_COLUMN = "path"
CHUNK_ROWS = 10_000  # rows read at a time from a Parquet manifest


class ManifestError(ValueError):
    """The manifest cannot be read: wrong format or no `path` column."""


@dataclass(frozen=True)
class Entry:
    path: Path        # where to read the file (not resolved: a broken link is reported as such)
    relpath: str      # the source name in the audit trail: relative to the root when under it
    problem: str = "" # why the entry cannot be read at all (unsupported URI): recorded as skipped


def folder_entries(root: Path, excluded: Iterable[Path] = ()) -> Iterator[Entry]:
    """Every file under root (sorted), skipping the run's own output, audit and quarantine folders."""
    root, excluded = Path(root), [Path(x) for x in excluded]
    if root.is_file():
        yield Entry(root, root.name)
        return
    for p, problem in walk_tree(root):
        if _inside(p, excluded):
            continue
        yield Entry(p, str(p.relative_to(root)) if p != root else ".", problem)


def _inside(p: Path, folders: list[Path]) -> bool:
    return any(f == p or f in p.parents for f in folders)


def entry_for(value: str, root: Path) -> Entry:
    """A manifest cell as an entry: a plain path or a file:// URI; other schemes cannot be read here."""
    value = value.strip()
    parts = urlsplit(value)
    if len(parts.scheme) > 1:  # one letter: a Windows drive, not a scheme
        if parts.scheme != "file":
            return Entry(Path(value), value, f"unsupported URI scheme {parts.scheme!r} (paths and file:// only)")
        value = unquote(parts.path)
    p = Path(value)
    if not p.is_absolute():
        p = root / p
    try:
        rel = str(p.relative_to(root))
    except ValueError:
        rel = str(p)
    return Entry(p, rel)


def manifest_entries(manifest: Path, root: Path, excluded: Iterable[Path] = ()) -> Iterator[Entry]:
    """The entries of a CSV or Parquet manifest, read in chunks (never the whole manifest at once)."""
    excluded = [Path(x) for x in excluded]
    for value in _manifest_values(Path(manifest)):
        if not value or not value.strip():
            continue
        e = entry_for(value, Path(root))
        if not _inside(e.path, excluded):
            yield e


def _manifest_values(manifest: Path) -> Iterator[str]:
    suffix = manifest.suffix.lower()
    if suffix == ".csv":
        with open(manifest, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if MANIFEST_COLUMN not in (reader.fieldnames or []):
                raise ManifestError(f"{manifest}: no column {MANIFEST_COLUMN!r} (columns: {reader.fieldnames})")
            for row in reader:
                yield row[MANIFEST_COLUMN]
    elif suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq
        pf = pq.ParquetFile(manifest)
        if MANIFEST_COLUMN not in pf.schema_arrow.names:
            raise ManifestError(f"{manifest}: no column {MANIFEST_COLUMN!r} (columns: {pf.schema_arrow.names})")
        for batch in pf.iter_batches(batch_size=CHUNK_ROWS, columns=[MANIFEST_COLUMN]):
            yield from (str(v) if v is not None else "" for v in batch.column(0).to_pylist())
    else:
        raise ManifestError(f"{manifest}: a manifest is a .csv or .parquet file with a column {MANIFEST_COLUMN!r}")


def count_entries(root: Path, manifest: Path | None, excluded: Iterable[Path] = ()) -> int:
    """How many entries a run will see (for the progress bar): Parquet metadata, or one streamed pass."""
    if manifest is not None and Path(manifest).suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq
        return pq.ParquetFile(manifest).metadata.num_rows
    entries = manifest_entries(manifest, root, excluded) if manifest else folder_entries(root, excluded)
    return sum(1 for _ in entries)


def entries(root: Path, manifest: Path | None, excluded: Iterable[Path] = ()) -> Iterator[Entry]:
    excluded = list(excluded)
    return manifest_entries(manifest, root, excluded) if manifest else folder_entries(root, excluded)
