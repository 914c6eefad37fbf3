"""python -m inference.run INPUT OUTPUT: anonymise a file or a folder of DICOM studies.

Walks INPUT, anonymises every DICOM file (header, pixels, reports), writes OUTPUT/dicom/<patient>/<study>/
<series>/<instance>.dcm (and jpg/, mp4/), an audit trail and a quarantine beside OUTPUT. Re-running skips what
is already done and gives identical outputs. Exit status: 0 all released, 3 something quarantined,
4 PACS push incomplete (the files are written; --resume-push sends the rest), 1 fatal, 2 usage.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import warnings
from collections import Counter
from contextlib import closing
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Generator, Iterable

from tqdm import tqdm

from .context import FORMATS, FileResult, RunOptions
from .discover import Candidate, open_regular, walk
from .keys import Keyring, KeyError_, create_key_file, key_problems, load_key
from .objects import drop_names
from .outputs import (AuditTrail, OutputError, Quarantine, ensure_writable, remove_stale_temps,
                      write_atomic)
from .pipeline import DEFAULT_MODEL, Context, process_file
from .resources import code_version
from .workers import Supervisor, WorkerError

EXIT_OK, EXIT_FATAL, EXIT_USAGE, EXIT_QUARANTINED, EXIT_PUSH = 0, 1, 2, 3, 4


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m inference.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", type=Path, help="a DICOM file or a folder (walked recursively)")
    p.add_argument("output", type=Path, help="output folder (only anonymised content is written here)")
    p.add_argument("--key-file", type=Path, help="secret key file (else $MEDANON_KEY, else OUTPUT.audit/medanon.key)")
    p.add_argument("--profile", default="basic", help="header profile name or YAML path (default: basic)")
    p.add_argument("--format", default="dicom", help="comma list of dicom,jpg,mp4 (default: dicom)")
    p.add_argument("--drop", default="",
                   help=f"comma list of object types to leave out: {','.join(sorted(drop_names()))}")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    p.add_argument("--max-decoded-mb", type=int, default=RunOptions.max_decoded_mb,
                   help="decode budget per file in MiB: a larger declared pixel or inflated size is quarantined "
                        f"before decoding (default {RunOptions.max_decoded_mb})")
    p.add_argument("--file-timeout", type=float, default=3600.0,
                   help="seconds one file may take; a worker over it is stopped and the file quarantined "
                        "(default 3600, 0 = no limit)")
    p.add_argument("--model", type=Path, default=None, help=f"ONNX text detector (default {DEFAULT_MODEL.name})")
    p.add_argument("--audit", action="store_true",
                   help="audit each file before release; flagged files go to quarantine")
    p.add_argument("--audit-max-frames", type=int, default=0,
                   help="with --audit: frames OCR-ed per file (default 0 = every frame)")
    p.add_argument("--audit-flag-any-text", action="store_true",
                   help="with --audit: quarantine a file with any legible text left, not only personal data")
    p.add_argument("--lossy-reencode", action="store_true", help="re-encode lossy inputs lossy (default: uncompressed)")
    p.add_argument("--audit-dir", type=Path, help="audit trail folder (default OUTPUT.audit)")
    p.add_argument("--quarantine-dir", type=Path, help="quarantine folder (default OUTPUT.quarantine)")
    p.add_argument("--jpg-db", help="JPEG catalogue: SQLite path or SQLAlchemy URL (needs --format jpg)")
    p.add_argument("--pacs", help="push anonymised DICOM to a PACS: http(s)://.../dicom-web or dicom://AET@host:port")
    p.add_argument("--pacs-credentials", type=Path, help="credentials file for --pacs (or MEDANON_PACS_USER/_PASSWORD)")
    p.add_argument("--resume-push", action="store_true", help="only push to --pacs what did not arrive before")
    p.add_argument("--force", action="store_true", help="process again files the audit trail says are done")
    p.add_argument("--strict", action="store_true",
                   help="refuse a key file readable by group/others or a low-entropy key (default: warn)")
    p.add_argument("--reviews", type=Path, help="review station decisions (default AUDIT_DIR/reviews.sqlite when it "
                   "exists): reviewer boxes blanked, approved files released, 'needs redaction' held (docs/REVIEW.md)")
    p.add_argument("--templates", type=Path, help="device templates folder (default AUDIT_DIR/templates): accepted "
                   "templates are blanked on every file of their device")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def options_from_args(a: argparse.Namespace) -> RunOptions:
    formats = tuple(f.strip() for f in a.format.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise SystemExit(f"error: --format takes {','.join(FORMATS)}; got {a.format!r}")
    drop = frozenset(d.strip().lower() for d in a.drop.split(",") if d.strip())
    bad = drop - drop_names()
    if bad:
        raise SystemExit(f"error: --drop: unknown object type(s) {sorted(bad)}; known: {sorted(drop_names())}")
    if a.workers < 1:
        raise SystemExit("error: --workers must be at least 1")
    if a.max_decoded_mb < 1 or a.file_timeout < 0:
        raise SystemExit("error: --max-decoded-mb must be at least 1 and --file-timeout not negative")
    return RunOptions(profile=a.profile, formats=formats, drop=drop, model_path=a.model, audit=a.audit,
                      audit_max_frames=a.audit_max_frames or None, audit_flag_any_text=a.audit_flag_any_text,
                      lossy_reencode=a.lossy_reencode, max_decoded_mb=a.max_decoded_mb,
                      detector_threads=max(1, (os.cpu_count() or 1) // a.workers))  # no oversubscription


def resolve_key(a: argparse.Namespace, audit_dir: Path) -> tuple[bytes, str]:
    """The key from --key-file or $MEDANON_KEY; on a first run without either, a new key kept in the audit folder
    (created atomically: two first runs started together share one key). Weak keys: warned, refused with --strict."""
    if a.key_file or os.environ.get("MEDANON_KEY"):
        key, path, note = load_key(a.key_file), a.key_file, "given"
    else:
        path = audit_dir / "medanon.key"
        key, created = create_key_file(path)
        note = (f"NEW key generated and kept at {path} (keep it secret; reuse it for consistent pseudonyms)"
                if created else f"reused {path}")
    problems = key_problems(key, path)
    if problems and getattr(a, "strict", False):
        raise KeyError_("; ".join(problems) + " (refused: --strict)")
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return key, note


def fingerprint(options: RunOptions, key: bytes) -> str:
    """Identifies what a run would produce: a file done under another profile, key, model or code version
    (package version + digest of the inference/ files, resources.code_version) is done again."""
    model = options.model_path or DEFAULT_MODEL
    model_id = hashlib.sha256(model.read_bytes()).hexdigest()[:12] if model.exists() else "no-model"
    key_id = Keyring(key).key_id
    from .pixels.templates import accepted_digest
    fields = asdict(options)
    fields.pop("max_decoded_mb")  # a budget only quarantines: it changes no written output
    blob = json.dumps({**fields, "model_path": None, "detector_threads": None,  # threads change no output
                       "model": model_id, "key": key_id, "code": code_version(),
                       # reviews count per file (review_fingerprints); accepted templates for every file
                       "reviews_path": None, "templates_dir": accepted_digest(options.templates_dir)}, sort_keys=True,
                      default=sorted)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


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


_CTX: Context | None = None


def _quiet_libraries() -> None:
    """pydicom warns about every odd value of real-world files; the audit trail is the place for findings."""
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def _init_worker(options: RunOptions, key: bytes) -> Context:
    global _CTX
    _quiet_libraries()
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


class Runner:
    """Writes what process_file returns: outputs atomically, the trail, the quarantine, the summary."""

    def __init__(self, output: Path, trail: AuditTrail, quarantine: Quarantine, fp: str,
                 redo: Callable[[Path, str, str], FileResult] | None = None,
                 fp_by_source: dict[str, str] | None = None):
        self.output, self.trail, self.quarantine, self.fp = output, trail, quarantine, fp
        self.fp_by_source = fp_by_source or {}  # reviewed files: the fingerprint includes their review
        self.counts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.claimed: dict[str, str] = {}  # output relpath -> source that wrote it in this run
        self.owners = trail.output_owners()  # output relpath -> digest of the input that wrote it (earlier runs)
        self.redo = redo  # process a file again as a new version (its own SOP Instance UID)
        self.catalog_rows: list[dict] = []
        self.written_dicom: list[str] = []  # OUTPUT-relative DICOM files written by this run (for --resume-push)

    def skip(self, c: Candidate) -> None:
        if c.kind == "unreadable":  # never silent: a folder or file not read may hold a whole study
            print(f"warning: not read: {c.relpath}: {c.detail}", file=sys.stderr)
        self.counts["skipped"] += 1
        self.reasons[f"skipped: {c.detail}"] += 1
        self.trail.append({"source": c.relpath, "status": "skipped", "reason": c.detail, "fingerprint": self.fp})

    def already_done(self, source: str) -> None:
        self.counts["already done"] += 1

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
        if r.status == "written":
            clash = [o for o in r.outputs if self.claimed.get(o.relpath, r.source) != r.source]
            if any((self.output / o.relpath).read_bytes() != o.data for o in clash):
                r.status, r.reason = "quarantined", ("same SOP Instance UID as another input file of this run "
                                                     "but different content")
                r.outputs = []
        if r.status == "written" and self._taken(r, digest):
            # a later version of an instance released before (a re-sent, corrected image): its own output UID
            r = self.redo(path, r.source, digest) if self.redo else r
            if r.status == "written" and (self.redo is None or self._taken(r, digest)):
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
                self.claimed[o.relpath] = r.source
                self.owners[o.relpath] = digest
                if o.kind == "dicom":
                    self.written_dicom.append(o.relpath)
        except OutputError:
            for target in created:
                target.unlink(missing_ok=True)
            raise


def _reason_class(reason: str) -> str:
    """Group reasons in the summary: the text up to the first colon (details stay in the trail)."""
    return reason.split(":", 1)[0][:120]


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    options = options_from_args(a)
    _quiet_libraries()
    src, out = a.input.resolve(), a.output.resolve()
    audit_dir = (a.audit_dir or out.with_name(out.name + ".audit")).resolve()
    qdir = (a.quarantine_dir or out.with_name(out.name + ".quarantine")).resolve()
    if not src.exists():
        print(f"error: input {a.input} does not exist", file=sys.stderr)
        return EXIT_USAGE
    if src.is_dir() and (out == src or src in out.parents or out in src.parents):
        # an output inside the input would be walked as input next time; an input inside the output is worse
        if out == src or out in src.parents:
            print("error: OUTPUT must not be the input folder or contain it", file=sys.stderr)
            return EXIT_USAGE
    for folder, flag in ((audit_dir, "--audit-dir"), (qdir, "--quarantine-dir")):
        if folder == out or out in folder.parents:
            # the audit trail and the quarantine hold un-anonymised paths and originals: never under OUTPUT
            print(f"error: {flag} {folder} must not be OUTPUT or inside it: OUTPUT receives only anonymised "
                  "content", file=sys.stderr)
            return EXIT_USAGE
    from .header import ProfileError, load_profile
    try:
        load_profile(options.profile)
    except (ProfileError, OSError) as e:
        print(f"error: profile {options.profile!r}: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        for folder, what in ((out, "output"), (audit_dir, "audit"), (qdir, "quarantine")):
            ensure_writable(folder, what)
    except OutputError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FATAL
    try:
        key, key_note = resolve_key(a, audit_dir)
    except KeyError_ as e:  # a key that is missing, unreadable or refused: the user's to fix
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        print(f"error: cannot create the key file in {audit_dir}: {e.strerror or e}", file=sys.stderr)
        return EXIT_FATAL
    remove_stale_temps(out)
    trail, quarantine = AuditTrail(audit_dir), Quarantine(qdir)
    from .review.apply import quarantined_reviewed, review_fingerprints, review_options, withdraw_outputs
    try:
        options, reviews = review_options(options, a.reviews, a.templates, audit_dir)
    except ValueError as e:  # a review database or template that cannot be read: the user's to fix
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    fp = fingerprint(options, key)
    fp_by_source = review_fingerprints(fp, reviews)
    runner = Runner(out, trail, quarantine, fp, redo=_redo_as_version(options, key), fp_by_source=fp_by_source)
    done = {} if a.force else trail.done_by_content()
    model = options.model_path or DEFAULT_MODEL
    if not model.exists():
        print(f"warning: text detector model {model} is missing: every image will be quarantined", file=sys.stderr)

    excluded = {out, audit_dir, qdir}
    candidates = [c for c in walk(src) if not any(x == c.path or x in c.path.parents for x in excluded)]
    todo: list[tuple[str, str]] = []
    digests: dict[str, str] = {}
    for c in candidates:
        if c.kind != "dicom":
            runner.skip(c)
            continue
        digest = file_digest(c.path)
        prev = done.get((c.relpath, digest))
        if (prev and prev.get("fingerprint") == fp_by_source.get(c.relpath, fp) and prev.get("digest") == digest
                and prev.get("status") in ("written", "dropped")
                and all((out / o).exists() for o in prev.get("outputs", []))):
            runner.already_done(c.relpath)
            continue
        digests[c.relpath] = digest
        todo.append((str(c.path), c.relpath))

    for path, rel, digest in quarantined_reviewed(reviews, {c.relpath for c in candidates}, qdir, done, fp_by_source):
        digests[rel] = digest  # approved in the station, no longer in INPUT: from its quarantine copy
        todo.append((str(path), rel))

    t0 = time.perf_counter()
    by_source = {rel: Path(p) for p, rel in todo}
    released_before = trail.done()
    bar = tqdm(total=len(todo), unit="file", disable=a.quiet or not todo, desc="anonymising", file=sys.stderr)
    try:
        with closing(_results(todo, options, key, a.workers, a.file_timeout)) as results:
            for r in results:
                runner.accept(r, by_source[r.source], digests[r.source])
                if r.status != "written" and r.source in reviews:  # e.g. marked 'needs redaction' after its release
                    runner.counts["withdrawn"] += withdraw_outputs(out, released_before.get(r.source),
                                                                   digests[r.source])
                bar.update(1)
                bar.set_postfix(written=runner.counts["written"], quarantined=runner.counts["quarantined"],
                                refresh=False)
    except (OutputError, WorkerError) as e:
        bar.close()
        print(f"error: {e}\n  the run stopped; nothing half-written is left in {out}. {runner.counts['written']} "
              "files were written before; fix the cause (free disk space) and run the same command again to "
              "resume", file=sys.stderr)
        return EXIT_FATAL
    bar.close()
    elapsed = time.perf_counter() - t0

    extra = _storage_steps(a, out, audit_dir, runner)
    summary = {
        "input": str(src), "output": str(out), "audit": str(audit_dir), "quarantine": str(qdir),
        "files_in": len(candidates), "counts": dict(runner.counts), "reasons": dict(runner.reasons.most_common()),
        "seconds": round(elapsed, 2), "files_per_s": round(len(todo) / elapsed, 2) if elapsed > 0 and todo else None,
        "key": key_note, "fingerprint": fp, **extra,
    }
    summary_path = trail.write_summary(summary)
    print_summary(summary, summary_path)
    if "pacs_error" in summary:
        return EXIT_PUSH
    return EXIT_QUARANTINED if runner.counts["quarantined"] else EXIT_OK


def _storage_steps(a: argparse.Namespace, out: Path, audit_dir: Path, runner: Runner) -> dict:
    """Optional: the JPEG catalogue and the PACS push, after everything is written."""
    extra: dict = {}
    if a.jpg_db:
        from .storage.catalog import add_rows
        extra["jpg_db_rows"] = add_rows(a.jpg_db, runner.catalog_rows, out)
    if a.pacs:
        from .storage.destination import PacsConfigError
        from .storage.pacs import push_output
        from .storage.retry import PacsError
        try:
            extra["pacs"] = push_output(out, a.pacs, credentials_file=a.pacs_credentials, ledger_dir=audit_dir,
                                        resume=a.resume_push, new_files=runner.written_dicom)
        except (PacsError, PacsConfigError) as e:
            # nothing is lost: the files stay in OUTPUT and the ledger says what still has to go
            extra["pacs_error"] = f"{type(e).__name__}: {e}"
            print(f"error: PACS push incomplete: {e}\n  the anonymised files stay in {out}; "
                  f"run again with --resume-push to send the rest", file=sys.stderr)
    return extra


def print_summary(s: dict, path: Path) -> None:
    c = s["counts"]
    lines = [
        "",
        f"medanon: {s['files_in']} files found under {s['input']}",
        f"  written      {c.get('written', 0)}",
        f"  already done {c.get('already done', 0)}",
        f"  dropped      {c.get('dropped', 0)}",
        f"  skipped      {c.get('skipped', 0)} (not DICOM, DICOMDIR or not readable: each one in the reasons)",
        f"  quarantined  {c.get('quarantined', 0)}",
    ]
    if c.get("internal errors"):
        lines.append(f"    of which internal errors {c['internal errors']} (a bug, not a refusal by policy: "
                     "please report it with the trail record)")
    if s["reasons"]:
        lines.append("  reasons:")
        lines += [f"    {n:6d}  {r}" for r, n in s["reasons"].items()]
    lines += [f"  output      {s['output']}", f"  audit trail {s['audit']}", f"  quarantine  {s['quarantine']}",
              f"  key         {s['key']}", f"  summary     {path}"]
    if s.get("files_per_s"):
        lines.append(f"  speed       {s['files_per_s']} files/s")
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
