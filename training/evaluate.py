"""Recall harness: the exported ONNX detector on a held-out synthetic set (other seed, unseen layout families and
fonts), measured the way redaction needs it.

    python -m training.evaluate [--params params.yaml] [--data DIR] [--model models/text_detector.onnx]

Metrics (all written to metrics.json, logged to MLflow):
- instance recall: a personal-data (phi) text item counts as found only if EVERY one of its character boxes is
  inside the union of predicted (margin-grown) boxes; with the Wilson 95 % interval and the number of items.
- char recall: share of phi character boxes fully covered.
- precision: share of predicted boxes whose centre lies on a real text item (any text, grown by half its height).
- over-redaction: share of non-text pixels blanked (non-text = outside every tight text box), and the same
  outside the text boxes grown by half their height (what is left after an acceptable margin).
Per layout family and per examination type. ``--sweep`` also reports recall/over-redaction at several confidence
thresholds (use it on a validation set of TRAINING families to choose detect.conf, never on the held-out set).
"""
from __future__ import annotations

import argparse
import dataclasses
import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from training.config import ROOT, Params, load_params


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (good near 100 %, unlike the normal approximation)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def instances_needed(target: float, confidence: float = 0.95) -> int:
    """Items to test with ZERO misses so the one-sided lower bound reaches target (rule of three generalised)."""
    return math.ceil(math.log(1 - confidence) / math.log(target))


def fill(mask: np.ndarray, box) -> None:
    """Set the pixels of one box (outward rounding, as the redactor blanks whole pixels)."""
    h, w = mask.shape
    x0, y0, x1, y1 = box[:4]
    mask[max(0, math.floor(y0)):min(h, math.ceil(y1)), max(0, math.floor(x0)):min(w, math.ceil(x1))] = True


def box_mask(dets: np.ndarray, height: int, width: int) -> np.ndarray:
    """Pixels blanked by the boxes."""
    m = np.zeros((height, width), bool)
    for d in dets:
        fill(m, d)
    return m


def _inner(box: list[float], h: int, w: int) -> tuple[int, int, int, int]:
    """Integer pixel window of a (character) box, rounding sub-pixel glyph edges inward."""
    x0, y0 = max(0, int(math.floor(box[0] + 0.25))), max(0, int(math.floor(box[1] + 0.25)))
    x1, y1 = min(w, int(math.ceil(box[2] - 0.25))), min(h, int(math.ceil(box[3] - 0.25)))
    return x0, y0, x1, y1


def covered(mask: np.ndarray, box: list[float]) -> bool:
    """Every pixel of the (character) box is blanked."""
    x0, y0, x1, y1 = _inner(box, *mask.shape)
    if x1 <= x0 or y1 <= y0:
        return True
    return bool(mask[y0:y1, x0:x1].all())


def invisible(img: np.ndarray | None, box: list[float]) -> bool:
    """The box holds ONE pixel value: text drawn in its background's own value (e.g. white on a saturated field).
    WHY excluded from recall: such a character carries no information in the pixels, so nothing can leak."""
    if img is None:
        return False
    x0, y0, x1, y1 = _inner(box, *img.shape[:2])
    return x1 > x0 and y1 > y0 and bool((img[y0:y1, x0:x1] == img[y0, x0]).all())


@dataclass
class Tally:
    items: int = 0
    found: int = 0
    chars: int = 0
    chars_found: int = 0
    text_items: int = 0
    text_found: int = 0
    invisible: int = 0  # personal-data items with no visible character: not counted above

    def add(self, other: Tally) -> None:
        for k in vars(self):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def summary(self) -> dict:
        lo, hi = wilson(self.found, self.items)
        return {"instances": self.items, "found": self.found, "instance_recall": _ratio(self.found, self.items),
                "ci95": [round(lo, 6), round(hi, 6)], "char_recall": _ratio(self.chars_found, self.chars),
                "chars": self.chars, "all_text_instances": self.text_items,
                "all_text_recall": _ratio(self.text_found, self.text_items), "invisible_items": self.invisible}


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 6) if b else None


@dataclass
class ImageResult:
    tally: Tally
    preds: int
    preds_on_text: int
    nontext_px: int
    blanked_nontext_px: int
    nontext_px_margin: int
    blanked_nontext_px_margin: int
    missed: list[dict] = field(default_factory=list)
    by_size: dict[str, Tally] = field(default_factory=dict)


SIZE_BUCKETS = ((10, "<10px"), (14, "10-13px"), (20, "14-19px"), (1e9, ">=20px"))


def size_bucket(box: list[float]) -> str:
    """Text thickness (line height; line width for vertical labels) bucket: small text is the hard case."""
    t = min(box[2] - box[0], box[3] - box[1])
    return next(name for limit, name in SIZE_BUCKETS if t < limit)


def score_image(gt: dict, dets: np.ndarray, height: int, width: int, img: np.ndarray | None = None) -> ImageResult:
    """Compare one image's detections (already margin-grown) with its ground-truth items; with img, characters
    that are invisible in it are not required (an item with no visible character is counted in ``invisible``)."""
    mask = box_mask(dets, height, width)
    t = Tally()
    by_size: dict[str, Tally] = defaultdict(Tally)
    missed = []
    text_tight = np.zeros((height, width), bool)
    text_grown = np.zeros((height, width), bool)
    centres = dets[:, :2] * 0.5 + dets[:, 2:4] * 0.5 if len(dets) else np.zeros((0, 2))
    on_text = np.zeros(len(dets), bool)
    for it in gt["items"]:
        if it.get("frames") is not None and 0 not in it["frames"]:
            continue  # the PNG is frame 0; this item is drawn on other frames only
        b = it["box"]
        bh = b[3] - b[1]
        g = [b[0] - bh / 2, b[1] - bh / 2, b[2] + bh / 2, b[3] + bh / 2]
        fill(text_tight, b)
        fill(text_grown, g)
        if len(dets):
            on_text |= (centres[:, 0] >= g[0]) & (centres[:, 0] <= g[2]) & (centres[:, 1] >= g[1]) & (centres[:, 1] <= g[3])
        chars = [c for c in (it.get("chars") or [b]) if c is not None]  # None = whitespace
        chars = [c for c in chars if not invisible(img, c)]
        if not chars:
            t.invisible += bool(it.get("phi"))
            continue
        ok = [covered(mask, c) for c in chars]
        all_ok = all(ok)
        t.text_items += 1
        t.text_found += all_ok
        if it.get("phi"):
            for tl in (t, by_size[size_bucket(b)]):
                tl.items += 1
                tl.found += all_ok
                tl.chars += len(ok)
                tl.chars_found += sum(ok)
            if not all_ok:
                missed.append({"text": it.get("text", ""), "kind": it.get("kind"), "box": b,
                               "chars": [c for c, o in zip(chars, ok) if not o]})
    return ImageResult(t, len(dets), int(on_text.sum()), int((~text_tight).sum()), int((mask & ~text_tight).sum()),
                       int((~text_grown).sum()), int((mask & ~text_grown).sum()), missed, dict(by_size))


def read_manifest(data: Path) -> dict[str, dict]:
    p = data / "manifest.csv"
    if not p.exists():
        return {}
    with open(p, newline="") as f:
        return {row.get("id") or row.get("sample_id") or "": row for row in csv.DictReader(f)}


def _pick(row: dict, gt: dict, *keys: str) -> str:
    for k in keys:
        v = row.get(k) or gt.get(k)
        if v:
            return str(v)
    return "unknown"


def load_image(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FileNotFoundError(path)
    if img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if img.ndim == 3 else img


def draw_example(img: np.ndarray, dets: np.ndarray, res: ImageResult) -> np.ndarray:
    """Predicted boxes green, missed characters red."""
    vis = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    for x0, y0, x1, y1, _ in dets:
        cv2.rectangle(vis, (int(x0), int(y0)), (int(x1), int(y1)), (0, 255, 0), 1)
    for m in res.missed:
        for c in m["chars"]:
            cv2.rectangle(vis, (int(c[0]), int(c[1])), (int(math.ceil(c[2])), int(math.ceil(c[3]))), (0, 0, 255), 2)
    return vis


def _accumulator() -> dict:
    return {"all": Tally(), "family": defaultdict(Tally), "exam": defaultdict(Tally), "size": defaultdict(Tally),
            "preds": 0, "on_text": 0, "nt": 0, "bnt": 0, "ntm": 0, "bntm": 0}


def _accumulate(a: dict, r: ImageResult, family: str, exam: str) -> None:
    """Add one image's result to an accumulator of _accumulator()."""
    for tally in (a["all"], a["family"][family], a["exam"][exam]):
        tally.add(r.tally)
    for k, v in r.by_size.items():
        a["size"][k].add(v)
    for key, value in (("preds", r.preds), ("on_text", r.preds_on_text), ("nt", r.nontext_px),
                       ("bnt", r.blanked_nontext_px), ("ntm", r.nontext_px_margin),
                       ("bntm", r.blanked_nontext_px_margin)):
        a[key] += value


def evaluate(data: Path, detector, confs: list[float] | None = None, examples_dir: Path | None = None,
             n_examples: int = 6, conf: float | None = None, margins: list[float] | None = None,
             alongs: list[float] | None = None, limit: int | None = None) -> dict:
    """Run the detector over every gt/*.json image of data/ (the first ``limit`` by name when given); returns the
    metrics dict (see module doc)."""
    from inference.detect.boxes import select  # noqa: PLC0415

    manifest = read_manifest(data)
    s = detector.settings
    op = (s.conf if conf is None else conf, s.margin_rel, s.margin_along)  # the operating point: the main result
    points = sorted({(c, m, g) for c in set(confs or []) | {op[0]} for m in set(margins or []) | {op[1]}
                     for g in set(alongs or []) | {op[2]}})
    per_conf = {c: _accumulator() for c in points}
    first_only = _accumulator()  # the operating point without the second look (what it adds, measured)
    looked = hasattr(detector, "look_again") and getattr(s, "second_look", None) is not None
    gts = sorted((data / "gt").glob("*.json"))[:limit]
    if not gts:
        raise SystemExit(f"no ground truth under {data}/gt")
    missed_log, shown = [], 0
    for gp in gts:
        gt = json.loads(gp.read_text())
        sid = gp.stem
        row = manifest.get(sid, {})
        img = load_image(data / "png" / f"{sid}.png")
        h, w = img.shape[:2]
        raw = detector.detect_raw(img)  # at the model's conf; lower sweep values need a lower-conf detector
        again = detector.look_again(img, raw) if looked else np.zeros((0, 5), np.float32)
        fam = _pick(row, gt, "family", "layout", "layout_family")
        exam = _pick(row, gt, "exam", "exam_type", "modality")
        for c in points:
            dets = select(raw, c[0], getattr(s, "conf_grow", None), c[1], s.margin_min, w, h, c[2],
                          getattr(s, "bridge", 0.0), getattr(s, "grow_line", False), getattr(s, "grow_ratio", None))
            if looked and c == op:
                _accumulate(first_only, score_image(gt, dets, h, w, img), fam, exam)
            dets = np.concatenate([dets[:, :5], again]) if len(again) else dets
            r = score_image(gt, dets, h, w, img)
            _accumulate(per_conf[c], r, fam, exam)
            if c == op:
                for m in r.missed:
                    missed_log.append({"id": sid, "family": fam, "exam": exam, "text": m["text"], "kind": m["kind"]})
                if examples_dir is not None and shown < n_examples and (r.missed or shown < n_examples // 2):
                    examples_dir.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(examples_dir / f"{sid}.png"), draw_example(img, dets, r))
                    shown += 1

    def pack(a: dict) -> dict:
        return {**a["all"].summary(),
                "precision": _ratio(a["on_text"], a["preds"]), "predicted_boxes": a["preds"],
                "over_redaction": _ratio(a["bnt"], a["nt"]), "over_redaction_beyond_margin": _ratio(a["bntm"], a["ntm"]),
                "per_family": {k: v.summary() for k, v in sorted(a["family"].items())},
                "per_exam": {k: v.summary() for k, v in sorted(a["exam"].items())},
                "per_text_size": {k: a["size"][k].summary() for _, k in SIZE_BUCKETS if k in a["size"]}}

    main = pack(per_conf[op])
    main["images"] = len(gts)
    main["settings"] = dataclasses.asdict(s)
    main["missed"] = missed_log[:200]
    if looked:
        main["first_pass_only"] = {k: v for k, v in pack(first_only).items() if k != "per_text_size"}
    if len(points) > 1:
        main["sweep"] = {f"conf={c},margin={m},along={g}": {k: v for k, v in pack(per_conf[(c, m, g)]).items()
                                                           if not k.startswith("per_")} for c, m, g in points}
    return main


def log_to_mlflow(params: Params, metrics: dict, model: Path, examples: Path) -> None:
    from training.config import flat  # noqa: PLC0415
    from training.tracking import log_artifacts_if_exist, mlflow_run, safe_metric_name  # noqa: PLC0415

    with mlflow_run("evaluate", flat(params)) as mlflow:
        scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and v is not None}
        for group in ("per_family", "per_exam", "per_text_size"):
            for name, m in metrics[group].items():
                for k in ("instance_recall", "char_recall", "instances"):
                    if m.get(k) is not None:
                        scalars[safe_metric_name(f"{group[4:]}/{name}/{k}")] = m[k]
        scalars["ci95_low"] = metrics["ci95"][0]
        mlflow.log_metrics({k: float(v) for k, v in scalars.items()})
        log_artifacts_if_exist(mlflow, [model, model.with_suffix(".json")], "model")
        if examples.exists():
            mlflow.log_artifacts(str(examples), artifact_path="examples")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default=None)
    ap.add_argument("--data", type=Path, default=None, help="held-out folder (default: params synth.heldout_dir)")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None, help="metrics json (default: params evaluate.metrics)")
    ap.add_argument("--sweep", type=float, nargs="*", default=None, help="extra confidence thresholds to report")
    ap.add_argument("--sweep-margin", type=float, nargs="*", default=None, help="extra margins (x box thickness)")
    ap.add_argument("--sweep-along", type=float, nargs="*", default=None, help="extra along-text margins")
    ap.add_argument("--scales", type=float, nargs="*", default=None, help="override the model's scale passes")
    ap.add_argument("--conf-grow", default=None,
                    help="override the hysteresis grow threshold ('none' = off: every box must reach conf)")
    ap.add_argument("--bridge", type=float, default=None, help="override the line-gap bridge (0 = off)")
    ap.add_argument("--no-second-look", action="store_true", help="first pass only (inference/detect/second_look.py off)")
    ap.add_argument("--no-mlflow", action="store_true")
    a = ap.parse_args(argv)
    params = load_params(a.params)
    from inference.detect import TextDetector  # noqa: PLC0415
    
    model = a.model or (ROOT / params.export.onnx)
    det = TextDetector(model)
    if a.scales:
        det.settings = dataclasses.replace(det.settings, scales=tuple(a.scales))
    if a.conf_grow is not None:
        grow_conf = None if a.conf_grow.lower() == "none" else float(a.conf_grow)
        det.settings = dataclasses.replace(det.settings, conf_grow=grow_conf)
    if a.bridge is not None:
        det.settings = dataclasses.replace(det.settings, bridge=a.bridge)
    if a.no_second_look:
        det.settings = dataclasses.replace(det.settings, second_look=None)
    base = det.settings
    if a.sweep:  # decode at the lowest threshold so every sweep value can be filtered from one pass
        det.settings = dataclasses.replace(base, conf=min(a.sweep + [base.conf]))
    data = a.data or (ROOT / params.synth.heldout_dir)
    examples = (ROOT / "runs" / "eval_examples")
    if examples.exists():
        import shutil  # noqa: PLC0415

        shutil.rmtree(examples)
    metrics = evaluate(data, det, a.sweep, examples, params.evaluate.examples, conf=base.conf, margins=a.sweep_margin,
                       alongs=a.sweep_along)
    metrics["settings"]["conf"] = base.conf
    metrics["target_recall"] = params.evaluate.target_recall
    metrics["instances_needed_for_target_zero_misses"] = instances_needed(params.evaluate.target_recall)
    metrics["data"] = str(data)
    out = a.out or (ROOT / params.evaluate.metrics)
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps({k: metrics[k] for k in ("images", "instances", "instance_recall", "ci95", "char_recall",
                                              "all_text_recall", "precision", "over_redaction",
                                              "over_redaction_beyond_margin")}, indent=1))
    if "first_pass_only" in metrics:
        f = metrics["first_pass_only"]
        print(f"  first pass only (no second look): recall={f['instance_recall']} ({f['found']}/{f['instances']}) "
              f"over={f['over_redaction']}")
    for fam, m in metrics["per_family"].items():
        print(f"  family {fam:24s} n={m['instances']:5d} recall={m['instance_recall']} char={m['char_recall']}")
    for ex, m in metrics["per_exam"].items():
        print(f"  exam   {ex:24s} n={m['instances']:5d} recall={m['instance_recall']} char={m['char_recall']}")
    for sz, m in metrics["per_text_size"].items():
        print(f"  size   {sz:24s} n={m['instances']:5d} recall={m['instance_recall']} char={m['char_recall']}")
    if "sweep" in metrics:
        for c, m in metrics["sweep"].items():
            print(f"  {c:34s} recall={m['instance_recall']} char={m['char_recall']} prec={m['precision']} over={m['over_redaction']}")
    if not a.no_mlflow:
        log_to_mlflow(params, metrics, model, examples)


if __name__ == "__main__":
    main()
