"""Bounded, seeded fuzz run (issue 20): 200 mutants (truncations, bit flips, changed bytes) of 10 varied shared
files through the real command. No crash or hang of the batch, every input written or quarantined with a reason,
no original PatientName / PatientID bytes in any output, inputs unchanged. benchmarks/fuzz_long.py runs more."""
from __future__ import annotations

from pathlib import Path

from fuzz_fixtures import CATEGORIES, make_corpus, run_and_check

SEED, PER_FILE = 20, 20


def test_fuzzed_shared_files_fail_closed(tmp_path: Path):
    origin = make_corpus(tmp_path / "in", PER_FILE, SEED)
    assert len(origin) == 200
    report = run_and_check(tmp_path / "in", tmp_path / "out", origin, workers=2, timeout=240, file_timeout=60)
    print(report.table(), f"\n{report.seconds:.1f} s")
    breaches = {c: report.examples.get(c, [])[:5] for c in CATEGORIES if report.counts[c]}
    assert not breaches, breaches
    assert report.statuses["written"] > 0 and report.statuses["quarantined"] > 0  # both outcomes were exercised


def test_discovery_never_raises_on_mutants(tmp_path: Path):
    """The walk runs in the batch process itself: a file it cannot classify must never stop it (the long run
    found a mutant whose lazily converted SOP Class UID raised after the parse)."""
    from inference.discover import sniff
    origin = make_corpus(tmp_path / "in", 100, 3)
    for name in origin:
        kind, detail = sniff(tmp_path / "in" / name)
        assert kind in ("dicom", "not-dicom", "dicomdir", "unreadable") and (kind == "dicom" or detail)
