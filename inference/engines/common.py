"""What every engine shares: the job description, the Runner that writes results, the resume rule."""
from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..context import FileResult, RunOptions
import os
import sys

from ..discover import Candidate, candidate, open_regular
from ..keys import Keyring
from ..outputs import AuditTrail, Claims, OutputError, Quarantine, write_atomic
from ..pipeline import Context, Quarantined, process_file
from ..sources import Entry


@dataclass(frozen=True)
class Job:
    """Everything an engine (and each of its workers) needs to know about one run; picklable."""

    source: Path                 # INPUT: a file or a folder (the root of relative manifest paths)
    manifest: Path | None        # a CSV/Parquet list of paths instead of walking the folder
    output: Path
    audit_dir: Path
    quarantine_dir: Path
    options: RunOptions
    key: bytes
    fingerprint: str
    force: bool = False
    run_id: str = ""  # one per run: names the run's shared output claims (outputs.Claims) under the audit folder
    file_timeout: float | None = None  # seconds one file may take in a local worker (None: no limit)
    fp_by_source: dict[str, str] = field(default_factory=dict)  # reviewed files: their fingerprint includes the review
    reviews: dict[str, Any] = field(default_factory=dict)  # review station decisions by source (local engine)

    @property
    def excluded(self) -> tuple[Path, ...]:
        """The run's own folders, left out of the input walk, except one that holds the input (a PACS input is
        staged under the audit folder)."""
        return tuple(x for x in (self.output, self.audit_dir, self.quarantine_dir)
                     if not (x == self.source or x in self.source.parents))


@dataclass
class Tally:
    """Counts and by-products of a run, merged from the deltas each worker returns."""

    counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    catalog_rows: list[dict] = field(default_factory=list)
    written_dicom: list[str] = field(default_factory=list)
    files_in: int = 0        # entries seen
    processed: int = 0       # entries given to process_file (for files/s)
    seconds: float = 0.0

    def merge(self, delta: dict[str, Any]) -> None:
        self.counts.update(delta.get("counts", {}))
        self.reasons.update(delta.get("reasons", {}))
        self.catalog_rows += delta.get("catalog_rows", [])
        self.written_dicom += delta.get("written_dicom", [])
        self.files_in += delta.get("files_in", 0)
        self.processed += delta.get("processed", 0)


def file_digest(path: Path) -> str:
    """Content digest for resume; "" when the file cannot be read any more (the worker then quarantines it)."""
    h = hashlib.sha256()
    try:
        with open_regular(path) as f:  # never a FIFO or a device swapped in after the walk
            left = os.fstat(f.fileno()).st_size
            while left > 0 and (chunk := f.read(min(left, 1 << 20))):
                h.update(chunk)
                left -= len(chunk)
    except OSError:
        return ""
    return h.hexdigest()[:32]


def is_done(prev: dict | None, fp: str, digest: str, output: Path) -> bool:
    """Resume: the same content under the same fingerprint was written (or dropped) and its outputs exist."""
    return bool(prev and prev.get("fingerprint") == fp and prev.get("digest") == digest
                and prev.get("status") in ("written", "dropped")
                and all((output / o).exists() for o in prev.get("outputs", [])))


def quiet_libraries() -> None:
    """pydicom warns about every odd value of real-world files; the audit trail is the place for findings."""
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def claims_dir(job: Job) -> Path:
    """Where the workers of one run share their output claims (removed when the run ends)."""
    return job.audit_dir / "claims" / (job.run_id or "run")


class Runner:
    """Writes what process_file returns: outputs atomically, the trail, the quarantine, the counts."""

    def __init__(self, output: Path, trail: AuditTrail, quarantine: Quarantine, fp: str,
                 redo: Callable[[Path, str, str], FileResult] | None = None,
                 fp_by_source: dict[str, str] | None = None, claims: Claims | None = None):
        self.output, self.trail, self.quarantine, self.fp = output, trail, quarantine, fp
        self.fp_by_source = fp_by_source or {}  # reviewed files: the fingerprint includes their review
        self.counts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.claims = claims or Claims(None)  # output relpath -> the input that holds it in this run
        self.owners = trail.output_owners()  # output relpath -> digest of the input that wrote it (earlier runs)
        self.redo = redo  # process a file again as a new version (its own SOP Instance UID)
        self.catalog_rows: list[dict] = []
        self.written_dicom: list[str] = []  # OUTPUT-relative DICOM files written by this run (for --resume-push)

    def take(self) -> dict[str, Any]:
        """What was counted since the last take (a worker's delta for the driver's Tally)."""
        delta = {"counts": dict(self.counts), "reasons": dict(self.reasons), "catalog_rows": self.catalog_rows,
                 "written_dicom": self.written_dicom}
        self.counts, self.reasons, self.catalog_rows, self.written_dicom = Counter(), Counter(), [], []
        return delta

    def skip(self, c: Candidate) -> None:
        if c.kind == "unreadable":  # never silent: a folder or file not read may hold a whole study
            print(f"warning: not read: {c.relpath}: {c.detail}", file=sys.stderr)
        self.counts["skipped"] += 1
        self.reasons[f"skipped: {c.detail}"] += 1
        self.trail.append({"source": c.relpath, "status": "skipped", "reason": c.detail, "fingerprint": self.fp})

    def already_done(self, source: str) -> None:
        self.counts["already done"] += 1

    def _clash(self, r: FileResult) -> bool:
        """Claims r's output paths; True when another input of this run holds one of them with other bytes
        (byte-equal duplicates are no clash, written or not yet). A clash releases the paths r claimed itself."""
        differs = False
        for o in r.outputs:
            content = hashlib.sha256(o.data).hexdigest()
            holder, held = self.claims.claim(o.relpath, r.source, content)
            differs |= holder != r.source and held != content
        if differs:
            self._release(r)
        return differs

    def _release(self, r: FileResult) -> None:
        for o in r.outputs:
            self.claims.release(o.relpath, r.source)

    def _taken(self, r: FileResult, digest: str) -> bool:
        """An output of an earlier run stands where r would write, made from other content: never overwrite it
        (the same input under another profile, key or model is an update, not a clash)."""
        for o in r.outputs:
            target = self.output / o.relpath
            if not target.exists():
                continue
            owner = self.owners.get(o.relpath)
            if (owner != digest) if owner is not None else (target.read_bytes() != o.data):
                return True
        return False

    def accept(self, r: FileResult, path: Path, digest: str) -> None:
        if r.status == "written" and self._clash(r):
            r.status, r.reason = "quarantined", ("same SOP Instance UID as another input file of this run "
                                                 "but different content")
            r.outputs = []
        if r.status == "written" and self._taken(r, digest):
            # a later version of an instance released before (a re-sent, corrected image): its own output UID
            self._release(r)
            r = self.redo(path, r.source, digest) if self.redo else r
            if r.status == "written" and (self.redo is None or self._clash(r) or self._taken(r, digest)):
                self._release(r)
                r.status, r.outputs = "quarantined", []
                r.reason = "same SOP Instance UID as an earlier run's output but different content: not overwritten"
        if r.status == "written":
            self._write_outputs(r, digest)
            self.catalog_rows += r.catalog
        elif r.status == "quarantined":
            note = self.quarantine.add(path, r.source, r.reason)
            if note:
                r.reason = f"{r.reason} ({note})"
            if r.internal_error:  # a bug, not a policy refusal: counted apart so that it is reported and fixed
                self.counts["internal errors"] += 1
                self.reasons[f"internal error (quarantined): {_reason_class(r.reason)}"] += 1
            else:
                self.reasons[f"quarantined: {_reason_class(r.reason)}"] += 1
        elif r.status == "dropped":
            self.reasons[r.reason] += 1
        self.counts[r.status] += 1
        self.trail.append({**r.record(), "digest": digest, "fingerprint": self.fp_by_source.get(r.source, self.fp),
                           "source_path": str(path)})  # where the review station finds the original

    def _write_outputs(self, r: FileResult, digest: str) -> None:
        """All outputs of one file, or none: when one cannot be written (a full disk), the ones this call
        created are removed again, so the file is simply done again on the next run."""
        created: list[Path] = []
        try:
            for o in r.outputs:
                target = self.output / o.relpath
                existed = target.exists()
                write_atomic(target, o.data)
                if not existed:
                    created.append(target)
                self.owners[o.relpath] = digest
                if o.kind == "dicom":
                    self.written_dicom.append(o.relpath)
        except OutputError:
            for target in created:
                target.unlink(missing_ok=True)
            self._release(r)
            raise


def _reason_class(reason: str) -> str:
    """Group reasons in the summary: the text up to the first colon (details stay in the trail)."""
    return reason.split(":", 1)[0][:120]


class FileWorker:
    """One worker of a distributed engine: its own detector session, its own trail shard, the whole per-file
    job (sniff, digest, resume check, process_file, write) so the driver only streams paths and adds counts."""

    def __init__(self, job: Job, shard: str):
        quiet_libraries()
        self.job = job
        self.ctx = Context(job.options, Keyring(job.key))
        trail = AuditTrail(job.audit_dir, shard=shard)
        self.done = {} if job.force else trail.done_by_content()  # every shard: a restarted worker sees all
        self.runner = Runner(job.output, trail, Quarantine(job.quarantine_dir), job.fingerprint, redo=self._redo,
                             fp_by_source=job.fp_by_source, claims=Claims(claims_dir(job)))

    def _redo(self, path: Path, source: str, digest: str) -> FileResult:
        return process_file(path, source, self.ctx, version=digest)

    def handle(self, entry: Entry) -> dict[str, Any]:
        processed = 0
        c = (Candidate(entry.path, entry.relpath, "not-dicom", entry.problem) if entry.problem
             else candidate(entry.path, entry.relpath))
        if c.kind != "dicom":
            self.runner.skip(c)
        else:
            digest = file_digest(c.path)
            fp = self.job.fp_by_source.get(c.relpath, self.job.fingerprint)
            if is_done(self.done.get((c.relpath, digest)), fp, digest, self.job.output):
                self.runner.already_done(c.relpath)
            else:
                processed = 1
                self.runner.accept(process_file(c.path, c.relpath, self.ctx), c.path, digest)
        return {**self.runner.take(), "files_in": 1, "processed": processed}

    def ping(self) -> int:
        """Up, with its detector session made: the model loads before the first file is handed out (and before the
        run's clock starts), not inside the first file's time."""
        try:
            self.ctx.detector()
        except Quarantined:
            pass  # kept in the context: each image file is then quarantined with that reason
        return os.getpid()
