"""python -m inference.run INPUT OUTPUT: anonymise a file, a folder or a PACS's DICOM studies.

INPUT may also be a PACS: dicomweb+http(s)://HOST/dicom-web or dimse://AET@HOST:PORT, filtered by --query, fetched
study by study into a private staging folder beside the audit trail (inference/storage/source.py). --engine ray
runs the files on a Ray cluster (inference/engines/ray.py, docs/SCALING.md).

Walks INPUT, anonymises every DICOM file (header, pixels, reports), writes OUTPUT/dicom/<patient>/<study>/
<series>/<instance>.dcm (and jpg/, mp4/), an audit trail and a quarantine beside OUTPUT. Re-running skips what
is already done and gives identical outputs. Exit status: 0 all released, 3 something quarantined,
4 PACS push incomplete, 1 fatal, 2 usage.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from .context import FORMATS, RunOptions
from .engines import Job, Tally, make_engine
from .engines.common import Runner, file_digest, quiet_libraries  # noqa: F401  (Runner, file_digest: kept here)
from .keys import Keyring, KeyError_, create_key_file, key_problems, load_key
from .objects import drop_names
from .outputs import AuditTrail, OutputError, ensure_writable, remove_stale_temps
from .pipeline import DEFAULT_MODEL
from .resources import code_version
from .sources import ManifestError
from .workers import WorkerError

EXIT_OK, EXIT_FATAL, EXIT_USAGE, EXIT_QUARANTINED, EXIT_PUSH = 0, 1, 2, 3, 4


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m inference.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="a DICOM file, a folder (walked recursively), or a PACS: "
                   "dicomweb+http(s)://HOST/dicom-web (QIDO-RS + WADO-RS) or dimse://AET@HOST:PORT (C-FIND + C-GET)")
    p.add_argument("output", type=Path, help="output folder (only anonymised content is written here)")
    p.add_argument("--key-file", type=Path, help="secret key file (else $MEDANON_KEY, else OUTPUT.audit/medanon.key)")
    p.add_argument("--profile", default="basic", help="header profile name or YAML path (default: basic)")
    p.add_argument("--format", default="dicom", help="comma list of dicom,jpg,mp4 (default: dicom)")
    p.add_argument("--drop", default="",
                   help=f"comma list of object types to leave out: {','.join(sorted(drop_names()))}")
    p.add_argument("--workers", type=int, default=1,
                   help="local worker processes, or Ray actors with --engine ray (default 1)")
    p.add_argument("--max-decoded-mb", type=int, default=RunOptions.max_decoded_mb,
                   help="decode budget per file in MiB: a larger declared pixel or inflated size is quarantined "
                        f"before decoding (default {RunOptions.max_decoded_mb})")
    p.add_argument("--file-timeout", type=float, default=3600.0,
                   help="seconds one file may take; a worker over it is stopped and the file quarantined "
                        "(default 3600, 0 = no limit)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="where process_file runs: local processes (default) or Ray actors")
    p.add_argument("--ray-address", help="with --engine ray: the cluster to join (host:port or ray://...); "
                   "default: a Ray instance started on this machine for the run")
    p.add_argument("--ray-cpus", type=float, default=1.0, help="with --engine ray: CPUs per actor (default 1)")
    p.add_argument("--ray-gpus", type=float, default=0.0,
                   help="with --engine ray: GPUs per actor (e.g. 0.25 shares one GPU by 4 actors; default 0 = CPU)")
    p.add_argument("--manifest", type=Path, help="a .csv or .parquet list of files (column 'path', relative to "
                   "INPUT or absolute), streamed instead of walking INPUT")
    p.add_argument("--model", type=Path, default=None, help=f"ONNX text detector (default {DEFAULT_MODEL.name})")
    p.add_argument("--detector-batch", type=int, default=None,
                   help="tiles per ONNX Runtime call (default: the model sidecar's batch, else 1; "
                        "outputs are the same)")
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
    p.add_argument("--query", action="append", default=[], metavar="KEY=VALUE",
                   help="with a PACS input: study filter, repeatable (StudyDate=20200101-20201231, Modality=US)")
    p.add_argument("--source-credentials", type=Path,
                   help="credentials file for a DICOMweb input (or MEDANON_SOURCE_USER/_PASSWORD)")
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
    if a.detector_batch is not None and a.detector_batch < 1:
        raise SystemExit("error: --detector-batch must be at least 1")
    if a.workers < 1:
        raise SystemExit("error: --workers must be at least 1")
    if a.max_decoded_mb < 1 or a.file_timeout < 0:
        raise SystemExit("error: --max-decoded-mb must be at least 1 and --file-timeout not negative")
    return RunOptions(profile=a.profile, formats=formats, drop=drop, model_path=a.model, audit=a.audit,
                      audit_max_frames=a.audit_max_frames or None, audit_flag_any_text=a.audit_flag_any_text,
                      lossy_reencode=a.lossy_reencode, max_decoded_mb=a.max_decoded_mb,
                      detector_batch=a.detector_batch,
                      detector_threads=max(1, (os.cpu_count() or 1) // a.workers))  # no oversubscription


def check_engine_args(a: argparse.Namespace) -> None:
    if a.engine != "ray" and (a.ray_address or a.ray_gpus):
        raise SystemExit("error: --ray-address and --ray-gpus need --engine ray")
    if a.ray_cpus <= 0 or a.ray_gpus < 0:
        raise SystemExit("error: --ray-cpus must be positive and --ray-gpus not negative")
    if a.manifest is not None and not a.manifest.is_file():
        raise SystemExit(f"error: --manifest {a.manifest} is not a file")
    from .storage.source import is_pacs_source
    if is_pacs_source(a.input) and a.manifest is not None:
        raise SystemExit("error: --manifest lists files; a PACS input is queried with --query")
    if (a.query or a.source_credentials) and not is_pacs_source(a.input):
        raise SystemExit("error: --query and --source-credentials need a PACS input (dicomweb+http://, dimse://)")
    if a.manifest is not None and not Path(a.input).is_dir():
        raise SystemExit("error: with --manifest, INPUT is the folder that relative manifest paths are under")


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
    from .pixels.templates import accepted_digest
    model = options.model_path or DEFAULT_MODEL
    model_id = hashlib.sha256(model.read_bytes()).hexdigest()[:12] if model.exists() else "no-model"
    key_id = Keyring(key).key_id
    fields = asdict(options)
    fields.pop("max_decoded_mb")  # a budget only quarantines: it changes no written output
    blob = json.dumps({**fields, "model_path": None, "detector_threads": None,  # threads change no output
                       "detector_batch": None,  # nor does batching (tests/test_detect_batch.py)
                       "model": model_id, "key": key_id, "code": code_version(),
                       # reviews count per file (review_fingerprints); accepted templates for every file
                       "reviews_path": None, "templates_dir": accepted_digest(options.templates_dir)}, sort_keys=True,
                      default=sorted)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    options = options_from_args(a)
    check_engine_args(a)
    quiet_libraries()
    from .storage.source import is_pacs_source
    pacs_input = is_pacs_source(a.input)
    out = a.output.resolve()
    audit_dir = (a.audit_dir or out.with_name(out.name + ".audit")).resolve()
    qdir = (a.quarantine_dir or out.with_name(out.name + ".quarantine")).resolve()
    src = audit_dir / "staging" if pacs_input else Path(a.input).resolve()  # a PACS is fetched study by study there
    if not pacs_input and not src.exists():
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
    from .review.apply import review_fingerprints, review_options
    try:
        options, reviews = review_options(options, a.reviews, a.templates, audit_dir)
    except ValueError as e:  # a review database or template that cannot be read: the user's to fix
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    fp = fingerprint(options, key)
    fp_by_source = review_fingerprints(fp, reviews)
    model = options.model_path or DEFAULT_MODEL
    if not model.exists():
        print(f"warning: text detector model {model} is missing: every image will be quarantined", file=sys.stderr)

    job = Job(source=src, manifest=a.manifest.resolve() if a.manifest else None, output=out, audit_dir=audit_dir,
              quarantine_dir=qdir, options=options, key=key, fingerprint=fp, force=a.force,
              file_timeout=a.file_timeout or None, fp_by_source=fp_by_source, reviews=reviews)
    engine = make_engine(a.engine, a.workers, ray_address=a.ray_address, ray_gpus=a.ray_gpus, ray_cpus=a.ray_cpus)

    def progress(total: int | None):
        return tqdm(total=total, unit="file", disable=a.quiet or not total, desc="anonymising", file=sys.stderr)

    from .storage.destination import PacsConfigError
    from .storage.retry import PacsError
    try:
        if pacs_input:
            from .storage.source import parse_query, run_from_pacs
            runner = run_from_pacs(a.input, parse_query(a.query), job, engine, progress,
                                   credentials_file=a.source_credentials,
                                   log=lambda m: print(m, file=sys.stderr))
        else:
            runner = engine.run(job, progress)
    except (ManifestError, PacsConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except PacsError as e:
        print(f"error: PACS input: {e}\n  nothing half-done is released; run again to resume", file=sys.stderr)
        return EXIT_FATAL
    except (OutputError, WorkerError) as e:
        print(f"error: {e}\n  the run stopped; nothing half-written is left in {out}; fix the cause (free disk "
              "space) and run the same command again to resume", file=sys.stderr)
        return EXIT_FATAL
    elapsed = runner.seconds
    trail = AuditTrail(audit_dir)

    extra = _storage_steps(a, out, audit_dir, runner)
    summary = {
        "input": a.input if pacs_input else str(src), "output": str(out), "audit": str(audit_dir),
        "quarantine": str(qdir),
        "files_in": runner.files_in, "counts": dict(runner.counts), "reasons": dict(runner.reasons.most_common()),
        "seconds": round(elapsed, 2),
        "files_per_s": round(runner.processed / elapsed, 2) if elapsed > 0 and runner.processed else None,
        "engine": a.engine,
        "key": key_note, "fingerprint": fp, **extra,
    }
    summary_path = trail.write_summary(summary)
    print_summary(summary, summary_path)
    if runner.counts.get("lost") or runner.counts.get("studies failed"):
        return EXIT_FATAL
    if "pacs_error" in summary:
        return EXIT_PUSH
    return EXIT_QUARANTINED if runner.counts["quarantined"] else EXIT_OK


def _storage_steps(a: argparse.Namespace, out: Path, audit_dir: Path, runner: Tally) -> dict:
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
        *([f"  studies      {c.get('studies done', 0)} done, {c.get('studies already done', 0)} already done, "
           f"{c.get('studies failed', 0)} failed (run again to fetch those)"]
          if any(k.startswith("studies") for k in c) else []),
        f"  written      {c.get('written', 0)}",
        f"  already done {c.get('already done', 0)}",
        f"  dropped      {c.get('dropped', 0)}",
        f"  skipped      {c.get('skipped', 0)} (not DICOM or DICOMDIR)",
        f"  quarantined  {c.get('quarantined', 0)}",
    ]
    if c.get("internal errors"):
        lines.append(f"    of which internal errors {c['internal errors']} (a bug, not a refusal by policy: "
                     "please report it with the trail record)")
    if c.get("lost"):
        lines.append(f"  lost         {c['lost']} (a worker died too often: not processed, run again to resume)")
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
