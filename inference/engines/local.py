"""The default engine: this process (1 worker) or a pool of local worker processes; this process writes."""
from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..context import FileResult, RunOptions
from ..discover import Candidate, candidate, walk
from ..keys import Keyring
from ..outputs import AuditTrail, Quarantine
from ..pipeline import Context, process_file
from ..sources import manifest_entries
from .common import Job, Runner, Tally, file_digest, is_done, quiet_libraries

_CTX: Context | None = None


def _init_worker(options: RunOptions, key: bytes) -> None:
    global _CTX
    quiet_libraries()
    _CTX = Context(options, Keyring(key))


def _work(item: tuple[str, str]) -> FileResult:
    path, source = item
    assert _CTX is not None
    return process_file(Path(path), source, _CTX)


def _results(items: Iterable[tuple[str, str]], options: RunOptions, key: bytes, workers: int) -> Iterator[FileResult]:
    """Process in-process (1 worker) or in a pool with a bounded number of files in flight (bounded memory)."""
    if workers == 1:
        _init_worker(options, key)
        for item in items:
            yield _work(item)
        return
    import multiprocessing as mp
    # spawn, not fork: a forked child inherits the caller's ONNX Runtime sessions (a library caller, a test, an
    # earlier in-process run) with their thread pools half-copied, and destroying one there deadlocks
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                             initargs=(options, key)) as pool:
        pending = set()
        for item in items:
            pending.add(pool.submit(_work, item))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield f.result()
        for f in pending:
            yield f.result()


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
        tally = Tally()
        trail, quarantine = AuditTrail(job.audit_dir), Quarantine(job.quarantine_dir)
        runner = Runner(job.output, trail, quarantine, job.fingerprint, redo=_redo_as_version(job.options, job.key))
        done = {} if job.force else trail.done_by_content()
        todo: list[tuple[str, str]] = []
        digests: dict[str, str] = {}
        for c in _candidates(job):
            tally.files_in += 1
            if c.kind != "dicom":
                runner.skip(c)
                continue
            digest = file_digest(c.path)
            if is_done(done.get((c.relpath, digest)), job.fingerprint, digest, job.output):
                runner.already_done(c.relpath)
                continue
            digests[c.relpath] = digest
            todo.append((str(c.path), c.relpath))

        t0 = time.perf_counter()
        by_source = {rel: Path(p) for p, rel in todo}
        bar = progress(len(todo))
        for r in _results(todo, job.options, job.key, self.workers):
            runner.accept(r, by_source[r.source], digests[r.source])
            bar.update(1)
            bar.set_postfix(written=runner.counts["written"], quarantined=runner.counts["quarantined"], refresh=False)
        bar.close()
        tally.seconds = time.perf_counter() - t0
        tally.processed = len(todo)
        tally.merge(runner.take())
        return tally
