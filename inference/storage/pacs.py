"""Push the anonymised DICOM of an OUTPUT tree to a PACS, verify every instance, and never lose one.

Each instance goes pending -> sent -> verified in a ledger beside OUTPUT (see ledger.py). Batches are sent by
DICOMweb STOW-RS (http(s):// URL) or C-STORE (dicom://AET@host:port), retried with exponential back-off, then read
back (QIDO-RS or C-FIND). Verified instances are never sent again; when the PACS goes away the files stay in OUTPUT
and `--resume` sends what did not arrive.

    python -m inference.storage.pacs push OUTPUT --pacs http://127.0.0.1:8042/dicom-web --credentials-file F
    python -m inference.storage.pacs push OUTPUT --pacs dicom://ORTHANC@127.0.0.1:4242 --resume
    python -m inference.storage.pacs status OUTPUT --pacs URL
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol, Sequence

import pydicom
from tqdm import tqdm

from .destination import (DEFAULT_CALLING_AET, Credentials, Destination, PacsConfigError, load_credentials,
                          parse_destination)
from .ledger import LEDGER_NAME, Instance, PushLedger
from .retry import PacsAuthError, PacsError, PacsUnavailable, RetryPolicy, with_retries
from .tree import iter_dicom_files

MISSING_ON_READBACK = "accepted but not found on the PACS when read back"
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_UNAVAILABLE, EXIT_AUTH = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class PushOptions:
    batch_size: int = 50                     # instances per STOW-RS request / C-STORE association
    batch_bytes: int = 64 * 1024 * 1024      # and at most this many bytes per STOW-RS request
    retry: RetryPolicy = RetryPolicy()
    calling_aet: str = DEFAULT_CALLING_AET   # C-STORE only
    timeout_s: float = 120.0
    ca_bundle: str | None = None             # https only: a private CA for the hospital PACS


@dataclass
class PushReport:
    destination: str
    ledger: str
    found: int = 0            # instances in OUTPUT (0 on --resume: OUTPUT is not scanned again)
    new: int = 0              # of which first seen by this push
    sent: int = 0             # accepted by the PACS during this push
    verified_now: int = 0     # read back during this push
    states: dict[str, int] = field(default_factory=dict)   # ledger totals after the push
    unreadable: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return self.states.get("verified", 0) == sum(self.states.values()) and not self.unreadable

    def as_dict(self) -> dict:
        d = asdict(self)
        d["unreadable"] = len(self.unreadable)
        d["instances_per_s"] = round(self.sent / self.seconds, 2) if self.seconds > 0 else None
        return d


class PacsClient(Protocol):
    def check(self) -> None: ...
    def send(self, output: Path, batch: list[Instance]) -> dict[str, str | None]: ...
    def present(self, batch: list[Instance]) -> set[str]: ...
    def close(self) -> None: ...


def ledger_path(output: Path, ledger_dir: Path | None = None) -> Path:
    """The ledger lives with the audit trail (OUTPUT.audit by default), never inside OUTPUT."""
    output = Path(output).resolve()
    return Path(ledger_dir or output.with_name(output.name + ".audit")) / LEDGER_NAME


def scan_output(output: Path) -> tuple[list[Instance], list[str]]:
    """Every DICOM under OUTPUT/dicom with the UIDs the push needs; files that cannot be read are listed apart."""
    return read_instances(output, iter_dicom_files(output))


def read_instances(output: Path, paths: Iterable[Path]) -> tuple[list[Instance], list[str]]:
    """The given DICOM files of OUTPUT with the UIDs the push needs; files that cannot be read are listed apart."""
    instances, unreadable = [], []
    for path in paths:
        rel = path.relative_to(output).as_posix()
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True,
                                 specific_tags=["SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"])
            instances.append(Instance(str(ds.SOPInstanceUID), str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID),
                                      rel))
        except (OSError, AttributeError, pydicom.errors.InvalidDicomError):
            unreadable.append(rel)
    return instances, unreadable


def batches(items: Sequence[Instance], output: Path, size: int, max_bytes: int) -> Iterator[list[Instance]]:
    """Consecutive batches of at most `size` instances and `max_bytes` bytes (one big file still goes alone)."""
    batch: list[Instance] = []
    nbytes = 0
    for item in items:
        n = (output / item.relpath).stat().st_size
        if batch and (len(batch) >= size or nbytes + n > max_bytes):
            yield batch
            batch, nbytes = [], 0
        batch.append(item)
        nbytes += n
    if batch:
        yield batch


def open_client(dest: Destination, credentials: Credentials | None, options: PushOptions) -> PacsClient:
    if dest.kind == "stow":
        from .dicomweb import StowClient
        return StowClient(dest, credentials, timeout_s=options.timeout_s, ca_bundle=options.ca_bundle)
    from .cstore import CStoreClient
    return CStoreClient(dest, calling_aet=options.calling_aet, timeout_s=options.timeout_s)


def push(output: Path, pacs: str, *, credentials_file: Path | None = None, credentials: Credentials | None = None,
         ledger_dir: Path | None = None, resume: bool = False, options: PushOptions = PushOptions(),
         on_batch: Callable[[PushReport], None] | None = None, new_files: Sequence[str] = ()) -> PushReport:
    """Push OUTPUT/dicom to `pacs`. Raises PacsConfigError (bad URL/credentials), PacsAuthError (refused),
    PacsUnavailable (unreachable after retries; the ledger keeps what is left for `resume=True`).

    new_files: OUTPUT-relative paths written since the last push (a run's own outputs): registered even on
    resume, which does not scan OUTPUT, so they are sent too."""
    t0 = time.perf_counter()
    output = Path(output)
    dest = parse_destination(pacs)
    if dest.kind == "stow" and credentials is None:
        credentials = load_credentials(credentials_file)
    elif dest.kind == "cstore" and credentials_file is not None:
        print("pacs: note: C-STORE has no passwords; --credentials-file is ignored for dicom:// URLs",
              file=sys.stderr)
    lpath = ledger_path(output, ledger_dir)
    report = PushReport(destination=dest.url, ledger=str(lpath))
    with PushLedger(lpath) as ledger:
        if resume:
            if new_files:
                found, report.unreadable = read_instances(output, (output / rel for rel in new_files))
                report.found = len(found)
                report.new = ledger.add(dest.url, found)
            if ledger.total(dest.url) == 0:
                raise PacsError(f"nothing to resume: no push to {dest.url} is recorded in {lpath}")
        else:
            if not (output / "dicom").is_dir():
                raise PacsError(f"no dicom/ folder under {output}: nothing to push")
            found, report.unreadable = scan_output(output)
            report.found = len(found)
            report.new = ledger.add(dest.url, found)
        client = open_client(dest, credentials, options)
        try:
            _run(client, ledger, dest, output, options, report, on_batch)
        except PacsUnavailable as e:
            report.states = ledger.counts(dest.url)
            raise PacsUnavailable(
                f"{e}. {report.states['verified']} of {sum(report.states.values())} instances are verified on the "
                f"PACS; nothing is lost: the files stay in {output} and the ledger {lpath} keeps track. Run the "
                "same push again with --resume when the PACS is back.") from e
        finally:
            client.close()
        report.states = ledger.counts(dest.url)
    report.seconds = time.perf_counter() - t0
    return report


def _run(client: PacsClient, ledger: PushLedger, dest: Destination, output: Path, options: PushOptions,
         report: PushReport, on_batch: Callable[[PushReport], None] | None) -> None:
    retry = options.retry
    with_retries(client.check, retry, f"connecting to {dest.url}")
    # Sent by an earlier, interrupted push but never read back: look before sending again.
    unverified = ledger.instances(dest.url, ["sent"])
    for start in range(0, len(unverified), options.batch_size):
        batch = unverified[start:start + options.batch_size]
        there = with_retries(partial(client.present, batch), retry, "read-back")
        ledger.mark(dest.url, there, "verified")
        ledger.mark(dest.url, [i.sop_uid for i in batch if i.sop_uid not in there], "pending")
        report.verified_now += len(there)
    todo = ledger.instances(dest.url, ["pending", "failed"])
    gone = [i for i in todo if not (output / i.relpath).is_file()]
    if gone:
        ledger.mark(dest.url, [i.sop_uid for i in gone], "failed", "file missing from OUTPUT")
        todo = [i for i in todo if (output / i.relpath).is_file()]
    progress = tqdm(total=len(todo), unit="inst", desc="pacs push", disable=not sys.stderr.isatty())
    for batch in batches(todo, output, options.batch_size, options.batch_bytes):
        outcome = with_retries(partial(client.send, output, batch), retry, f"sending {len(batch)} instances")
        accepted = [i for i in batch if outcome.get(i.sop_uid) is None]
        ledger.mark(dest.url, [i.sop_uid for i in accepted], "sent", attempt=True)
        for item in batch:
            if outcome.get(item.sop_uid) is not None:
                ledger.mark(dest.url, [item.sop_uid], "failed", outcome[item.sop_uid], attempt=True)
        there = with_retries(partial(client.present, accepted), retry, "read-back") if accepted else set()
        ledger.mark(dest.url, there, "verified")
        ledger.mark(dest.url, [i.sop_uid for i in accepted if i.sop_uid not in there], "failed", MISSING_ON_READBACK)
        report.sent += len(accepted)
        report.verified_now += len(there)
        progress.update(len(batch))
        if on_batch is not None:
            on_batch(report)
    progress.close()


def push_output(output: Path, pacs: str, *, credentials_file: Path | None = None, ledger_dir: Path | None = None,
                resume: bool = False, options: PushOptions = PushOptions(), new_files: Sequence[str] = ()) -> dict:
    """Entry point for inference.run: push() as a JSON-ready summary (raises PacsError subclasses like push())."""
    return push(output, pacs, credentials_file=credentials_file, ledger_dir=ledger_dir, resume=resume,
                options=options, new_files=new_files).as_dict()


# ---- CLI --------------------------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m inference.storage.pacs",
                                description="Push anonymised DICOM from OUTPUT to a PACS and verify every instance.")
    sub = p.add_subparsers(dest="command", required=True)
    for name, text in (("push", "send what is not yet verified on the PACS"), ("status", "show the ledger")):
        s = sub.add_parser(name, help=text)
        s.add_argument("output", type=Path, help="the pipeline's OUTPUT folder (with dicom/)")
        s.add_argument("--pacs", required=True,
                       help="http(s)://host:port/dicom-web (STOW-RS) or dicom://AET@host:port (C-STORE)")
        s.add_argument("--ledger-dir", type=Path, help="folder of pacs_ledger.sqlite (default OUTPUT.audit)")
    s = sub.choices["push"]
    s.add_argument("--credentials-file", type=Path,
                   help="user:password or JSON; else MEDANON_PACS_USER / MEDANON_PACS_PASSWORD")
    s.add_argument("--resume", action="store_true", help="send only what an earlier push left unverified")
    s.add_argument("--batch-size", type=int, default=PushOptions.batch_size)
    s.add_argument("--retries", type=int, default=RetryPolicy.attempts, help="tries per request (back-off 1, 2, 4 s..)")
    s.add_argument("--calling-aet", default=DEFAULT_CALLING_AET, help="our AE title for C-STORE")
    s.add_argument("--ca-bundle", help="CA certificate file for an https PACS with a private CA")
    return p.parse_args(argv)


def _print_states(report: PushReport) -> None:
    st = report.states
    print(f"pacs: {report.destination}: {st.get('verified', 0)} verified, {st.get('sent', 0)} sent, "
          f"{st.get('pending', 0)} pending, {st.get('failed', 0)} failed (ledger {report.ledger})", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    a = parse_args(argv)
    try:
        if a.command == "status":
            dest = parse_destination(a.pacs)
            lpath = ledger_path(a.output, a.ledger_dir)
            with PushLedger(lpath) as ledger:
                report = PushReport(destination=dest.url, ledger=str(lpath), states=ledger.counts(dest.url))
                errors = ledger.errors(dest.url)
            _print_states(report)
            for rel, err in errors:
                print(f"  failed: {rel}: {err}", file=sys.stderr)
            return EXIT_OK if report.complete else EXIT_FAILED
        options = PushOptions(batch_size=a.batch_size, retry=RetryPolicy(attempts=max(1, a.retries)),
                              calling_aet=a.calling_aet, ca_bundle=a.ca_bundle)
        report = push(a.output, a.pacs, credentials_file=a.credentials_file, ledger_dir=a.ledger_dir,
                      resume=a.resume, options=options)
    except PacsConfigError as e:
        print(f"pacs: error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except PacsAuthError as e:
        print(f"pacs: error: {e}", file=sys.stderr)
        return EXIT_AUTH
    except PacsUnavailable as e:
        print(f"pacs: error: {e}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except PacsError as e:
        print(f"pacs: error: {e}", file=sys.stderr)
        return EXIT_FAILED
    _print_states(report)
    print(f"pacs: {report.sent} instances sent, {report.verified_now} verified in {report.seconds:.1f} s",
          file=sys.stderr)
    for rel in report.unreadable[:10]:
        print(f"  not a readable DICOM, not pushed: {rel}", file=sys.stderr)
    return EXIT_OK if report.complete else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
