"""Long fuzz run (issue 20): many seeded mutants of the shared files through python -m inference.run, in batches,
then the table of fail-closed breaches: batch crashes or hangs, unredacted releases, silent skips, lost files,
inputs modified. tests/test_fuzz.py is the bounded CI version (200 mutants of the same ten files).

    python benchmarks/fuzz_long.py --per-file 200 --seed 1 [--batch 500] [--workers 2] [--keep DIR]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fuzz_fixtures import CATEGORIES, FUZZ_FILES, make_corpus, run_and_check  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-file", type=int, default=200, help="mutants per shared file (default 200)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=50, help="shared files' mutants per run: per-file x files split")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--file-timeout", type=float, default=120)
    p.add_argument("--keep", type=Path, help="keep the mutants and outputs here (else a temporary folder)")
    a = p.parse_args(argv)
    work = a.keep or Path(tempfile.mkdtemp(prefix="medanon-fuzz-"))
    totals: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    inputs = runs = 0
    seconds = 0.0
    for start in range(0, a.per_file, a.batch):
        n = min(a.batch, a.per_file - start)
        src, out = work / f"in{start:06d}", work / f"out{start:06d}"
        origin = make_corpus(src, n, a.seed * 100003 + start, FUZZ_FILES)
        report = run_and_check(src, out, origin, workers=a.workers, timeout=max(600.0, 5.0 * len(origin)),
                               file_timeout=a.file_timeout)
        runs += 1
        inputs += report.inputs
        seconds += report.seconds
        totals.update(report.counts)
        statuses.update(report.statuses)
        for c, ex in report.examples.items():
            examples.setdefault(c, []).extend(ex[:3])
        print(f"run {runs}: {report.inputs} inputs, {report.seconds:.0f} s, "
              + ", ".join(f"{c} {report.counts[c]}" for c in CATEGORIES), file=sys.stderr)
    print(f"\n{'category':28s} {'count':>6s}   ({inputs} inputs tried in {runs} runs, {seconds:.0f} s, "
          f"seed {a.seed})")
    for c in CATEGORIES:
        print(f"{c:28s} {totals[c]:6d}")
    print("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    for c, ex in examples.items():
        print(f"\n{c}, first examples:")
        for e in ex[:5]:
            print("  " + e[:400])
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if any(totals[c] for c in CATEGORIES) else 0


if __name__ == "__main__":
    sys.exit(main())
