"""Which OCR engine should the auditor use? Recall on synth/ personal-data text, measured, not assumed.

    nice -n 15 python3 benchmarks/audit_ocr_recall.py [--n 24] [--seed 41] [--out benchmarks/results/audit_ocr_recall.json]

Generates N synth/ images (python -m synth.generate), reads frame 0 of each UNREDACTED image with every engine
through the auditor's own view (inference.audit.frames) and counts, per labelled personal-data item, whether the
auditor would find it: an OCR line matches the item's text (inference.audit.matching, fragments allowed, as in the
pixel audit). Also item recall per text kind and CPU seconds per frame. The engine with the higher item recall
is the default (AuditOptions.ocr_engine).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pydicom

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inference.audit import ocr  # noqa: E402
from inference.audit.frames import views  # noqa: E402
from inference.audit.groundtruth import load_items  # noqa: E402
from inference.audit.matching import PersonalValue, ValueMatcher  # noqa: E402

KIND_FOR_MATCH = {"name": "name", "doctor": "name", "personal_code": "id", "patient_id": "id", "accession": "id"}


def item_found(text: str, kind: str, lines: list[str]) -> bool:
    value = PersonalValue(KIND_FOR_MATCH.get(kind, "other"), text)
    matcher = ValueMatcher([value])
    return any(matcher.find(line, fragments=True) for line in lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--seed", type=int, default=41)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "audit_ocr_recall.json")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="audit_ocr_"))
    subprocess.run([sys.executable, "-m", "synth.generate", "--out", str(tmp), "--n", str(a.n), "--seed",
                    str(a.seed), "--workers", "1", "--documents-every", "100000"], check=True, cwd=ROOT,
                   capture_output=True)
    results = {}
    for engine in ocr.ENGINES:
        ocr.read(__import__("numpy").zeros((64, 64), "uint8"), engine)   # load outside the timing
        found = total = 0
        per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        cpu = wall = 0.0
        frames = 0
        for dcm in sorted((tmp / "images").glob("*.dcm")):
            ds = pydicom.dcmread(dcm)
            items = [it for it in load_items(tmp / "gt" / f"{dcm.stem}.json")
                     if it.phi and (it.frames is None or 0 in it.frames)]
            index, view = next(views(ds, max_frames=1))
            c0, w0 = time.process_time(), time.perf_counter()
            lines = [l.text for l in ocr.read(view, engine)]
            cpu += time.process_time() - c0
            wall += time.perf_counter() - w0
            frames += 1
            for it in items:
                ok = item_found(it.text, it.kind, lines)
                found += ok
                total += 1
                per_kind[it.kind][0] += ok
                per_kind[it.kind][1] += 1
        results[engine] = {"item_recall": found / total if total else 0.0, "items": total, "frames": frames,
                           "cpu_s_per_frame": cpu / frames, "wall_s_per_frame": wall / frames,
                           "recall_by_kind": {k: v[0] / v[1] for k, v in sorted(per_kind.items())}}
        print(f"{engine:10s} item recall {100 * results[engine]['item_recall']:.1f} % of {total} personal items "
              f"on {frames} frames; {cpu / frames:.2f} CPU s/frame, {wall / frames:.2f} wall s/frame", flush=True)
    best = max(results, key=lambda e: results[e]["item_recall"])
    other = [e for e in results if e != best][0]
    ratio = results[best]["item_recall"] / max(results[other]["item_recall"], 1e-9)
    print(f"choice: {best} (recall {ratio:.2f}x {other}'s)")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"command": " ".join(["benchmarks/audit_ocr_recall.py", "--n", str(a.n), "--seed",
                                                     str(a.seed)]),
                                 "date": time.strftime("%Y-%m-%d"), "choice": best, "engines": results}, indent=1))
    print(f"written {a.out}")


if __name__ == "__main__":
    main()
