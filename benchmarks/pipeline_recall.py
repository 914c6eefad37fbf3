"""Instance recall of the whole pipeline (detector + cine union + redaction plan) on a labelled synth set.

    python benchmarks/pipeline_recall.py data/synth/heldout [--limit N] [--workers 2]

Runs `python -m inference.run` on DIR/images, then checks every personal-data item of DIR/gt against the blanked
regions the audit trail records: an item counts only if every character box is fully inside them. Prints recall
with a Wilson 95 % interval, files/s end to end, and the over-redaction (share of pixels outside text blanked).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inference.run import main as run_main  # noqa: E402
from training.evaluate import wilson  # noqa: E402  - one Wilson interval for every recall we print


def region_mask(rects: list[list[int]], rows: int, cols: int) -> np.ndarray:
    m = np.zeros((rows, cols), bool)
    for x0, y0, x1, y1 in rects:
        m[max(y0, 0):y1, max(x0, 0):x1] = True
    return m


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("synth_dir", type=Path)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="medanon-recall-"))
    images = sorted((a.synth_dir / "images").glob("*.dcm"))[: a.limit or None]
    (work / "in").mkdir()
    for p in images:
        (work / "in" / p.name).symlink_to(p.resolve())
    (work / "key").write_text("pipeline-recall-benchmark-key")
    t0 = time.perf_counter()
    run_main([str(work / "in"), str(work / "out"), "--quiet", "--workers", str(a.workers),
              "--key-file", str(work / "key")])
    elapsed = time.perf_counter() - t0
    trail = {Path(r["source"]).stem: r for r in map(json.loads, (work / "out.audit" / "trail.jsonl").open())}
    found = total = quarantined = 0
    over_num = over_den = 0
    misses = []
    for p in images:
        gt = json.loads((a.synth_dir / "gt" / f"{p.stem}.json").read_text())
        rec = trail[p.stem]
        phi = [i for i in gt["items"] if i["phi"]]
        total += len(phi)
        if rec["status"] != "written":
            quarantined += 1  # held back: nothing released, so nothing leaked; counted as found
            found += len(phi)
            continue
        mask = region_mask(rec["actions"]["pixels"]["regions"], gt["rows"], gt["cols"])
        text = region_mask([i["box"] for i in gt["items"]], gt["rows"], gt["cols"])
        over_num += int((mask & ~text).sum())
        over_den += int((~text).sum())
        for item in phi:
            if all(mask[y0:y1, x0:x1].all() for x0, y0, x1, y1 in (c for c in item["chars"] if c)):
                found += 1
            else:
                misses.append((p.stem, gt["family"], item["kind"], item["size"]))
    lo, hi = wilson(found, total)
    print(f"files {len(images)} (quarantined {quarantined}), {len(images) / elapsed:.2f} files/s end to end")
    print(f"personal-data items fully covered: {found}/{total} = {found / max(total, 1):.4%} "
          f"(Wilson 95 % CI {lo:.4%} - {hi:.4%})")
    print(f"over-redaction: {over_num / max(over_den, 1):.2%} of non-text pixels blanked")
    for m in misses[:20]:
        print("  missed", m)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
