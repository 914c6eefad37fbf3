"""Issue 18's adaptation run on the shared labelled real files: a reviewer's decisions on SOME of one vendor's files
go in (python -m training.adapt), and benchmarks/real_pixels.py on the REST of that vendor's files comes out,
before (the committed model) and after (the fine-tuned candidate).

    python benchmarks/adapt_shared.py --review NAME,NAME --rest NAME,NAME [--epochs 3] [--work runs/adapt_shared]

1. python -m inference.run on the --review files (as a data manager would run it on the new device's files).
2. The reviewer: what a person does in the station (python -m inference.review), taken from the hand-checked label
   file of each reviewed file, and saved in the station's own review database (inference/review/store.py):
   a blanked box that touches no labelled text is marked "not text"; a labelled item whose ink was not fully
   blanked is drawn as a new box; the file is "needs redaction" when a box was drawn, else "approved".
3. python -m training.adapt --reviews OUT.audit --no-install (its own hold-out among the reviewed files).
4. benchmarks/real_pixels.py --files REST, with the committed model and with the candidate.
The candidate is never installed: the shipped model stays untrained on the dev split (training/data/real_split.yaml).
Results: benchmarks/results/adapt_shared.txt.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.realdata import dicom_views, labelled_files  # noqa: E402
from training.realeval import box_union, ink_mask, item_removed  # noqa: E402

KEY = "adapt-shared-key-5b1e0c7d9a3f4e2b8c6d"


def pick(names: str) -> list:
    """The labelled files (any split) whose path contains one of the comma-separated names."""
    wanted = [n for n in names.split(",") if n]
    out = [lf for sp in ("dev", "train") for lf in labelled_files(sp) if any(n in str(lf.path) for n in wanted)]
    if not out:
        raise SystemExit(f"no labelled file matches {names!r}")
    return out


def run_cli(inp: Path, out: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "inference.run", str(inp), str(out), "--quiet"], cwd=ROOT,
                       env={**os.environ, "MEDANON_KEY": KEY}, capture_output=True, text=True)
    if r.returncode not in (0, 3):
        raise SystemExit(f"inference.run failed ({r.returncode}): {r.stderr[-2000:]}")


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def review_from_labels(item, label: dict) -> tuple[str, list, list]:
    """(decision, added [frame, x0, y0, x1, y1], removed [x0, y0, x1, y1]) for one file of the run, from frame 0."""
    view = dicom_views(item.original, [0])[0]
    h, w = view.shape[:2]
    items = [it for it in label["items"] if it["frame"] in ("all", 0)]
    regions = [list(map(int, b)) for b in item.regions_of(0)]
    blanked = box_union(regions, h, w)
    removed = [b for b in regions if not any(overlaps(b, it["box"]) for it in items)]
    added = []
    for it in items:
        ink = ink_mask(view, it["box"])
        if ink is not None and not item_removed(blanked, it["box"], ink):
            x0, y0, x1, y1 = (int(np.floor(it["box"][0])), int(np.floor(it["box"][1])),
                              int(np.ceil(it["box"][2])), int(np.ceil(it["box"][3])))
            added.append([-1 if it["frame"] == "all" else 0, x0, y0, x1, y1])
    return ("needs redaction" if added else "approved"), added, removed


def enter_reviews(out: Path, by_name: dict[str, dict]) -> list[str]:
    from inference.review.items import Catalog
    from inference.review.store import DB_NAME, ReviewStore
    audit, qdir = out.with_name(out.name + ".audit"), out.with_name(out.name + ".quarantine")
    catalog = Catalog(out, audit, qdir, sample=10_000)
    store = ReviewStore(audit / DB_NAME)
    lines = []
    for item in catalog.items.values():
        label = by_name.get(Path(item.source).name)
        if label is None or item.original is None:
            continue
        decision, added, removed = review_from_labels(item, label)
        store.save(item.id, item.source, item.digest, decision, "adapt_shared (from the label file)", added, removed)
        lines.append(f"  {item.source}: {decision}, {len(added)} box(es) drawn, {len(removed)} marked not text")
    return lines


def real_pixels(files: str, model: Path, out: Path) -> str:
    r = subprocess.run([sys.executable, "benchmarks/real_pixels.py", "--split", "all", "--files", files,
                        "--free-limit", "0", "--no-baseline", "--per-file", "--model", str(model), "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"real_pixels failed: {r.stderr[-2000:]}")
    return r.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--review", required=True, help="labelled files reviewed (path substrings, a,b)")
    ap.add_argument("--rest", required=True, help="the same vendor's other labelled files, measured before/after")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--holdout", type=float, default=0.3)
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "adapt_shared")
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "adapt_shared.txt")
    a = ap.parse_args(argv)
    reviewed = pick(a.review)
    if a.work.exists():
        shutil.rmtree(a.work)
    inp, out = a.work / "in", a.work / "out"
    inp.mkdir(parents=True)
    for lf in reviewed:
        shutil.copyfile(lf.path, inp / lf.path.name)  # a copy: the station serves only files inside the input folder
    run_cli(inp, out)
    lines = [f"$ python benchmarks/adapt_shared.py {' '.join(argv or sys.argv[1:])}", "", "reviews entered:"]
    lines += enter_reviews(out, {lf.path.name: lf.label for lf in reviewed})
    r = subprocess.run([sys.executable, "-m", "training.adapt", "--reviews", str(out.with_name("out.audit")),
                        "--no-install", "--epochs", str(a.epochs), "--holdout", str(a.holdout),
                        "--work", str(a.work / "adapt")], cwd=ROOT, capture_output=True, text=True)
    print(r.stdout[-4000:])
    if r.returncode:
        raise SystemExit(f"training.adapt failed ({r.returncode}): {r.stderr[-3000:]}")
    said = [ln for ln in r.stdout.strip().splitlines()[-14:] if not ln.startswith("Visualize:")]
    lines += ["", "python -m training.adapt said:", *said]
    report = json.loads((a.work / "adapt" / "adapt_report.json").read_text())
    candidate = Path(report["candidate"])
    for title, model in (("BEFORE (committed model)", ROOT / "models" / "text_detector.onnx"),
                         ("AFTER (candidate fine-tuned from the reviews)", candidate)):
        lines += ["", f"{title}: real_pixels on the rest of the vendor's files ({a.rest})",
                  real_pixels(a.rest, model, a.work / f"rp_{'after' if model == candidate else 'before'}.txt").strip()]
    text = "\n".join(lines)
    print(text)
    a.results.parent.mkdir(parents=True, exist_ok=True)
    a.results.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
