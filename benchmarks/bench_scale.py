"""Scale-out costs on this machine: files/s per engine and worker count, CPU-seconds per file by modality, and
detector ms per 640x480 frame batched vs unbatched (the figures docs/SCALING.md turns into core/GPU-hours).

    python benchmarks/bench_scale.py [--files 100] [--skip-ray] [--out benchmarks/results/bench_scale.txt]

The file set is --files symbolic links to real-sized single-frame shared files (CT 512, MR 256, US 640x480 and
1024x768, SR in turn): the same files for every engine. files/s is the run's own figure (summary files_per_s: from the first file handed to
a worker to the last written, start-up excluded); wall seconds include start-up (Ray: the local instance).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from scale_fixtures import TYPICAL, US_640x480  # noqa: E402

SHARED_DICOM = ROOT.parent / "shared" / "data" / "dicom"
KEY = "bench-scale-key-7f3a9c1e5b2d4f6a8c0e"


SET_KINDS = ("CT 512x512", "MR 256x256", "US 640x480 RLE", "US 1024x768", "SR")  # real sizes, ~0.1 core-s each


def make_set(folder: Path, n: int) -> Path:
    """n links to real-sized single-frame files (SET_KINDS in turn): long enough runs that start-up and the
    per-task overhead do not dominate."""
    for i in range(n):
        kind = SET_KINDS[i % len(SET_KINDS)]
        link = folder / kind.replace(" ", "_") / f"{i:04d}.dcm"
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(SHARED_DICOM / TYPICAL[kind], link)
    return folder


def run_engine(src: Path, work: Path, label: str, args: list[str]) -> dict:
    out = work / label
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "inference.run", str(src), str(out), "--quiet", *args], cwd=ROOT,
                       env={**os.environ, "MEDANON_KEY": KEY, "RAY_USAGE_STATS_ENABLED": "0"},
                       capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t
    if r.returncode not in (0, 3):
        raise SystemExit(f"{label} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    summary = json.loads(sorted((work / f"{label}.audit").glob("summary-*.json"))[-1].read_text())
    return {"label": label, "files_per_s": summary["files_per_s"], "seconds": summary["seconds"],
            "wall_s": round(wall, 1), "written": summary["counts"].get("written", 0)}


def cpu_per_file(repeat: int) -> dict[str, tuple[float, float]]:
    """(CPU-seconds of process_file, of which in the text detector) per real-sized image kind, median of repeat;
    process time with 1 detector thread, so it is core-seconds."""
    from inference.context import RunOptions
    from inference.keys import Keyring
    from inference.pipeline import Context, process_file
    ctx = Context(RunOptions(detector_threads=1), Keyring(KEY.encode()))
    det = ctx.detector()
    spent = [0.0]
    plain = det.detect

    def timed_detect(*args, **kw):
        t = time.process_time()
        try:
            return plain(*args, **kw)
        finally:
            spent[0] += time.process_time() - t
    det.detect = timed_detect
    out = {}
    for kind, rel in TYPICAL.items():
        path = SHARED_DICOM / rel
        process_file(path, kind, ctx)  # warm-up: imports, first-call allocations
        totals, dets = [], []
        for _ in range(repeat):
            spent[0] = 0.0
            t = time.process_time()
            r = process_file(path, kind, ctx)
            totals.append(time.process_time() - t)
            dets.append(spent[0])
        out[kind] = (statistics.median(totals), statistics.median(dets))
        if r.status != "written":
            print(f"  note: {kind} was {r.status}: {r.reason[:100]}")
    return out


# The stated modality mix of the 500 M images (shares of image files), each costed by the nearest measured kind.
MIX = {"CT 512x512": 0.40, "MR 256x256": 0.15, "CR 2140x1760 J2K": 0.20, "US 640x480 RLE": 0.10,
       "US 1024x768": 0.05, "CT 512x512 J2K": 0.07, "SR": 0.03}
IMAGES = 500e6


def projection(cpu: dict[str, tuple[float, float]], say) -> None:
    per_image = sum(share * cpu[k][0] for k, share in MIX.items())
    det = sum(share * cpu[k][1] for k, share in MIX.items())
    say("  mix: " + ", ".join(f"{k} {v:.0%}" for k, v in MIX.items()))
    say(f"  mean cost {per_image:.3f} core-s per image, of which detector {det:.3f} core-s ({det / per_image:.0%})")
    say(f"  500 M images: {IMAGES * per_image / 3600:,.0f} core-hours; "
        f"without the detector (on GPUs): {IMAGES * (per_image - det) / 3600:,.0f} core-hours")
    for cores in (2, 64, 1024):
        say(f"    on {cores:5d} cores: {IMAGES * per_image / cores / 86400:,.1f} days")


def detector_ms(repeat: int) -> dict[str, float]:
    """ms per 640x480 frame: the whole detector (detect) with batch 1 and 4, and the model alone on 8 frames sent
    one by one vs as one batch (what batching frames of a cine loop gives); 2 threads, as a local worker."""
    import pydicom
    from inference.detect import TextDetector
    from inference.detect.tiling import to_rgb
    frame = np.ascontiguousarray(pydicom.dcmread(SHARED_DICOM / US_640x480).pixel_array).astype(np.uint8)
    assert frame.shape[:2] == (480, 640)
    d1, d4, d8 = (TextDetector(threads=2, batch=b) for b in (1, 4, 8))
    tiles = [to_rgb(frame)] * 8

    def med(fn, per: int) -> float:
        from bench_detector import timed  # noqa: PLC0415 - one timing rule for the detector benchmarks
        return 1000 * timed(fn, repeat) / per

    return {
        "detect() batch 1": med(lambda: d1.detect(frame), 1),
        "detect() batch 4": med(lambda: d4.detect(frame), 1),
        "model, 8 frames one by one": med(lambda: d1.detect_tiles(tiles), 8),
        "model, 8 frames in one batch": med(lambda: d8.detect_tiles(tiles), 8),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--engine-runs", type=int, default=3,
                    help="runs of each engine, taken in turn (load drift hits all alike); the median is reported")
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--ray-gpus", type=float, default=0.0, help="GPUs per Ray actor (GPU machine)")
    ap.add_argument("--out", type=Path, default=None, help="also write the report here")
    a = ap.parse_args(argv)
    lines = [f"bench_scale: {a.files} files, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M')}, "
             f"load average before {os.getloadavg()[0]:.2f} (other processes share these cores)"]

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        src = make_set(work / "in", a.files)
        runs = [("local-1", ["--workers", "1"]), ("local-2", ["--workers", "2"])]
        if not a.skip_ray:
            gpu = ["--ray-gpus", str(a.ray_gpus)] if a.ray_gpus else []
            runs += [("ray-1", ["--engine", "ray", "--workers", "1", *gpu]),
                     ("ray-2", ["--engine", "ray", "--workers", "2", *gpu])]
        say(f"\nfiles/s on the same files (run's own figure; wall includes start-up; median of {a.engine_runs} "
            "runs taken in turn)")
        tries: dict[str, list[dict]] = {label: [] for label, _ in runs}
        for k in range(a.engine_runs):
            for label, args in runs:
                r = run_engine(src, work, f"{label}-{k}", args)
                r["load"] = os.getloadavg()[0]
                tries[label].append(r)
        res = {}
        for label, rs in tries.items():
            r = res[label] = sorted(rs, key=lambda x: x["files_per_s"])[len(rs) // 2]
            say(f"  {label:8s} {r['files_per_s']:7.2f} files/s  load {r['load']:4.2f}  ({r['seconds']:6.1f} s processing, "
                f"{r['wall_s']:6.1f} s wall, {r['written']} written; runs: "
                + " ".join(f"{x['files_per_s']:.2f}" for x in rs) + ")")
        say(f"  local 2 / 1 workers: {res['local-2']['files_per_s'] / res['local-1']['files_per_s']:.2f}x")
        if "ray-2" in res:
            say(f"  ray 2 / 1 actors:    {res['ray-2']['files_per_s'] / res['ray-1']['files_per_s']:.2f}x")
            say(f"  ray-2 / local-2:     {res['ray-2']['files_per_s'] / res['local-2']['files_per_s']:.2f}x")

        say("\nCPU-seconds per file by kind (process_file, real-sized images, 1 detector thread, median)")
        cpu = cpu_per_file(a.repeat)
        for kind, (total, det) in cpu.items():
            say(f"  {kind:18s} {total:6.3f} s   (detector {det:6.3f} s)")
        say("\nprojection")
        projection(cpu, say)

        say("\ndetector ms per 640x480 frame (2 threads, median)")
        ms = detector_ms(a.repeat)
        for name, v in ms.items():
            say(f"  {name:30s} {v:7.1f} ms")
        say(f"  detect() batch 4 / batch 1:           {ms['detect() batch 4'] / ms['detect() batch 1']:.2f}x time")
        say(f"  8 frames batched / one by one:        "
            f"{ms['model, 8 frames in one batch'] / ms['model, 8 frames one by one']:.2f}x time")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
