"""Where results go: output names from pseudonymous ids, atomic writes, the audit trail, the quarantine.

OUTPUT holds only anonymised content under names built from remapped identifiers. The audit trail (input path ->
outputs, actions, timings) and the quarantine (originals that could not be fully anonymised, with the reason) may
identify people, so they live in separate folders, by default beside OUTPUT.
"""
from __future__ import annotations

import errno
import hashlib
import heapq
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

TMP_SUFFIX = ".medanon-tmp"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class OutputError(RuntimeError):
    """An output, audit or quarantine folder cannot be used."""


def safe_component(value: str, what: str) -> str:
    """A path component from a pseudonymous identifier; refuse empty ones rather than inventing a name."""
    text = _SAFE.sub("_", str(value).strip())
    if not text or text in {".", ".."}:
        raise ValueError(f"cannot name the output: {what} is empty after de-identification")
    return text[:128]


def dicom_relpath(patient_id: str, study_uid: str, series_uid: str, instance_uid: str) -> str:
    return "/".join([
        "dicom",
        safe_component(patient_id, "PatientID"),
        safe_component(study_uid, "StudyInstanceUID"),
        safe_component(series_uid, "SeriesInstanceUID"),
        safe_component(instance_uid, "SOPInstanceUID") + ".dcm",
    ])


def media_relpath(kind: str, dicom_rel: str, frame: int | None = None) -> str:
    """jpg/<patient>/<study>/<series>/<instance>_f0001.jpg or mp4/<...>/<instance>.mp4, parallel to dicom/."""
    stem = dicom_rel.split("/", 1)[1][: -len(".dcm")]
    if kind == "jpg":
        return f"jpg/{stem}_f{(frame or 0) + 1:04d}.jpg"
    if kind == "mp4":
        return f"mp4/{stem}.mp4"
    raise ValueError(kind)


def _write_error(path: Path, e: OSError) -> OutputError:
    full = " (the disk is full or a file size limit is reached)" if e.errno in (errno.ENOSPC, errno.EFBIG,
                                                                                errno.EDQUOT) else ""
    return OutputError(f"cannot write {path}: {e.strerror or e}{full}")


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file. On any
    write error (a full disk) the temporary file is removed and OutputError says what happened."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise _write_error(path, e) from e


def copy_atomic(source: Path, path: Path) -> None:
    """Copy a regular input file (bounded, never a FIFO or a device) the way write_atomic writes. OSError
    when the source cannot be read; OutputError when the copy cannot be written."""
    from .discover import open_regular
    with open_regular(source) as src:
        left = os.fstat(src.fileno()).st_size
        tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
        try:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                f = open(tmp, "wb")
            except OSError as e:
                raise _write_error(path, e) from e
            with f:
                while left > 0:
                    chunk = src.read(min(left, 1 << 20))  # an OSError here is the source's
                    if not chunk:
                        break
                    try:
                        f.write(chunk)
                    except OSError as e:
                        raise _write_error(path, e) from e
                    left -= len(chunk)
                try:
                    f.flush()
                    os.fsync(f.fileno())
                except OSError as e:
                    raise _write_error(path, e) from e
            try:
                os.replace(tmp, path)
            except OSError as e:
                raise _write_error(path, e) from e
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def _writer_alive(temp: Path) -> bool:
    """Temporary names end in ``.<pid>.medanon-tmp``: is that writer still running on this machine?"""
    pid = temp.name[: -len(TMP_SUFFIX)].rsplit(".", 1)[-1]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_stale_temps(root: Path) -> int:
    """Temporary files left by an interrupted run are never results: remove them. A temp whose writer still runs
    belongs to a run started beside this one on the same output and is left to it. WHY: two runs started together
    each removed the other's temp files (and probe) and failed."""
    n = 0
    if root.is_dir():
        for p in root.rglob(f"*{TMP_SUFFIX}"):
            if _writer_alive(p):
                continue
            p.unlink(missing_ok=True)
            n += 1
    return n


def ensure_writable(folder: Path, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe.{os.getpid()}{TMP_SUFFIX}"  # one per process: runs may start side by side
        probe.write_bytes(b"")
        probe.unlink(missing_ok=True)
    except OSError as e:
        raise OutputError(f"the {what} folder {folder} is not writable: {e.strerror or e}") from e


class Claims:
    """Which input wrote each output path in THIS run, shared by every worker of the run: one small file per output
    path under ``folder`` (the audit folder, on the file system every node shares), made with an atomic link, so
    exactly one input holds a path. ``folder`` None: in memory (one process). WHY: two inputs with one SOP Instance
    UID but different pixels must meet one rule under every engine (the second is quarantined); with a claim
    per process, Ray actors each thought they were first and gave the second a new UID, or overwrote it."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.memory: dict[str, tuple[str, str]] = {}  # relpath -> (source, output digest)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def _path(self, relpath: str) -> Path:
        assert self.folder is not None
        return self.folder / hashlib.sha256(relpath.encode()).hexdigest()[:40]

    def claim(self, relpath: str, source: str, content: str) -> tuple[str, str]:
        """Claim ``relpath`` for ``source`` whose output there has digest ``content``; returns the (source,
        content) that holds it now: ours, or another input's. WHY the digest: the holder may not have written
        its file yet, so byte-equal duplicates are told apart from clashes by the claim, not by the target."""
        mine = (source, content)
        if self.folder is None:
            return self.memory.setdefault(relpath, mine)
        target = self._path(relpath)
        temp = target.with_name(f"{target.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        temp.write_text(f"{content}\n{source}", encoding="utf-8")
        try:
            os.link(temp, target)  # atomic, and fails when another worker holds the path
            return mine
        except FileExistsError:
            held, _, holder = target.read_text(encoding="utf-8").partition("\n")
            return holder, held
        finally:
            temp.unlink(missing_ok=True)

    def release(self, relpath: str, source: str) -> None:
        """Give back a claim whose write failed (the file is done again later)."""
        if self.folder is None:
            if self.memory.get(relpath, ("",))[0] == source:
                del self.memory[relpath]
            return
        target = self._path(relpath)
        if target.is_file() and target.read_text(encoding="utf-8").partition("\n")[2] == source:
            target.unlink(missing_ok=True)


@dataclass
class AuditTrail:
    """Append-only JSON lines, one record per input file, plus the run summaries.

    A distributed run gives every worker its own shard (trail-<shard>.jsonl) so no two processes append to one
    file; every reader sees trail.jsonl and all shards as one trail, the newest record winning."""

    folder: Path
    shard: str | None = None  # None: trail.jsonl (local engine); else trail-<shard>.jsonl

    @property
    def path(self) -> Path:
        name = "trail.jsonl" if self.shard is None else f"trail-{safe_component(self.shard, 'shard')}.jsonl"
        return self.folder / name

    def files(self) -> list[Path]:
        """trail.jsonl and every shard, in a fixed order."""
        base = self.folder / "trail.jsonl"
        return ([base] if base.is_file() else []) + sorted(self.folder.glob("trail-*.jsonl"))

    def exists(self) -> bool:
        return bool(self.files())

    def append(self, record: dict[str, Any]) -> None:
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **record}
        line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode()
        try:
            with open(self.path, "ab+") as f:
                if f.tell() > 0:  # a writer killed mid-line left a partial record: start on a line of our own
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":
                        line = b"\n" + line
                f.write(line)
                f.flush()
        except OSError as e:  # a cut line is ignored when read back (records())
            raise _write_error(self.path, e) from e

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record of every shard, oldest first (by the record's time; a stable merge keeps file order
        within one second)."""
        files = self.files()
        if len(files) <= 1:
            for path in files:
                yield from _read_jsonl(path)
            return
        yield from heapq.merge(*(_read_jsonl(p) for p in files), key=lambda r: str(r.get("time", "")))

    def done(self) -> dict[str, dict[str, Any]]:
        """Latest record per source."""
        latest: dict[str, dict[str, Any]] = {}
        for r in self.records():
            if "source" in r:
                latest[r["source"]] = r
        return latest

    def done_by_content(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Latest record per (source, input digest): a path whose content changed and changed back, or two input
        folders with the same relative names, are each recognised as done."""
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for r in self.records():
            if "source" in r and r.get("digest"):
                latest[(r["source"], r["digest"])] = r
        return latest

    def output_owners(self) -> dict[str, str]:
        """Output relpath -> digest of the input whose anonymised content is there (latest written record)."""
        owners: dict[str, str] = {}
        for r in self.records():
            if r.get("status") == "written" and r.get("digest"):
                for relpath in r.get("outputs", []):
                    owners[relpath] = r["digest"]
        return owners

    def write_summary(self, summary: dict[str, Any]) -> Path:
        path = self.folder / f"summary-{time.strftime('%Y%m%dT%H%M%S')}.json"
        write_atomic(path, json.dumps(summary, indent=2, ensure_ascii=False).encode())
        return path


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a crash: the file is simply processed again


@dataclass
class Quarantine:
    """Copies of inputs that could not be fully anonymised, each with a reason file. Inputs stay untouched."""

    folder: Path

    def add(self, source_path: Path, source: str, reason: str) -> str:
        """Copy the original and write its reason. Returns "" or why the original could not be copied (it
        vanished or became unreadable after the walk): the reason is still recorded. OutputError when the
        quarantine folder itself cannot be written."""
        slot = self.folder / hashlib.sha256(source.encode()).hexdigest()[:16]
        target = slot / (source_path.name or "input")
        note = ""
        try:
            copy_atomic(source_path, target)
        except OutputError:
            raise
        except OSError as e:
            note = f"original not copied into the quarantine: {e.strerror or e}"
        record = {"source": source, "reason": reason, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
        if note:
            record["copy_error"] = note
        write_atomic(slot / "reason.json", json.dumps(record, indent=2, ensure_ascii=False).encode())
        return note
