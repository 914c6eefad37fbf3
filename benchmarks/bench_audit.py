"""Audit: detection rates of the planted-leak experiment at a larger scale, and throughput.

    nice -n 15 python3 benchmarks/bench_audit.py [--n 40] [--seed 31] [--data SYNTH_DIR] [--fixture]

Data: synth/ images (generated into a temp folder, or an existing --data folder), or the audit tests' own planted
set (--fixture). Each image is processed by the correct and the three broken test redactors
(tests/audit_fixtures.py) and audited with audit_dataset against its original. Prints, per redactor, the share of
files flagged (correct: should be < 1 %; broken: >= 99 %), then throughput on the correct outputs: files/s
(wall, this machine's load included) and files per CPU second, seconds per frame, and the ratio to a
headers-only audit. Single process; the OCR engine uses 2 threads ($MEDANON_OCR_THREADS).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pydicom

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from audit_fixtures import MODES_BROKEN, Planted, make_set, redact  # noqa: E402

from inference.audit import AuditOptions, audit_dataset  # noqa: E402


def synth_cases(folder: Path | None, n: int, seed: int) -> list[Planted]:
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="bench_audit_"))
        subprocess.run([sys.executable, "-m", "synth.generate", "--out", str(folder), "--n", str(n), "--seed",
                        str(seed), "--workers", "1", "--documents-every", "100000"], check=True, cwd=ROOT)
    images = sorted((folder / "images").glob("*.dcm"))[:n]
    return [Planted(p.stem, p, folder / "gt" / f"{p.stem}.json") for p in images]


def run_mode(cases: list[Planted], mode: str, options: AuditOptions) -> dict:
    flagged, misses, frames = 0, [], 0
    wall = cpu = 0.0
    for c in cases:
        original = pydicom.dcmread(c.path)
        released = redact(c, mode)
        w0, c0 = time.perf_counter(), time.process_time()
        result = audit_dataset(released, original, options)
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
        frames += result.frames_checked
        flagged += result.flagged
        if result.flagged == (mode == "correct"):
            misses.append(f"{c.id}: {result.reasons[:3]}")
    return {"mode": mode, "files": len(cases), "flagged": flagged, "rate": flagged / len(cases), "frames": frames,
            "wall_s": wall, "cpu_s": cpu, "misses": misses}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=31)
    ap.add_argument("--data", type=Path, help="an existing synth/ output folder")
    ap.add_argument("--fixture", action="store_true", help="the audit tests' planted set instead of synth/")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    a = ap.parse_args()
    if a.fixture:
        cases = make_set(Path(tempfile.mkdtemp(prefix="bench_audit_fx_")), a.n, a.seed)
    else:
        cases = synth_cases(a.data, a.n, a.seed)
    print(f"{len(cases)} files ({'planted fixture' if a.fixture else 'synth/'}), seed {a.seed}")
    rows = []
    for mode in ("correct",) + MODES_BROKEN:
        from inference.audit import pixels
        pixels._CACHE.clear()   # no OCR reuse between redactors: each mode pays its own reading
        r = run_mode(cases, mode, AuditOptions())
        rows.append(r)
        want = "< 1 %" if mode == "correct" else ">= 99 %"
        print(f"  {mode:14s} flagged {r['flagged']:4d}/{r['files']} = {100 * r['rate']:6.2f} %  (want {want})", flush=True)
        for m in r["misses"][:5]:
            print(f"      wrong verdict: {m}")
    correct = rows[0]
    headers = run_mode(cases, "correct", AuditOptions(check_pixels=False))
    n = correct["files"]
    print(f"throughput (correct outputs, full audit): {n / correct['wall_s']:.2f} files/s wall, "
          f"{n / correct['cpu_s']:.2f} files per CPU-s, {correct['wall_s'] / max(correct['frames'], 1):.2f} s/frame wall")
    print(f"headers+compliance only: {n / headers['wall_s']:.1f} files/s wall; "
          f"the OCR pixel check costs {correct['wall_s'] / headers['wall_s']:.0f}x the header check")
    if a.json:
        a.json.write_text(json.dumps({"rows": rows, "headers_only": headers}, indent=1))


if __name__ == "__main__":
    main()
