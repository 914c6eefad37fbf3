"""Synthetic data generation throughput: python benchmarks/bench_synth.py [N] [WORKERS].

Prints images/s and the projected time for 1,000 images (target: < 5 minutes on 2 cores), plus the ratio of
the target time to the projected time (> 1 means the target is met).
"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from synth.fonts import discover_fonts
from synth.generate import GenConfig, generate, select_families
from synth.layout import load_layouts


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    fonts = discover_fonts()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = GenConfig(out=Path(tmp), n=n, seed=12345, families=select_families(load_layouts(), None, None),
                        fonts=fonts, documents_every=0)
        t0, c0 = time.perf_counter(), _cpu()
        generate(cfg, workers=workers, progress=False)
        dt, cpu = time.perf_counter() - t0, _cpu() - c0
    per_1000 = dt / n * 1000
    idle_1000 = cpu / n * 1000 / max(workers, 1)    # what 1000 images take when the cores are not shared
    print(f"{n} images, {workers} workers: wall {dt:.1f} s ({n / dt:.2f} images/s), CPU {cpu / n:.3f} s/image; "
          f"1000 images: {per_1000 / 60:.1f} min at this load, ~{idle_1000 / 60:.1f} min on {workers} idle cores; "
          f"target(5 min)/actual ratio {300 / per_1000:.2f} at this load, {300 / idle_1000:.2f} idle")


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the worker pool)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
