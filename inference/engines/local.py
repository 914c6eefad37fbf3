"""The default engine: this process (1 worker) or a pool of local worker processes; this process writes."""
from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path
from typing import Callable, Generator, Iterable, Iterator

from ..context import FileResult, RunOptions
from ..discover import Candidate, candidate, walk
from ..keys import Keyring
from ..outputs import AuditTrail, Quarantine
from ..pipeline import Context, process_file
from ..sources import manifest_entries
from ..workers import Supervisor
from .common import Job, Runner, Tally, file_digest, is_done, quiet_libraries

_CTX: Context | None = None


def _init_worker(options: RunOptions, key: bytes) -> Context:
    global _CTX
    quiet_libraries()
    _CTX = Context(options, Keyring(key))
    return _CTX


def _work(ctx: Context, item: tuple[str, str]) -> FileResult:
    path, source = item
    return process_file(Path(path), source, ctx)


def _results(items: Iterable[tuple[str, str]], options: RunOptions, key: bytes, workers: int,
             file_timeout: float | None = None) -> Generator[FileResult, None, None]:
    """Always in worker processes, one file in flight per worker (bounded memory): a native crash or a hang
    in a decoder costs only its file (inference/workers.py)."""
    return Supervisor(workers, _init_worker, (options, key), _work, file_timeout or None).run(items)


def _redo_as_version(options: RunOptions, key: bytes) -> Callable[[Path, str, str], FileResult]:
    """process_file again in this process with a content-keyed SOP Instance UID (rare: a clash across runs)."""
    def redo(path: Path, source: str, digest: str) -> FileResult:
        global _CTX
        if _CTX is None or _CTX.options != options or _CTX.keyring.key != key:
            _init_worker(options, key)  # the files went to worker processes (or an earlier run's context is here)
        assert _CTX is not None
        return process_file(path, source, _CTX, version=digest)
    return redo


def _candidates(job: Job) -> Iterator[Candidate]:
    if job.manifest is not None:
        for e in manifest_entries(job.manifest, job.source, job.excluded):
            yield Candidate(e.path, e.relpath, "not-dicom", e.problem) if e.problem else candidate(e.path, e.relpath)
        return
    for c in walk(job.source):
        if not any(x == c.path or x in c.path.parents for x in job.excluded):
            yield c


class LocalEngine:
    def __init__(self, workers: int = 1):
        self.workers = workers

    def run(self, job: Job, progress) -> Tally:
        """Every entry of the job. With review station decisions (job.reviews): approved files no longer in INPUT
        come from their quarantine copy, and an earlier output of a file held back on review is withdrawn.
        OutputError / WorkerError propagate: the caller stops the run with a clear message."""
        from ..review.apply import quarantined_reviewed, withdraw_outputs  # noqa: PLC0415

        reviews = job.reviews
        tally = Tally()
        trail, quarantine = AuditTrail(job.audit_dir), Quarantine(job.quarantine_dir)
        runner = Runner(job.output, trail, quarantine, job.fingerprint, redo=_redo_as_version(job.options, job.key),
                        fp_by_source=job.fp_by_source)
        done = {} if job.force else trail.done_by_content()
        todo: list[tuple[str, str]] = []
        digests: dict[str, str] = {}
        seen: set[str] = set()
        for c in _candidates(job):
            tally.files_in += 1
            seen.add(c.relpath)
            if c.kind != "dicom":
                runner.skip(c)
                continue
            digest = file_digest(c.path)
            if is_done(done.get((c.relpath, digest)), job.fp_by_source.get(c.relpath, job.fingerprint), digest,
                       job.output):
                runner.already_done(c.relpath)
                continue
            digests[c.relpath] = digest
            todo.append((str(c.path), c.relpath))
        for path, rel, digest in quarantined_reviewed(reviews, seen, job.quarantine_dir, done, job.fp_by_source):
            digests[rel] = digest  # approved in the station, no longer in INPUT: from its quarantine copy
            todo.append((str(path), rel))

        t0 = time.perf_counter()
        by_source = {rel: Path(p) for p, rel in todo}
        released_before = trail.done()
        bar = progress(len(todo))
        try:
            with closing(_results(todo, job.options, job.key, self.workers, job.file_timeout)) as results:
                for r in results:
                    runner.accept(r, by_source[r.source], digests[r.source])
                    if r.status != "written" and r.source in reviews:  # 'needs redaction' after its release
                        runner.counts["withdrawn"] += withdraw_outputs(job.output, released_before.get(r.source),
                                                                       digests[r.source])
                    bar.update(1)
                    bar.set_postfix(written=runner.counts["written"], quarantined=runner.counts["quarantined"],
                                    refresh=False)
        finally:
            bar.close()
            tally.seconds = time.perf_counter() - t0
            tally.processed = len(todo)
            tally.merge(runner.take())
        return tally
