"""Pixels on REAL images: the real pipeline (python -m inference.run) on the hand-labelled shared DICOM files and
on real text-free frames, against a RapidOCR-detector baseline (every box it finds blanked).

    python benchmarks/real_pixels.py [--split dev|train|all] [--free-limit N] [--model M.onnx]
                                     [--settings conf=0.2,second_look=None] [--no-baseline] [--out FILE]
                                     [--files NAME,NAME] [--per-file] [--phi-sheet FILE.png]

Prints, per modality and overall: personal items removed; all text items removed (>= 97 % of an item's ink pixels
changed, training/realeval.py); the share of non-text pixels changed on files with text (mean / max); and the
share of pixels changed on text-free real frames (mean / max). Files: the labelled files of the split
(training/data/real_split.yaml; re-encodings of one picture counted once), and the text-free frames of
../shared/data/real of that split (wrapped as Secondary Capture DICOM so they go through the same CLI) plus the
split's text-free DICOM samples. Results: benchmarks/results/real_pixels_<split>.txt (and .json).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inference.pixels.decode import iter_frames  # noqa: E402
from training.realdata import dicom_views, labelled_files, load_frame, real_frames, text_free_samples  # noqa: E402
from training.realeval import RealTally, box_union, changed_mask, summary_line  # noqa: E402

KEY = "real-pixels-benchmark-key-0123456789abcdef"


def frame_dicom(img: np.ndarray, modality: str, path: Path) -> None:
    """An 8-bit real frame as a minimal Secondary Capture file (grey or RGB), so the CLI can take it."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality, ds.ConversionType = "REAL^FRAME", path.stem[:64], modality, "WSD"
    ds.Rows, ds.Columns = img.shape[:2]
    ds.SamplesPerPixel = 1 if img.ndim == 2 else 3
    ds.PhotometricInterpretation = "MONOCHROME2" if img.ndim == 2 else "RGB"
    if img.ndim == 3:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = np.ascontiguousarray(img).tobytes()
    ds.save_as(path, enforce_file_format=True)


def first_frames(path: Path, n: int = 1) -> list[np.ndarray]:
    ds = pydicom.dcmread(path)
    out = []
    for k, f in enumerate(iter_frames(ds)):
        out.append(f)
        if k + 1 >= n:
            break
    return out


def build_inputs(split: str, free_limit: int | None, work: Path, only: list[str] | None = None) -> tuple[dict, dict]:
    """Input folder for the CLI: labelled files (symlinked) and text-free frames/files. Returns
    {input name: (LabelledFile, modality)} and {input name: modality} for the text-free ones. ``only``: just the
    labelled files whose path contains one of these strings; ``free_limit`` 0: no text-free frames."""
    inp = work / "in"
    inp.mkdir(parents=True)
    labelled, free = {}, {}
    uids: set[str] = set()

    def first_of_its_uid(path: Path) -> pydicom.Dataset | None:
        """The header, or None for a second file with an SOP Instance UID already in the run (re-encodings of one
        picture share it; the pipeline quarantines the second of a pair, which is not what is measured here)."""
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        uid = str(ds.get("SOPInstanceUID", path))
        if uid in uids:
            print(f"left out (same SOP Instance UID as a file already in the run): {path.name}", file=sys.stderr)
            return None
        uids.add(uid)
        return ds

    splits = ("dev", "train") if split == "all" else (split,)
    for sp in splits:
        for k, lf in enumerate(labelled_files(sp)):
            if only and not any(o in str(lf.path) for o in only):
                continue
            ds = first_of_its_uid(lf.path)
            if ds is None:
                continue
            name = f"lab_{sp}_{k:02d}.dcm"
            (inp / name).symlink_to(lf.path.resolve())
            labelled[name] = (lf, str(ds.get("Modality", "OT")))
    if free_limit == 0:
        return labelled, free
    frames = [fr for sp in splits for fr in real_frames(sp, has_text=False)]
    if free_limit is not None:
        frames = frames[::max(1, len(frames) // free_limit)][:free_limit]
    for k, fr in enumerate(frames):
        name = f"free_{k:04d}.dcm"
        frame_dicom(load_frame(fr.path), fr.modality, inp / name)
        free[name] = fr.modality
    for k, p in enumerate(text_free_samples(split)):
        ds = first_of_its_uid(p)
        if ds is None:
            continue
        name = f"freedcm_{k:03d}.dcm"
        (inp / name).symlink_to(p.resolve())
        free[name] = str(ds.get("Modality", "OT"))
    return labelled, free


def model_variant(model: Path, settings: str, work: Path) -> Path:
    """A copy of the model whose sidecar has ``settings`` (k=v,k=v; None turns a feature off) applied."""
    if not settings:
        return model
    d = work / "model"
    d.mkdir()
    shutil.copy(model, d / model.name)
    side = json.loads(model.with_suffix(".json").read_text())
    for part in filter(None, settings.split(",")):
        k, v = (x.strip() for x in part.split("=", 1))
        side["settings"][k] = None if v.lower() == "none" else float(v)
    (d / model.name).with_suffix(".json").write_text(json.dumps(side, indent=2))
    return d / model.name


def run_pipeline(inp: Path, out: Path, model: Path) -> dict[str, Path]:
    """python -m inference.run; returns {input name: released DICOM output}."""
    env = {**os.environ, "MEDANON_KEY": KEY}
    cmd = [sys.executable, "-m", "inference.run", str(inp), str(out), "--quiet", "--model", str(model)]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if r.returncode not in (0, 3):
        raise SystemExit(f"inference.run failed ({r.returncode}): {r.stderr[-2000:]}")
    released = {}
    for line in (out.parent / f"{out.name}.audit" / "trail.jsonl").read_text().splitlines():
        rec = json.loads(line)
        dcm = [o for o in rec.get("outputs", []) if o.endswith(".dcm")]
        if rec.get("status") == "written" and dcm:
            released[Path(rec["source"]).name] = out / dcm[0]
    return released


def score_pipeline(labelled: dict, free: dict, inp: Path, released: dict,
                   per_file: dict | None = None) -> dict[str, RealTally]:
    """Tallies per modality (and 'all') from input vs output pixels. A file that was not released counts as
    every pixel changed (nothing of it reaches a researcher) and every item removed. ``per_file`` (a dict) gets
    each labelled file's own summary."""
    t: dict[str, RealTally] = defaultdict(RealTally)
    for name, (lf, mod) in labelled.items():
        one = RealTally()
        view = dicom_views(lf.path, [0])[0]
        items = [it for it in lf.label["items"] if it["frame"] in ("all", 0)]
        before = first_frames(inp / name)[0]
        changed = (changed_mask(before, first_frames(released[name])[0]) if name in released
                   else np.ones(before.shape[:2], bool))
        one.add_text_frame(lf.path.name, view, changed, items)
        t[mod].add(one)
        t["all"].add(one)
        if per_file is not None:
            per_file[lf.path.name] = one.summary()
    for name, mod in free.items():
        one = RealTally()
        before = first_frames(inp / name)[0]
        one.add_free_frame(changed_mask(before, first_frames(released[name])[0]) if name in released
                           else np.ones(before.shape[:2], bool))
        if per_file is not None:
            per_file[f"free:{name}"] = {**one.summary(), "shape": list(before.shape[:2])}
        t[mod].add(one)
        t["all"].add(one)
    return t


def contact_sheet(labelled: dict, released: dict, path: Path, limit: int = 16) -> None:
    """Before | after pairs (frame 0, the detector's view) of up to ``limit`` labelled files, one row each pair."""
    import cv2  # noqa: PLC0415

    cells = []
    for name, (lf, _) in sorted(labelled.items())[:limit]:
        if name not in released:
            continue
        pair = []
        for p in (lf.path, released[name]):
            v = dicom_views(p, [0])[0]
            v = cv2.cvtColor(v, cv2.COLOR_GRAY2BGR) if v.ndim == 2 else cv2.cvtColor(v, cv2.COLOR_RGB2BGR)
            pair.append(cv2.resize(v, (400, int(400 * v.shape[0] / v.shape[1]))))
        hgt = max(x.shape[0] for x in pair)
        pair = [cv2.copyMakeBorder(x, 0, hgt - x.shape[0], 0, 4, cv2.BORDER_CONSTANT, value=(60, 60, 60)) for x in pair]
        cell = np.hstack(pair)
        cv2.putText(cell, lf.path.name[:40], (4, hgt - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
        cells.append(cv2.copyMakeBorder(cell, 0, 6, 0, 6, cv2.BORDER_CONSTANT, value=(60, 60, 60)))
    rows = []
    for i in range(0, len(cells), 2):
        row = cells[i:i + 2]
        hgt = max(c.shape[0] for c in row)
        row = [cv2.copyMakeBorder(c, 0, hgt - c.shape[0], 0, 0, cv2.BORDER_CONSTANT, value=(60, 60, 60)) for c in row]
        if len(row) == 1:
            row.append(np.full_like(row[0], 60))
        rows.append(np.hstack(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack(rows))


def stretched(crop: np.ndarray) -> np.ndarray:
    """``crop`` (grey or RGB) as 8-bit RGB, its 1st..99th percentile stretched to 0..255: the faint remnant of a
    letter in a blanked box (a few levels of another tone) shows."""
    a = crop.astype(np.float32)
    a = np.repeat(a[..., None], 3, axis=2) if a.ndim == 2 else a
    lo, hi = np.percentile(a, 1), np.percentile(a, 99)
    return np.clip((a - lo) / max(1.0, hi - lo) * 255, 0, 255).astype(np.uint8)


def phi_sheet(labelled: dict, released: dict, path: Path, width: int = 900) -> int:
    """Every personal item of frame 0: the original crop beside the released crop contrast-stretched (stretched()),
    rows of pairs, for a look by eye. WHY: neither metric sees a ghost (letters rewritten to a tone a few levels off
    their panel: their ink did change), and session 12 found one only by looking. Returns the number of items."""
    import cv2  # noqa: PLC0415

    tiles = []
    for name, (lf, _) in sorted(labelled.items()):
        if name not in released:
            continue
        before, after = dicom_views(lf.path, [0])[0], dicom_views(released[name], [0])[0]
        h, w = before.shape[:2]
        for it in lf.label["items"]:
            if not it["phi"] or it["frame"] not in ("all", 0):
                continue
            x0, y0, x1, y1 = (int(v) for v in it["box"])
            x0, y0, x1, y1 = max(0, x0 - 6), max(0, y0 - 4), min(w, x1 + 6), min(h, y1 + 4)
            if x1 <= x0 or y1 <= y0:
                continue
            b = before[y0:y1, x0:x1]
            b = np.repeat(b[..., None], 3, axis=2) if b.ndim == 2 else b
            pair = cv2.resize(np.hstack([b.astype(np.uint8), stretched(after[y0:y1, x0:x1])]), None, fx=2, fy=2,
                              interpolation=cv2.INTER_NEAREST)[:, :width - 4]
            tiles.append(cv2.copyMakeBorder(pair, 0, 4, 0, 4, cv2.BORDER_CONSTANT, value=(90, 90, 90)))
    rows, row = [], []
    for tile in tiles + [None]:
        if row and (tile is None or sum(x.shape[1] for x in row) + tile.shape[1] > width):
            hgt = max(x.shape[0] for x in row)
            cells = [cv2.copyMakeBorder(x, 0, hgt - x.shape[0], 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
                     for x in row]
            line = np.hstack(cells)
            rows.append(cv2.copyMakeBorder(line, 0, 0, 0, width - line.shape[1], cv2.BORDER_CONSTANT, value=(0, 0, 0)))
            row = []
        if tile is not None:
            row.append(tile)
    if rows:
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    return len(tiles)


def overlays(labelled: dict, inp: Path, released: dict, folder: Path) -> None:
    """One PNG per labelled file (the detector's view of frame 0): changed pixels outside the label boxes red,
    changed inside them blue, label boxes green. For finding where the non-text figure comes from."""
    import cv2  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    for name, (lf, _) in sorted(labelled.items()):
        if name not in released:
            continue
        view = dicom_views(lf.path, [0])[0]
        vis = cv2.cvtColor(view, cv2.COLOR_GRAY2BGR) if view.ndim == 2 else cv2.cvtColor(view, cv2.COLOR_RGB2BGR)
        changed = changed_mask(first_frames(inp / name)[0], first_frames(released[name])[0])
        items = [it for it in lf.label["items"] if it["frame"] in ("all", 0)]
        inside = box_union([it["box"] for it in items], *changed.shape)
        vis[changed & ~inside] = (0, 0, 255)
        vis[changed & inside] = (255, 128, 0)
        for it in items:
            x0, y0, x1, y1 = (int(round(v)) for v in it["box"])
            cv2.rectangle(vis, (x0, y0), (x1, y1), (0, 255, 0), 1)
        cv2.imwrite(str(folder / f"{lf.path.name}.png"), vis)


def ocr_boxes(view: np.ndarray) -> list[list[float]]:
    """RapidOCR's PP-OCR text detector (bundled model), every box it proposes."""
    from inference.audit.ocr import _rapidocr  # noqa: PLC0415

    rgb = np.stack([view] * 3, axis=-1) if view.ndim == 2 else view
    res = _rapidocr()(rgb, use_det=True, use_cls=False, use_rec=False)
    if res is None or getattr(res, "boxes", None) is None:
        return []
    out = []
    for b in res.boxes:
        pts = np.asarray(b)
        out.append([*pts.min(axis=0), *pts.max(axis=0)])
    return out


def score_baseline(labelled: dict, free: dict, inp: Path) -> dict[str, RealTally]:
    """The OCR-detector baseline on the same frames: its boxes blanked (mask), scored the same way."""
    from training.realdata import dicom_views as views  # noqa: PLC0415

    t: dict[str, RealTally] = defaultdict(RealTally)
    for name, (lf, mod) in labelled.items():
        one = RealTally()
        view = views(lf.path, [0])[0]
        changed = box_union(ocr_boxes(view), *view.shape[:2])
        one.add_text_frame(lf.path.name, view, changed, [it for it in lf.label["items"] if it["frame"] in ("all", 0)])
        t[mod].add(one)
        t["all"].add(one)
    for name, mod in free.items():
        one = RealTally()
        view = views(inp / name, [0])[0]
        one.add_free_frame(box_union(ocr_boxes(view), *view.shape[:2]))
        t[mod].add(one)
        t["all"].add(one)
    return t


def report(title: str, tallies: dict[str, RealTally]) -> tuple[list[str], dict]:
    lines, js = [title], {}
    for mod in sorted(tallies, key=lambda m: (m == "all", m)):
        s = tallies[mod].summary()
        js[mod] = s
        lines.append("  " + summary_line(mod, s))
    missed = tallies["all"].summary()["missed_phi"] if "all" in tallies else []
    lines.append(f"  personal items not removed: {missed if missed else 'none'}")
    other = tallies["all"].summary()["missed_items"] if "all" in tallies else []
    lines.append(f"  text items not removed (share of ink changed): {other if other else 'none'}")
    return lines, js


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("dev", "train", "all"), default="dev")
    ap.add_argument("--free-limit", type=int, default=None, help="at most N text-free real frames (evenly spread)")
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "text_detector.onnx")
    ap.add_argument("--settings", default="", help="detector settings overridden, k=v,k=v")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--sheet", type=Path, default=None, help="write a before/after contact sheet PNG here")
    ap.add_argument("--phi-sheet", type=Path, default=None,
                    help="write every personal item, original | released contrast-stretched, to this PNG (by eye)")
    ap.add_argument("--out", type=Path, default=None, help="results file (default benchmarks/results/real_pixels_<split>.txt)")
    ap.add_argument("--files", default="", help="only the labelled files whose path contains one of these (a,b,c)")
    ap.add_argument("--per-file", action="store_true", help="also a line per labelled file")
    ap.add_argument("--keep", type=Path, default=None, help="keep the inputs and outputs in this folder (to look at)")
    ap.add_argument("--overlays", type=Path, default=None,
                    help="write one PNG per labelled file here: changed pixels outside the labels red")
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    out_txt = a.out or ROOT / "benchmarks" / "results" / f"real_pixels_{a.split}.txt"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) if a.keep is None else a.keep
        if a.keep is not None:
            shutil.rmtree(a.keep, ignore_errors=True)
            a.keep.mkdir(parents=True)
        labelled, free = build_inputs(a.split, a.free_limit, work, [f for f in a.files.split(",") if f])
        model = model_variant(a.model, a.settings, work)
        t0 = time.perf_counter()
        released = run_pipeline(work / "in", work / "out", model)
        secs = time.perf_counter() - t0
        held = sorted(n for n in [*labelled, *free] if n not in released)
        for n in held:  # counted as every pixel changed: nothing of it reaches a researcher
            print(f"not released (see the quarantine reason): {n} = "
                  f"{labelled[n][0].path.name if n in labelled else n}", file=sys.stderr)
        per_file: dict = {}
        lines, js = report(f"medanon (python -m inference.run, {a.model.name} {a.settings or 'sidecar settings'}; "
                           f"{len(labelled)} labelled files, {len(free)} text-free frames, split {a.split}; "
                           f"{len(labelled) + len(free) - len(released)} not released; {secs:.0f} s)",
                           score_pipeline(labelled, free, work / "in", released, per_file))
        if a.per_file:
            files = {n: s for n, s in per_file.items() if not n.startswith("free:")}
            worst = sorted(((s["textfree_changed"]["max"] or 0.0, n, s["shape"]) for n, s in per_file.items()
                            if n.startswith("free:")), reverse=True)[:12]
            lines += ["  per labelled file:"] + ["    " + summary_line(n[:28], s) for n, s in sorted(files.items())]
            lines += ["  text-free frames changed most:"] + [f"    {v:7.2%}  {n[5:]}  {h}x{w}" for v, n, (h, w) in worst]
        result = {"medanon": js, "medanon_files": per_file}
        if a.sheet:
            contact_sheet(labelled, released, a.sheet)
        if a.phi_sheet:
            print(f"{phi_sheet(labelled, released, a.phi_sheet)} personal items -> {a.phi_sheet}")
        if a.overlays:
            overlays(labelled, work / "in", released, a.overlays)
        if not a.no_baseline:
            t0 = time.perf_counter()
            bl, bjs = report("RapidOCR PP-OCR detector, every box blanked", score_baseline(labelled, free, work / "in"))
            bl[0] += f" ({time.perf_counter() - t0:.0f} s)"
            lines += bl
            result["rapidocr_detector"] = bjs
    text = "\n".join(lines)
    print(text)
    out_txt.parent.mkdir(parents=True, exist_ok=True)
    out_txt.write_text(f"$ python benchmarks/real_pixels.py {' '.join(argv or sys.argv[1:])}\n{text}\n")
    out_txt.with_suffix(".json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
