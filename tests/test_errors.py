"""One error hierarchy (issue 19.3): what must quarantine is NotReleasable, what the user fixes is ConfigError; the
run summary counts internal errors (bugs) apart from refusals; the auditor neither drops its text detectors nor
skips unreadable inputs silently."""
from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

import inference.audit.detectors as audit_detectors
import inference.pipeline as pipeline
from inference.audit.documents import DocumentError as AuditDocumentError
from inference.audit.options import AuditOptions
from inference.audit.runner import AuditConfig, run_audit
from inference.completeness import Incomplete
from inference.context import RunOptions
from inference.detect.detector import ModelError
from inference.documents import DocumentError
from inference.errors import ConfigError, NotReleasable, PacsError
from inference.header import HeaderError, ProfileError
from inference.identity import IdentityReadError
from inference.keys import Keyring, KeyError_
from inference.outputs import AuditTrail, Quarantine
from inference.pixels.errors import PixelError
from inference.pixels.templates import TemplateError
from inference.review.store import ReviewError
from inference.run import Runner, print_summary
from inference.storage.destination import PacsConfigError
from inference.storage.retry import PacsAuthError, PacsUnavailable
from test_run_cli import GSPS, make_object

KEYRING = Keyring(b"medanon-test-key-0123456789abcdef")


def test_the_hierarchy() -> None:
    for cls in (pipeline.Quarantined, HeaderError, PixelError, ModelError, Incomplete, IdentityReadError,
                DocumentError):
        assert issubclass(cls, NotReleasable), cls
    for cls in (ProfileError, KeyError_, TemplateError, PacsConfigError, ReviewError):
        assert issubclass(cls, ConfigError) and not issubclass(cls, NotReleasable), cls
    assert issubclass(PacsAuthError, PacsError) and issubclass(PacsUnavailable, PacsError)
    assert AuditDocumentError is DocumentError  # one DocumentError, the auditor's and the handlers'


def _write(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    make_object(GSPS, "1.2.3", "1.2.3.4").save_as(path, enforce_file_format=True)
    return path


def test_a_bug_is_an_internal_error_and_a_refusal_is_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    ctx = pipeline.Context(RunOptions(), KEYRING)
    good = _write(tmp_path, "ok.dcm")
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes(good.read_bytes()[:-40])
    refused = pipeline.process_file(truncated, "truncated.dcm", ctx)
    assert refused.status == "quarantined" and not refused.internal_error
    assert "internal_error" not in refused.record()

    def broken(ds: pydicom.Dataset) -> tuple[str, str]:
        raise TypeError("a bug in classify")
    monkeypatch.setattr(pipeline, "classify", broken)
    bug = pipeline.process_file(good, "ok.dcm", ctx)
    assert bug.status == "quarantined" and bug.internal_error and bug.outputs == []
    assert bug.record()["internal_error"] is True and "TypeError: a bug in classify" in bug.reason

    out = tmp_path / "out"
    for folder in (out, tmp_path / "audit", tmp_path / "q"):
        folder.mkdir()
    runner = Runner(out, AuditTrail(tmp_path / "audit"), Quarantine(tmp_path / "q"), "fp")
    runner.accept(refused, truncated, "d1")
    runner.accept(bug, good, "d2")
    assert runner.counts["quarantined"] == 2 and runner.counts["internal errors"] == 1
    assert [r for r in runner.reasons if r.startswith("internal error")] == [
        "internal error (quarantined): TypeError"]
    assert any(r.startswith("quarantined: truncated") for r in runner.reasons)
    summary = {"files_in": 2, "input": "in", "output": str(out), "audit": "a", "quarantine": "q", "key": "given",
               "counts": dict(runner.counts), "reasons": dict(runner.reasons)}
    print_summary(summary, tmp_path / "summary.json")
    assert "of which internal errors 1" in capsys.readouterr().err


def test_the_audit_fails_when_its_text_detector_cannot_be_built(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise TypeError("contract changed")
    audit_detectors._textdeid_finder.cache_clear()
    monkeypatch.setattr(audit_detectors, "TextDeidentifier", refuse)
    try:
        with pytest.raises(TypeError, match="contract changed"):
            audit_detectors.find_generic("Jonas Petraitis")
    finally:
        audit_detectors._textdeid_finder.cache_clear()
        monkeypatch.undo()
    assert any(h.kind == "textdeid:name" for h in audit_detectors.find_generic("Jonas Petraitis"))


def test_an_unreadable_input_is_reported_and_the_audit_does_not_pass(tmp_path: Path) -> None:
    against, output = tmp_path / "in", tmp_path / "out"
    against.mkdir()
    original = _write(against, "ok.dcm")
    ctx = pipeline.Context(RunOptions(), KEYRING)
    result = pipeline.process_file(original, "ok.dcm", ctx)
    assert result.status == "written"
    (output / "x").mkdir(parents=True)
    (output / "x" / "ok.dcm").write_bytes(result.outputs[0].data)
    config = AuditConfig(output=output, against=against, options=AuditOptions(check_pixels=False))
    assert run_audit(config).passed

    # a damaged input (first 200 bytes lost): named .dcm, no longer readable as DICOM
    (against / "broken.dcm").write_bytes(original.read_bytes()[200:])
    run = run_audit(config)
    assert [rel for rel, _ in run.unread_inputs] == ["broken.dcm"]
    assert not run.passed and run.flagged == 0  # nothing flagged, yet not shown clean
