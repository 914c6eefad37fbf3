"""Header-only de-identification throughput vs. a plain pydicom read+write of the same files.

    nice -n 15 python3 benchmarks/bench_header.py [--limit N] [--profile basic] [--repeat 1]

Reads every readable sample of ../shared/data/dicom (inventory.csv), then times, per file:
  plain:  dcmread + save to memory
  deid:   dcmread + deidentify_dataset + save to memory
Files either path fails on are left out of both. Prints files/s and MB/s per CPU second (robust on a shared
machine; wall time is printed too) and the ratio deid/plain.
Single process: multiply by the worker count for a rough batch estimate (the work is CPU-bound per file).
"""
from __future__ import annotations

import argparse
import csv
import logging
import time
import warnings
from io import BytesIO
from pathlib import Path

import pydicom

from inference.header import deidentify_dataset, load_profile
from inference.keys import Keyring

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "dicom"


def sample_paths(limit: int | None) -> list[Path]:
    with open(SAMPLES / "inventory.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if not r.get("read_error")]
    paths = [SAMPLES / r["path"] for r in rows if (SAMPLES / r["path"]).is_file()]
    return paths[:limit] if limit else paths


def plain(path: Path) -> int:
    ds = pydicom.dcmread(path, force=True)
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=False)
    return len(buf.getvalue())


def make_deid(profile, keyring):
    def deid(path: Path) -> int:
        ds = pydicom.dcmread(path, force=True)
        deidentify_dataset(ds, profile, keyring)
        buf = BytesIO()
        ds.save_as(buf, enforce_file_format=False)
        return len(buf.getvalue())
    return deid


def usable(paths: list[Path], fns) -> list[Path]:
    ok = []
    for p in paths:
        try:
            for fn in fns:
                fn(p)
            ok.append(p)
        except Exception:
            pass
    return ok


def timed(fn, paths: list[Path], repeat: int) -> tuple[float, float, int]:
    """Best wall and CPU seconds of `repeat` passes. CPU time is what to compare on a shared, loaded machine."""
    wall, cpu, size = float("inf"), float("inf"), 0
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        size = sum(fn(p) for p in paths)
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    return wall, cpu, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--profile", default="basic")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("pydicom").setLevel(logging.ERROR)
    deid = make_deid(load_profile(args.profile), Keyring(b"benchmark-key-0123456789abcdef"))
    paths = usable(sample_paths(args.limit), (plain, deid))  # also warms the OS file cache
    w_plain, c_plain, size = timed(plain, paths, args.repeat)
    w_deid, c_deid, _ = timed(deid, paths, args.repeat)
    n, mb = len(paths), size / 1e6
    print(f"files: {n}  ({mb:.1f} MB written per pass), best of {args.repeat}, one process")
    for label, wall, cpu in (("plain pydicom read+write", w_plain, c_plain),
                             ("read+deidentify+write   ", w_deid, c_deid)):
        print(f"{label}: {n / cpu:7.1f} files/s CPU  {mb / cpu:6.1f} MB/s CPU  ({cpu:.2f} s CPU, {wall:.2f} s wall)")
    print(f"ratio deid/plain (files/s, CPU time): {c_plain / c_deid:.2f}")

if __name__ == "__main__":
    main()
