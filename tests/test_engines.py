"""The engine interface without a cluster: sharded trail, resume across engines, manifests streamed in chunks."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from inference.context import RunOptions
from inference.engines.common import FileWorker, Job
from inference.outputs import AuditTrail
from inference.run import EXIT_OK, EXIT_USAGE, fingerprint, main
from inference import sources
from scale_fixtures import sample_input, tree_digest

ROOT = Path(__file__).resolve().parents[1]
KEY = b"3f9c1e7a5b2d4c6e8f0a1b3c5d7e9f21"


def _job(src: Path, out: Path, manifest: Path | None = None) -> Job:
    options = RunOptions(detector_threads=1)
    return Job(source=src, manifest=manifest, output=out, audit_dir=out.with_name(out.name + ".audit"),
               quarantine_dir=out.with_name(out.name + ".quarantine"), options=options, key=KEY,
               fingerprint=fingerprint(options, KEY))


def test_sharded_workers_write_what_the_local_engine_writes_and_resume_reads_every_shard(tmp_path, shared_dicom,
                                                                                         monkeypatch):
    src = sample_input(tmp_path / "in", shared_dicom, kinds=("CT", "SR", "US"))
    (src / "notes.txt").write_text("not DICOM")
    monkeypatch.setenv("MEDANON_KEY", KEY.decode())
    assert main([str(src), str(tmp_path / "local"), "--quiet"]) == EXIT_OK

    job = _job(src, tmp_path / "dist")
    for folder in job.excluded:
        folder.mkdir()
    workers = [FileWorker(job, "w0"), FileWorker(job, "w1")]
    deltas = [workers[i % 2].handle(e) for i, e in enumerate(sources.entries(src, None, job.excluded))]
    assert sum(d["counts"].get("written", 0) for d in deltas) == 3
    assert sum(d["counts"].get("skipped", 0) for d in deltas) == 1
    assert tree_digest(tmp_path / "dist") == tree_digest(tmp_path / "local")   # byte-identical outputs
    shards = sorted(p.name for p in job.audit_dir.glob("trail*.jsonl"))
    assert shards == ["trail-w0.jsonl", "trail-w1.jsonl"]
    assert len(list(AuditTrail(job.audit_dir).records())) == 4

    # the local engine resumes from the shards: nothing is done twice, nothing is appended for done files
    rc = subprocess.run([sys.executable, "-m", "inference.run", str(src), str(job.output), "--quiet",
                         "--audit-dir", str(job.audit_dir), "--quarantine-dir", str(job.quarantine_dir)],
                        cwd=ROOT, capture_output=True, text=True, env={**__import__("os").environ,
                                                                         "MEDANON_KEY": KEY.decode()})
    assert rc.returncode == EXIT_OK, rc.stderr[-2000:]
    summary = json.loads(sorted(job.audit_dir.glob("summary-*.json"))[-1].read_text())
    assert summary["counts"].get("already done") == 3 and "written" not in summary["counts"]
    # and a restarted worker (new process, same shard) also sees the other shard's work as done
    again = FileWorker(job, "w0")
    assert all(again.handle(e)["counts"].get("already done", 0) == 1
               for e in sources.entries(src, None, job.excluded) if e.path.suffix == ".dcm")


def test_a_record_cut_by_a_killed_writer_does_not_swallow_the_next_one(tmp_path):
    trail = AuditTrail(tmp_path, shard="w0")
    trail.append({"source": "a.dcm", "status": "written"})
    with open(trail.path, "a", encoding="utf-8") as f:
        f.write('{"source": "b.dcm", "sta')           # the process died here
    trail.append({"source": "c.dcm", "status": "written"})
    assert [r["source"] for r in trail.records()] == ["a.dcm", "c.dcm"]   # b is simply done again


def test_manifest_csv_and_parquet_are_streamed_in_chunks(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq
    root = tmp_path / "in"
    root.mkdir()
    values = [f"p/{i}.dcm" for i in range(10)] + [str(root / "abs.dcm"), f"file://{root}/uri.dcm",
                                                  "s3://bucket/x.dcm", str(tmp_path / "out" / "mine.dcm"), ""]
    with open(tmp_path / "m.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "note"])
        w.writerows([v, "x"] for v in values)
    pq.write_table(pa.table({"path": values, "note": ["x"] * len(values)}), tmp_path / "m.parquet", row_group_size=4)
    seen_batches = []
    real = pq.ParquetFile.iter_batches

    def spy(self, *a, **kw):
        for b in real(self, *a, **kw):
            seen_batches.append(b.num_rows)
            yield b
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    monkeypatch.setattr(sources, "CHUNK_ROWS", 3)
    excluded = [tmp_path / "out"]
    for m in ("m.csv", "m.parquet"):
        got = list(sources.manifest_entries(tmp_path / m, root, excluded))
        assert [e.relpath for e in got[:10]] == [f"p/{i}.dcm" for i in range(10)]
        assert got[0].path == root / "p/0.dcm"
        assert got[10].relpath == "abs.dcm" and got[11].relpath == "uri.dcm"
        assert got[12].problem.startswith("unsupported URI scheme 's3'")
        assert len(got) == 13                                   # the run's own output and blank rows left out
    assert seen_batches and max(seen_batches) <= 3 and sum(seen_batches) == len(values)


def test_run_from_a_manifest_skips_what_it_cannot_read_and_refuses_a_manifest_without_paths(
        tmp_path, shared_dicom, monkeypatch):
    src = sample_input(tmp_path / "in", shared_dicom, kinds=("SR", "CT"))
    manifest = tmp_path / "m.csv"
    manifest.write_text("path\nSR/0000.dcm\ns3://bucket/x.dcm\nmissing.dcm\n")   # CT/ not listed: not read
    monkeypatch.setenv("MEDANON_KEY", KEY.decode())
    assert main([str(src), str(tmp_path / "out"), "--manifest", str(manifest), "--quiet"]) == EXIT_OK
    summary = json.loads(sorted((tmp_path / "out.audit").glob("summary-*.json"))[-1].read_text())
    assert summary["files_in"] == 3 and summary["counts"] == {"written": 1, "skipped": 2}
    assert len(list((tmp_path / "out" / "dicom").rglob("*.dcm"))) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("file\nSR/0000.dcm\n")
    assert main([str(src), str(tmp_path / "out2"), "--manifest", str(bad), "--quiet"]) == EXIT_USAGE
    with pytest.raises(SystemExit):
        main([str(src / "SR" / "0000.dcm"), str(tmp_path / "out3"), "--manifest", str(manifest)])


def test_output_claims_are_shared_through_the_folder(tmp_path):
    """outputs.Claims: two workers (two instances on one folder, as two Ray actors on one shared file system) can
    never both hold one output path; a released claim can be taken again; in memory it behaves the same."""
    from inference.outputs import Claims

    for a, b in ((Claims(tmp_path / "c"), Claims(tmp_path / "c")), (shared := Claims(None), shared)):
        one, two = ("one.dcm", "d1"), ("two.dcm", "d2")
        assert a.claim("P/ST/SE/x.dcm", *one) == one
        assert b.claim("P/ST/SE/x.dcm", *two) == one                    # held by the first, with its digest
        assert a.claim("P/ST/SE/x.dcm", *one) == one                    # a retry of the holder is no clash
        b.release("P/ST/SE/x.dcm", "two.dcm")                           # not its claim: nothing happens
        assert b.claim("P/ST/SE/x.dcm", *two) == one
        a.release("P/ST/SE/x.dcm", "one.dcm")
        assert b.claim("P/ST/SE/x.dcm", *two) == two
    assert not list((tmp_path / "c").glob("*.tmp"))


def test_a_byte_equal_duplicate_is_no_clash_before_its_twin_is_written(tmp_path):
    """Two actors of one run hold twins (same SOP Instance UID, same bytes): the second must not be quarantined
    because the first has claimed the path but not written the file yet (CI saw 1 of 1,000 twins quarantined);
    other bytes under the same path stay a clash."""
    from inference.context import FileResult, OutputFile
    from inference.engines.common import Runner
    from inference.outputs import AuditTrail, Claims, Quarantine

    out, audit = tmp_path / "out", tmp_path / "audit"
    out.mkdir()
    audit.mkdir()
    runners = [Runner(out, AuditTrail(audit, shard=s), Quarantine(tmp_path / "q"), "fp", claims=Claims(audit / "c"))
               for s in ("a", "b")]

    def result(source, data):
        return FileResult(source=source, status="written", outputs=[OutputFile("P/x.dcm", data, "dicom")])

    assert not runners[0]._clash(result("one.dcm", b"same"))
    assert not (out / "P" / "x.dcm").exists()                      # claimed, not written yet
    assert not runners[1]._clash(result("twin.dcm", b"same"))
    assert runners[1]._clash(result("other.dcm", b"different"))
