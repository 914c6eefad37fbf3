"""Find the DICOM files under an input path, by content rather than by extension."""
from __future__ import annotations

import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import pydicom
from pydicom.uid import DeflatedExplicitVRLittleEndian

from .objects import MEDIA_STORAGE_DIRECTORY


@dataclass(frozen=True)
class Candidate:
    path: Path          # absolute path of the file
    relpath: str        # path relative to the input root (for the audit trail only; never under OUTPUT)
    kind: str           # "dicom", "dicomdir", "not-dicom" or "unreadable" (files and folders not read)
    detail: str = ""    # why a file is not DICOM or was not read


class NotRegularFile(OSError):
    """A path that is not a regular file (FIFO, device, socket, folder): reading it could block or never end."""


_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def _not_regular(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def open_regular(path: Path) -> BinaryIO:
    """Open a regular file for reading (symbolic links followed). Anything else is refused before it is read:
    a FIFO blocks forever and /dev/zero never ends. O_NONBLOCK keeps the open itself from blocking, and the
    type is checked on the opened descriptor, so a file swapped after the check is caught too."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = stat.S_IFREG  # let open() report the real error
    if not stat.S_ISREG(mode):
        raise NotRegularFile(f"{_not_regular(mode)}, not a regular file: not read")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"{_not_regular(mode)}, not a regular file: not read")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path) -> bytes:
    """The whole content of a regular file, read up to the size it had when opened (a bounded read)."""
    with open_regular(path) as f:
        return f.read(os.fstat(f.fileno()).st_size)


def _meta_syntax(f: BinaryIO) -> tuple[str, str]:
    """(Transfer Syntax UID, Media Storage SOP Class UID) of a Part 10 file's meta group; "" when unreadable."""
    from pydicom.filereader import _read_file_meta_info
    try:
        f.seek(132)
        meta = _read_file_meta_info(f)
        return str(meta.get("TransferSyntaxUID", "")), str(meta.get("MediaStorageSOPClassUID", ""))
    except Exception:  # values convert lazily: a corrupt VR fails in get(), not in the read
        return "", ""


def sniff(path: Path) -> tuple[str, str]:
    """Say whether a file is DICOM: 'DICM' at byte 128, or a header-only parse without preamble that finds
    real attributes. DICOMDIR (Media Storage Directory) is recognised and reported separately. Never raises:
    a damaged file with a preamble is 'dicom' so that the pipeline quarantines it with the real error."""
    try:
        f = open_regular(path)
    except NotRegularFile as e:
        return "unreadable", str(e)
    except OSError as e:
        return "unreadable", f"unreadable: {e.strerror or e}"
    with f:
        try:
            head = f.read(132)
        except OSError as e:
            return "unreadable", f"unreadable: {e.strerror or e}"
        if len(head) < 8:
            return "not-dicom", "too short to be DICOM"
        has_preamble = head[128:132] == b"DICM"
        if has_preamble:
            syntax, sop_class = _meta_syntax(f)
            if syntax == DeflatedExplicitVRLittleEndian:
                # inflating here would be unbounded: the worker inflates against a budget
                if sop_class == MEDIA_STORAGE_DIRECTORY:
                    return "dicomdir", "DICOMDIR (a media index, not an instance)"
                return "dicom", ""
        try:
            f.seek(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(f, stop_before_pixels=True, force=not has_preamble,
                                     specific_tags=["SOPClassUID", "SOPInstanceUID", "DirectoryRecordSequence"])
        except Exception as e:  # any parse failure (zlib.error, BytesLengthException, RecursionError...)
            if has_preamble:
                return "dicom", ""  # a damaged DICOM file: let the pipeline quarantine it with the real error
            return "not-dicom", f"not DICOM ({type(e).__name__})"
        try:  # values are converted lazily: a corrupt one fails here, not in dcmread
            return _classify(ds, has_preamble)
        except Exception as e:
            return ("dicom", "") if has_preamble else ("not-dicom", f"not DICOM ({type(e).__name__})")


def _classify(ds: pydicom.Dataset, has_preamble: bool) -> tuple[str, str]:
    meta = getattr(ds, "file_meta", None)
    sop_class = str(ds.get("SOPClassUID", "") or (meta.get("MediaStorageSOPClassUID", "") if meta else ""))
    if sop_class == MEDIA_STORAGE_DIRECTORY or "DirectoryRecordSequence" in ds:
        return "dicomdir", "DICOMDIR (a media index, not an instance)"
    if not has_preamble:
        # force=True parses almost anything: require real identifying attributes of an instance
        if not (ds.get("SOPClassUID") or ds.get("SOPInstanceUID")):
            return "not-dicom", "no DICOM preamble and no SOP Class/Instance UID"
    return "dicom", ""


def candidate(path: Path, relpath: str) -> Candidate:
    """One file as the walk sees it (also used by distributed workers, which sniff their own files)."""
    if path.is_symlink() and not path.exists():
        return Candidate(path, relpath, "not-dicom", "broken symbolic link")
    if not path.is_file():
        return Candidate(path, relpath, "not-dicom", "missing or not a regular file")
    kind, detail = sniff(path)
    return Candidate(path.resolve(), relpath, kind, detail)


def walk(root: Path) -> Iterator[Candidate]:
    """Yield every file under root (or root itself), sorted so runs are reproducible. Symbolic links to
    folders are followed, each real folder once (a link back up the tree is a loop, reported and not walked
    again); folders that cannot be listed and entries that cannot be read are yielded as 'unreadable'."""
    root = Path(root)
    if not root.is_dir():
        kind, detail = sniff(root)
        yield Candidate(root.resolve(), root.name, kind, detail)
        return
    for p, problem in walk_tree(root):
        rel = str(p.relative_to(root)) if p != root else "."
        if problem:
            yield Candidate(p, rel, "unreadable", problem)
            continue
        kind, detail = sniff(p)
        yield Candidate(p.resolve(), rel, kind, detail)


def walk_tree(root: Path) -> Iterator[tuple[Path, str]]:
    """(path, problem) for every file under root, sorted, lazily, without opening any file: problem is "" for a
    file to read, else why the entry cannot be walked (unreadable folder, broken link, a folder link already
    walked). Symbolic links to folders are followed, each real folder once; an explicit stack, so a hostile tree
    thousands of folders deep cannot exhaust recursion. The walk and the distributed engines' folder source use it."""
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            yield folder, f"folder not readable: {e.strerror or e}"
            continue
        if (st.st_dev, st.st_ino) in seen:
            yield folder, "symbolic link to a folder already walked (a loop or a second path): not walked again"
            continue
        seen.add((st.st_dev, st.st_ino))
        subfolders = []
        for entry in entries:
            p = folder / entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir:
                subfolders.append(p)
            elif entry.is_symlink() and not p.exists():
                yield p, "broken symbolic link (or a link loop)"
            else:
                yield p, ""
        stack.extend(reversed(subfolders))
