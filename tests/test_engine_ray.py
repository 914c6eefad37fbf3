"""--engine ray on a real two-node Ray cluster on this machine: the local engine's bytes, a killed worker loses
and duplicates nothing, a 1,000-entry manifest is streamed with bounded tasks in flight."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from ray_fixture import ENV as RAY_ENV
from ray_fixture import ray_cluster  # noqa: F401  (the fixture)
from scale_fixtures import SAMPLES, sample_input, tree_digest

pytestmark = pytest.mark.ray
ROOT = Path(__file__).resolve().parents[1]
KEY = "9e1d3b5f7a2c4e6a8c0e2a4c6e8a0c2e"


def _run(*args: str, wait: bool = True):
    cmd = [sys.executable, "-m", "inference.run", *args, "--quiet"]
    env = {**os.environ, "MEDANON_KEY": KEY, **RAY_ENV}
    if not wait:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _summary(audit: Path) -> dict:
    return json.loads(sorted(audit.glob("summary-*.json"))[-1].read_text())


def _trail(audit: Path) -> list[dict]:
    return [json.loads(line) for p in sorted(audit.glob("trail*.jsonl")) for line in p.open() if line.strip()]


def test_ray_outputs_are_byte_identical_to_the_local_engine(ray_cluster, shared_dicom, tmp_path):
    src = sample_input(tmp_path / "in", shared_dicom)
    (src / "notes.txt").write_text("not DICOM")
    cut = (shared_dicom / SAMPLES["CT"]).read_bytes()
    (src / "cut.dcm").write_bytes(cut[: len(cut) // 2])                 # truncated: quarantined by both engines
    local = _run(str(src), str(tmp_path / "local"))
    assert local.returncode == 3, local.stderr[-2000:]
    ray = _run(str(src), str(tmp_path / "ray"), "--engine", "ray", "--ray-address", ray_cluster.address,
               "--workers", "2")
    assert ray.returncode == 3, ray.stderr[-3000:]
    assert tree_digest(tmp_path / "ray") == tree_digest(tmp_path / "local")
    assert sorted(p.name for p in (tmp_path / "ray.quarantine").rglob("*")) == \
        sorted(p.name for p in (tmp_path / "local.quarantine").rglob("*"))
    s_local, s_ray = _summary(tmp_path / "local.audit"), _summary(tmp_path / "ray.audit")
    assert s_ray["counts"] == s_local["counts"] and s_ray["reasons"] == s_local["reasons"]
    assert s_ray["files_in"] == s_local["files_in"] == 7 and s_ray["engine"] == "ray"
    shards = sorted(p.name for p in (tmp_path / "ray.audit").glob("trail*.jsonl"))
    assert shards == ["trail-ray000.jsonl", "trail-ray001.jsonl"]      # one actor per node (1 CPU each)
    assert Counter(r["source"] for r in _trail(tmp_path / "ray.audit")) == \
        Counter(r["source"] for r in _trail(tmp_path / "local.audit"))
    # the same summary block on stderr
    assert "medanon: 7 files found under" in ray.stderr and "written      5" in ray.stderr


def _distinct_instances(folder: Path, shared_dicom: Path, n: int) -> Path:
    """n real CT/US files, each with its own SOP Instance UID (mutated copies of shared samples)."""
    folder.mkdir(parents=True)
    for i in range(n):
        ds = pydicom.dcmread(shared_dicom / SAMPLES["CT" if i % 2 else "US"])
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.save_as(folder / f"{i:03d}.dcm", enforce_file_format=True)
    return folder


def test_killing_a_worker_mid_run_loses_nothing_and_duplicates_nothing(ray_cluster, shared_dicom, tmp_path):
    n = 24
    src = _distinct_instances(tmp_path / "in", shared_dicom, n)
    out, audit = tmp_path / "out", tmp_path / "out.audit"
    proc = _run(str(src), str(out), "--engine", "ray", "--ray-address", ray_cluster.address, "--workers", "2",
                wait=False)
    killed, at_kill = None, 0
    try:
        deadline = time.time() + 180
        while time.time() < deadline and proc.poll() is None:
            at_kill = len(_trail(audit))
            if at_kill >= 4 and ray_cluster.actor_pids():
                killed = ray_cluster.actor_pids()[0]
                os.kill(killed, signal.SIGKILL)                           # a worker dies mid-run
                break
            time.sleep(0.2)
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert killed is not None, "the run ended before a worker could be killed"
    assert at_kill < n - 2, "killed too late to matter"
    if proc.returncode != 0:                                             # a re-run completes what is missing
        again = _run(str(src), str(out), "--engine", "ray", "--ray-address", ray_cluster.address, "--workers", "2")
        assert again.returncode == 0, again.stderr[-3000:]
    else:
        assert "lost" not in _summary(audit)["counts"]
    records = _trail(audit)
    per_source = Counter(r["source"] for r in records)
    assert set(per_source) == {f"{i:03d}.dcm" for i in range(n)}         # nothing lost
    assert set(per_source.values()) == {1}, per_source                   # nothing done twice
    assert {r["status"] for r in records} == {"written"}
    assert len(list(out.rglob("*.dcm"))) == n
    assert not list(out.rglob("*.medanon-tmp"))
    ref = _run(str(src), str(tmp_path / "ref"))
    assert ref.returncode == 0 and tree_digest(out) == tree_digest(tmp_path / "ref")


def test_two_inputs_with_one_uid_meet_the_local_rule_across_actors(ray_cluster, shared_dicom, tmp_path):
    """Two inputs with one SOP Instance UID and different pixels, on two actors at once: one is written and the
    other quarantined, as the local engine does (outputs.Claims, shared through the audit folder), never a new UID
    or an overwrite; the run's claims are gone afterwards."""
    src = tmp_path / "in"
    src.mkdir()
    for name, value in (("a.dcm", 0), ("b.dcm", 200)):
        ds = pydicom.dcmread(shared_dicom / SAMPLES["CT"])
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.77"
        arr = ds.pixel_array.copy()
        arr[:8, :8] = value                                               # different content, one UID
        ds.PixelData = arr.tobytes()
        ds.save_as(src / name, enforce_file_format=True)
    for engine in (["--engine", "ray", "--ray-address", ray_cluster.address, "--workers", "2"], []):
        out = tmp_path / ("ray" if engine else "local")
        run = _run(str(src), str(out), *engine)
        assert run.returncode == 3, run.stderr[-3000:]
        records = _trail(out.with_name(out.name + ".audit"))
        assert sorted(r["status"] for r in records) == ["quarantined", "written"], records
        assert [r["reason"] for r in records if r["status"] == "quarantined"] == \
            ["same SOP Instance UID as another input file of this run but different content"]
        assert len(list(out.rglob("*.dcm"))) == 1
        assert not (out.with_name(out.name + ".audit") / "claims").exists()


def test_a_1000_entry_manifest_is_streamed_with_bounded_tasks_in_flight(ray_cluster, shared_dicom, tmp_path):
    import ray
    from inference.context import RunOptions
    from inference.engines import ray as ray_engine
    from inference.engines.common import Job
    from inference.run import fingerprint
    from inference import sources

    src = sample_input(tmp_path / "in", shared_dicom, copies=200, kinds=("SR",))   # header-only: fast
    for i in range(800):
        os.symlink(shared_dicom / SAMPLES["SR"], src / "SR" / f"x{i:04d}.dcm")
    manifest = tmp_path / "m.csv"
    with open(manifest, "w") as f:
        f.write("path\n" + "".join(f"SR/{p.name}\n" for p in sorted((src / "SR").iterdir())))
    assert sum(1 for _ in open(manifest)) == 1001
    out = tmp_path / "out"
    audit, qdir = tmp_path / "out.audit", tmp_path / "out.quarantine"
    for d in (out, audit, qdir):
        d.mkdir()
    key = KEY.encode()
    options = RunOptions()
    job = Job(source=src, manifest=manifest, output=out, audit_dir=audit, quarantine_dir=qdir, options=options,
              key=key, fingerprint=fingerprint(options, key))
    engine = ray_engine.RayEngine(actors=2, address=ray_cluster.address, in_flight=2)
    limit = engine.in_flight * engine.actors
    lags: list[int] = []
    real_entries = sources.entries

    def watched(*a, **kw):
        for k, e in enumerate(real_entries(*a, **kw)):
            if k % 50 == 0:   # pulled k entries: at most `limit` of them can still be unfinished
                lags.append(k - len(_trail(audit)))
            yield e
    ray_engine.entries = watched
    try:
        tally = engine.run(job, lambda total: _Bar(total))
    finally:
        ray_engine.entries = real_entries
    assert not ray.is_initialized()
    assert tally.files_in == 1000 and tally.counts["written"] == 1000
    assert len(_trail(audit)) == 1000
    assert lags and max(lags) <= limit, lags                       # backpressure: never more in flight
    assert _Bar.last_total == 1000 and _Bar.updates == 1000


class _Bar:
    last_total = None
    updates = 0

    def __init__(self, total):
        _Bar.last_total, _Bar.updates = total, 0

    def update(self, n):
        _Bar.updates += n

    def set_postfix(self, **kw):
        pass

    def close(self):
        pass
