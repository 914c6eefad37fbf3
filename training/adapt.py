"""Fine-tune the committed detector from the review station's decisions, and install it only if it is no worse.

    python -m training.adapt --reviews AUDIT_DIR [--epochs 3] [--hours 0] [--holdout 0.3] [--work runs/adapt]
                             [--install-to models/text_detector.onnx] [--no-install] [--no-mlflow]

1. A labelled set from the reviewed files (training/realset.py's YOLO layout: images/*.png + labels/*.txt):
   the boxes the run blanked, minus those a reviewer marked "not text", plus the reviewer's boxes; frame 0 of each
   file (and each frame a reviewer boxed). Originals are read from where the trail says, or the quarantine copy.
   Each label is trimmed to the ink inside it (the run's boxes carry the safety margin; a model trained on them
   learns fatter boxes, and the margin is added again at inference).
2. Reviewed files split by file into training and hold-out (a file's frames never straddle both).
3. Fine-tune from the committed checkpoint with training/train.py (a short epoch / time budget), on the review
   set (REVIEW_TILES tiles per image) plus a replay sample of the data the committed model was trained on, when
   it is on this machine (--replay; default: the real text-free tiles and labelled real files of
   training/realdata.py and the synthetic training set): a few reviewed images alone make the model forget. No
   warm-up: a few dozen steps would all fall inside ultralytics' warm-up, whose bias rate of 0.1 undoes the model.
4. Before and after on the hold-out (and on the synthetic held-out when data/synth/heldout exists): items missed
   (a labelled box not fully blanked) and over-redaction (share of unlabelled pixels blanked).
5. Installed only if the new model misses no more items and over-redacts no more on every set; the report says
   in plain words what improved and what got worse. Review counts and the run are logged to MLflow.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from training.config import ROOT, RealTiles, load_params

DEFAULT_INIT = "models/checkpoints/text_detector_gen6.pt"  # the checkpoint models/text_detector.onnx was made from
DEFAULT_REPLAY = ("data/real/negatives", "data/real/labelled", "data/synth/train")  # the committed model's data
REVIEW_TILES = 8   # tiles cut from each reviewed image (the set is small; each tile is a different crop)


class AdaptError(RuntimeError):
    """Nothing sensible to adapt from (no reviews, too few files, originals missing)."""


def _abs(p: str | Path) -> Path:
    q = Path(p)
    return q if q.is_absolute() else ROOT / q


def reviewed_files(audit_dir: Path) -> list[dict[str, Any]]:
    """Reviewed image files with their label boxes per frame and where the original is."""
    from inference.outputs import AuditTrail
    from inference.review.apply import quarantine_copy
    from inference.review.store import DB_NAME, ReviewStore
    db = audit_dir / DB_NAME
    if not db.is_file():
        raise AdaptError(f"no review database at {db}: review files in python -m inference.review first")
    qdir = audit_dir.with_name(audit_dir.name.removesuffix(".audit") + ".quarantine")
    trail = AuditTrail(audit_dir).done()
    out = []
    for review in ReviewStore(db).latest().values():
        if review.decision == "pending" and not review.added:
            continue
        rec = trail.get(review.source, {})
        src = Path(rec["source_path"]) if rec.get("source_path") else None
        if src is None or not src.is_file():
            src = quarantine_copy(qdir, review.source)
        if src is None:
            print(f"  skipped {review.source}: original not found", file=sys.stderr)
            continue
        pixels = (rec.get("actions") or {}).get("pixels") or {}
        removed = {tuple(b) for b in review.removed}
        detector = [b for b in pixels.get("regions") or [] if tuple(b) not in removed]
        frames = sorted({0} | {b[0] for b in review.added if b[0] >= 0})
        labels = {f: detector + [list(b[1:]) for b in review.added if b[0] in (-1, f)] for f in frames}
        out.append({"id": review.file_id, "source": review.source, "path": src, "labels": labels,
                    "decision": review.decision, "added": len(review.added), "removed": len(review.removed)})
    return sorted(out, key=lambda f: f["id"])


def split(files: list[dict[str, Any]], holdout: float) -> tuple[list, list]:
    """By a hash of the file id: stable across runs; both sides non-empty."""
    if len(files) < 2:
        raise AdaptError(f"{len(files)} reviewed image file(s): at least 2 are needed (one to learn, one to check)")
    rank = sorted(files, key=lambda f: hashlib.sha256(f["id"].encode()).hexdigest())
    n_hold = min(len(files) - 1, max(1, round(holdout * len(files))))
    return rank[n_hold:], rank[:n_hold]


def ink_tight(view: np.ndarray, box: list[int]) -> list[int]:
    """``box`` trimmed to the bounding box of its ink (training/realeval.ink_mask: pixels standing out from the
    ring around the box); unchanged when it shows no ink."""
    from training.realeval import ink_mask
    ink = ink_mask(view, box)
    if ink is None:
        return list(box)
    ys, xs = np.nonzero(ink)
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    return [x0 + int(xs.min()), y0 + int(ys.min()), x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1]


def replay_set(sources: list[str], limit: int, root: Path, seed: int = 0) -> Path | None:
    """Up to ``limit`` (image, label) pairs drawn evenly from the ``sources`` that exist here, linked into
    root/png + root/labels; None when none exists."""
    from training.tiles import source_pairs
    pools = [source_pairs(_abs(s)) for s in sources if _abs(s).is_dir()]
    pools = [p for p in pools if p]
    if not pools or limit <= 0:
        return None
    rng = np.random.default_rng(seed)
    (root / "png").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    for k, pool in enumerate(pools):
        take = rng.choice(len(pool), size=min(len(pool), limit // len(pools)), replace=False)
        for i in sorted(take):
            img, lab = pool[int(i)]
            stem = f"r{k}_{img.stem}"
            (root / "png" / f"{stem}.png").symlink_to(img.resolve())
            if lab.is_file():
                (root / "labels" / f"{stem}.txt").symlink_to(lab.resolve())
            else:
                (root / "labels" / f"{stem}.txt").write_text("")
    return root


def write_set(files: list[dict[str, Any]], root: Path) -> list[tuple[Path, list[list[int]]]]:
    """images/<id>_f<k>.png + labels/<same>.txt (YOLO, normalised), the realset.py layout, every box trimmed to its
    ink (ink_tight); returns (image, boxes)."""
    from inference.review.render import frame_view
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    written = []
    for f in files:
        for frame, boxes in f["labels"].items():
            view = frame_view(f["path"], frame)
            h, w = view.shape[:2]
            stem = f"{f['id']}_f{frame:04d}"
            boxes = [ink_tight(view, b) for b in boxes]
            img = root / "images" / f"{stem}.png"
            cv2.imwrite(str(img), cv2.cvtColor(view, cv2.COLOR_RGB2BGR) if view.ndim == 3 else view)
            lines = []
            for x0, y0, x1, y1 in boxes:
                x0, x1, y0, y1 = max(0, x0), min(w, x1), max(0, y0), min(h, y1)
                if x1 > x0 and y1 > y0:
                    lines.append(f"0 {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} "
                                 f"{(y1 - y0) / h:.6f}\n")
            (root / "labels" / f"{stem}.txt").write_text("".join(lines))
            written.append((img, [list(b) for b in boxes]))
    return written


def score(detector: Any, images: list[tuple[Path, list[list[int]]]]) -> dict[str, Any]:
    """Items missed (a labelled box not fully blanked) and over-redaction (unlabelled pixels blanked)."""
    from training.evaluate import box_mask, covered
    items = missed = 0
    over_px = free_px = 0
    for img_path, boxes in images:
        img = cv2.cvtColor(cv2.imread(str(img_path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        h, w = img.shape[:2]
        blanked = box_mask(detector.detect(img), h, w)
        for b in boxes:
            items += 1
            missed += not covered(blanked, b)
        labelled = box_mask(np.asarray(boxes, float).reshape(-1, 4), h, w)
        over_px += int((blanked & ~labelled).sum())
        free_px += int((~labelled).sum())
    return {"images": len(images), "items": items, "missed": missed,
            "over_redaction": over_px / free_px if free_px else 0.0}


def synthetic_score(detector: Any) -> dict[str, Any] | None:
    heldout = ROOT / "data" / "synth" / "heldout"
    if not (heldout / "gt").is_dir():
        return None
    from training.evaluate import evaluate
    m = evaluate(heldout, detector)
    found = m.get("found")
    return {"items": m.get("instances"), "missed": None if found is None else m["instances"] - found,
            "recall": m.get("instance_recall"), "over_redaction": m.get("over_redaction") or 0.0}


def fine_tune(train_set: Path, work: Path, a: argparse.Namespace) -> Path:
    """training/train.py on the review set only, from the committed checkpoint, with a short budget; -> ONNX."""
    from training.export import export
    from training.train import train
    images = sorted((train_set / "images").glob("*.png"))
    if len(images) == 1:  # ultralytics needs a validation image; tiles.py gives val one only from 2 images up
        shutil.copy(images[0], images[0].with_name(images[0].stem + "_copy.png"))
        shutil.copy(train_set / "labels" / f"{images[0].stem}.txt", train_set / "labels" / f"{images[0].stem}_copy.txt")
    params = load_params(a.params)
    replay = replay_set(a.replay, a.replay_limit, work / "replay")
    if replay is None:
        print("  no replay data on this machine: fine-tuning on the reviewed images alone", file=sys.stderr)
    real_tiles = [] if replay is None else [RealTiles(dir=str(replay), per_image=1)]
    params = dataclasses.replace(
        params,
        synth=dataclasses.replace(params.synth, train_dir=str(train_set)),  # the tile source: the review set
        train=dataclasses.replace(params.train, real_sets=[], real_tiles=real_tiles,
                                  tiles_per_image=REVIEW_TILES, warmup_epochs=0.0,
                                  init_weights=str(_abs(a.init_weights)),
                                  epochs=a.epochs, hours=a.hours, tiles_dir=str(work / "tiles"),
                                  run_dir=str(work / "run"), batch=min(params.train.batch, 8),
                                  patience=max(a.epochs, 1), close_mosaic=0),
        export=dataclasses.replace(params.export, onnx=str(work / "candidate.onnx")))
    best = train(params)
    if not best.exists():
        best = work / "run" / "weights" / "last.pt"
    if not best.exists():
        raise AdaptError(f"fine-tuning produced no weights under {work / 'run'}")
    onnx = export(params, best)
    # the same operating point (thresholds, margins, second look) as the model it may replace: a fair comparison
    committed = json.loads(Path(a.model).with_suffix(".json").read_text())
    side = json.loads(onnx.with_suffix(".json").read_text())
    side["settings"] = committed["settings"]
    onnx.with_suffix(".json").write_text(json.dumps(side, indent=2) + "\n")
    return onnx


def verdict(before: dict[str, Any], after: dict[str, Any]) -> tuple[bool, list[str]]:
    """Install only if, on every set, no more items are missed and no more is over-redacted."""
    ok, lines = True, []
    for name in before:
        b, x = before[name], after[name]
        if b is None or x is None:
            lines.append(f"- {name}: not measured (not available here)")
            continue
        if b.get("missed") is not None and x.get("missed") is not None:
            d = x["missed"] - b["missed"]
            ok &= d <= 0
            lines.append(f"- {name}: text items missed {b['missed']} -> {x['missed']} of {x['items']} "
                         + ("(better)" if d < 0 else "(worse)" if d > 0 else "(same)"))
        d = x["over_redaction"] - b["over_redaction"]
        ok &= d <= 1e-9
        lines.append(f"- {name}: image blanked where there is no text {b['over_redaction']:.2%} -> "
                     f"{x['over_redaction']:.2%} " + ("(better)" if d < -1e-9 else "(worse)" if d > 1e-9 else "(same)"))
    return ok, lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.adapt", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reviews", type=Path, required=True, help="the audit folder holding reviews.sqlite")
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "text_detector.onnx", help="the current model")
    ap.add_argument("--init-weights", default=DEFAULT_INIT, help="checkpoint of the current model (fine-tuned)")
    ap.add_argument("--params", default=None, help="params file for the training settings (default params.yaml)")
    ap.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs (short: the set is small)")
    ap.add_argument("--hours", type=float, default=0.0, help="> 0: wall-clock budget instead of --epochs")
    ap.add_argument("--holdout", type=float, default=0.3, help="share of reviewed files kept to check (default 0.3)")
    ap.add_argument("--replay", nargs="*", default=list(DEFAULT_REPLAY),
                    help="folders of the committed model's training data to mix in (those that exist here)")
    ap.add_argument("--replay-limit", type=int, default=300, help="replay images drawn from them (0: none)")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "adapt", help="working folder (set, runs, report)")
    ap.add_argument("--install-to", type=Path, default=None, help="where an accepted model goes (default --model)")
    ap.add_argument("--no-install", action="store_true", help="measure only; never replace the model")
    ap.add_argument("--no-mlflow", action="store_true")
    a = ap.parse_args(argv)
    t0 = time.time()
    audit = a.reviews.resolve()
    try:
        files = reviewed_files(audit)
        train_files, hold_files = split(files, a.holdout)
    except AdaptError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.work.exists():
        shutil.rmtree(a.work)
    train_set, hold_set = a.work / "set" / "train", a.work / "set" / "holdout"
    write_set(train_files, train_set)
    hold_images = write_set(hold_files, hold_set)
    from inference.detect import TextDetector
    current = TextDetector(a.model)
    before = {"reviewed hold-out": score(current, hold_images), "synthetic held-out": synthetic_score(current)}
    candidate = fine_tune(train_set, a.work, a)
    new = TextDetector(candidate)
    after = {"reviewed hold-out": score(new, hold_images), "synthetic held-out": synthetic_score(new)}
    ok, lines = verdict(before, after)
    target = a.install_to or a.model
    installed = ok and not a.no_install
    if installed:
        shutil.copy2(candidate, target)
        shutil.copy2(candidate.with_suffix(".json"), target.with_suffix(".json"))
    counts = {"files_reviewed": len(files), "approved": sum(f["decision"] == "approved" for f in files),
              "needs_redaction": sum(f["decision"] == "needs redaction" for f in files),
              "boxes_added": sum(f["added"] for f in files), "boxes_removed": sum(f["removed"] for f in files),
              "train_files": len(train_files), "holdout_files": len(hold_files)}
    report = {"counts": counts, "learned_from": [f["source"] for f in train_files],
              "checked_on": [f["source"] for f in hold_files], "before": before, "after": after,
              "installed": installed, "accepted": ok,
              "candidate": str(candidate), "model": str(target), "seconds": round(time.time() - t0, 1)}
    (a.work / "adapt_report.json").write_text(json.dumps(report, indent=2) + "\n")
    print("\n".join([
        "", f"Adaptation from {counts['files_reviewed']} reviewed files ({counts['approved']} approved, "
            f"{counts['needs_redaction']} needing redaction; {counts['boxes_added']} boxes added and "
            f"{counts['boxes_removed']} marked not text by reviewers).",
        f"Learned from {len(train_files)} files ({', '.join(f['source'] for f in train_files[:5])}"
        f"{', ...' if len(train_files) > 5 else ''}), checked on {len(hold_files)} files it did not see "
        f"({', '.join(f['source'] for f in hold_files[:5])}{', ...' if len(hold_files) > 5 else ''}).", "",
        "What changed with the new model:", *lines, "",
        (f"The new model is no worse anywhere: installed at {target}." if installed else
         f"The new model is no worse anywhere, but --no-install: kept at {candidate}." if ok else
         f"The new model is worse somewhere: NOT installed; the current model stays. (Candidate: {candidate})"),
        f"Full report: {a.work / 'adapt_report.json'}"]))
    if not a.no_mlflow:
        from training.tracking import mlflow_run
        with mlflow_run("adapt", {"reviews": str(audit), "epochs": a.epochs, "hours": a.hours,
                                  "holdout": a.holdout, "installed": installed}) as mlflow:
            mlflow.log_metrics({f"reviews_{k}": float(v) for k, v in counts.items()})
            for when, res in (("before", before), ("after", after)):
                for name, m in res.items():
                    if m:
                        key = name.replace(" ", "_").replace("-", "")
                        mlflow.log_metrics({f"{when}_{key}_{k}": float(v) for k, v in m.items()
                                            if isinstance(v, (int, float)) and v is not None})
            mlflow.log_artifact(str(a.work / "adapt_report.json"), artifact_path="adapt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
