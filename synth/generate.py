"""python -m synth.generate --out DIR --n N --seed S : synthetic DICOM with burned-in fake PHI and exact labels.

Writes DIR/images/<id>.dcm, DIR/png/<id>.png (frame 0 as a decoder shows it), DIR/labels/<id>.txt (YOLO, class 0 =
text, one box per text item), DIR/gt/<id>.json (ground truth) and DIR/manifest.csv; see synth/README.md.
Deterministic for (seed, index, installed fonts): each image draws from its own Random("seed:index"), so
``--workers`` does not change the output.
"""
from __future__ import annotations

import argparse
import dataclasses
import csv
import hashlib
import importlib
import importlib.util
import json
import random
import sys
import time
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

from synth.compose import compose
from synth.dicomio import build_dataset, encode, jpeg_roundtrip, parse_encoding
from synth.fonts import FontInfo, discover_fonts, font_fingerprint, select_fonts
from synth.frames import GENERATORS, cine_frames, make_frame
from synth.identity import Identity, make_identity
from synth.layout import FillContext, Layout, load_exam_types, load_layouts
from synth.render import Scene, composite
from synth.samples import real_background, sample_frame

GT_VERSION = 1


@dataclass(frozen=True)
class GenConfig:
    out: Path
    n: int
    seed: int
    families: tuple[str, ...]
    fonts: tuple[FontInfo, ...]
    start: int = 0
    documents_every: int = 25     # every K-th image also gets SR/PDF/ECG/scanned objects (0: none)
    low_contrast: float | None = None  # override every layout's text.low_contrast (hard-example sets); None: keep
    thin: float | None = None          # override every layout's text.thin (share of light-stroke images); None: keep
    frame_mix: float = 0.0             # share of images drawn over ANOTHER selected family's frame generator
    real_frames: float = 0.0           # share of images drawn over a REAL text-free frame from ``backgrounds``
    backgrounds: tuple[Path, ...] = ()  # real frames (training split only: training.realdata.background_frames)


def image_id(seed: int, index: int) -> str:
    return f"s{seed}_{index:06d}"


def split_hint(font: FontInfo, iid: str) -> str:
    """'test' for held-out font families, else a stable 10 % 'val' by id hash, rest 'train'."""
    if font.split_hint == "test":
        return "test"
    return "val" if int(hashlib.sha1(iid.encode()).hexdigest(), 16) % 10 == 0 else "train"


def yolo_lines(scene: Scene, w: int, h: int) -> list[str]:
    """YOLO rows (class cx cy bw bh, normalised) for the items visible on frame 0."""
    rows = []
    for it in scene.items:
        if it.frames is not None and 0 not in it.frames:
            continue
        x0, y0, x1, y1 = it.box
        rows.append(f"0 {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}")
    return rows


def identity_record(idt: Identity) -> dict:
    return {"name": idt.dicom_name, "sex": idt.sex, "personal_code": idt.personal_code,
            "birth_date": idt.birth_date.isoformat(), "exam_date": idt.exam_date.isoformat(),
            "patient_id": idt.patient_id, "accession": idt.accession, "hospital": idt.hospital}


def render_one(layout: Layout, fonts: tuple[FontInfo, ...], seed: int, index: int,
               backgrounds: tuple[Path, ...] = ()) -> dict:
    """Everything for one image, in memory: dataset, png frame, labels and ground truth. With ``backgrounds``, the
    clean frame is a crop of one of those real frames instead of the layout's own (same random stream otherwise)."""
    iid = image_id(seed, index)
    rng = random.Random(f"{seed}:{index}")
    nrng = np.random.default_rng(rng.getrandbits(64))
    exam = load_exam_types()[rng.choice(layout.exam_types)]
    bw, bh = rng.choice(layout.sizes)
    s = rng.uniform(*layout.scale)
    w, h = max(64, int(bw * s)) // 2 * 2, max(64, int(bh * s)) // 2 * 2
    n_frames = rng.randint(*layout.frames)
    enc = parse_encoding(rng.choice(layout.encodings))
    identity = make_identity(rng)
    ctx = FillContext(identity=identity, exam=exam, rng=rng, n_frames=n_frames)
    use_sample = rng.random() < layout.sample_p       # always drawn: same rng stream with or without samples
    clean = sample_frame(rng, w, h, layout.sample_modalities) if use_sample else None
    frame_source = "sample" if clean is not None else layout.frame
    if clean is None:
        clean = make_frame(layout.frame, nrng, w, h)
    if backgrounds:
        clean, frame_source = real_background(random.Random(f"{seed}:{index}:real"), w, h, backgrounds), "real"
    if layout.color == "mono" and clean.ndim == 3:
        clean = clean @ np.float32([0.299, 0.587, 0.114])
    elif layout.color == "rgb" and clean.ndim == 2:
        clean = np.repeat(clean[..., None], 3, axis=-1)      # grey anatomy, coloured overlay text
    scene, style = compose(layout, ctx, fonts, w, h, rng, n_frames, background=clean)
    backgrounds = cine_frames(clean, nrng, n_frames) if n_frames > 1 else [clean]
    display = np.stack([composite(b, scene, k) for k, b in enumerate(backgrounds)])
    drawn = display          # text exactly as drawn (tests compare it with the clean frames)
    artefacts = enc.compression != "jpeg" and rng.random() < layout.jpeg_artefacts
    if artefacts:            # a lossy screen capture stored losslessly: ringing around the text
        display = jpeg_roundtrip(display, rng.randint(35, 85))
    ds = build_dataset(identity, exam, enc, n_frames, h, w, rng)
    shown = encode(ds, display, enc, rng.randint(*layout.jpeg_quality))
    gt = {
        "version": GT_VERSION, "id": iid, "file": f"images/{iid}.dcm", "png": f"png/{iid}.png",
        "family": layout.family, "exam_type": exam.name, "modality": exam.modality, "sop_class": str(ds.SOPClassUID),
        "encoding": enc.name, "transfer_syntax": str(ds.file_meta.TransferSyntaxUID),
        "photometric": str(ds.PhotometricInterpretation), "bits_stored": int(ds.BitsStored),
        "rows": h, "cols": w, "frames": n_frames, "frame_generator": frame_source,
        "jpeg_artefacts": artefacts, "font": style.font.id, "font_file": style.font.path, "text_size": style.size, "aliased": style.aliased,
        "split": split_hint(style.font, iid), "seed": seed, "index": index,
        "identity": identity_record(identity),
        "items": [{"text": it.text, "phi": it.phi, "kind": it.kind, "box": it.box, "chars": it.char_boxes(),
                   "angle": it.angle, "frames": it.frames, "block": it.block, "font": it.font_id, "size": it.size,
                   "aliased": it.aliased, "stroke": it.stroke, "thin": it.thin, "color": list(it.color), "opacity": it.opacity,
                   "outline": list(it.outline) if it.outline else None}
                  for it in scene.items],
        "plates": [{"box": p.box, "color": list(p.color), "frames": p.frames} for p in scene.plates],
    }
    return {"id": iid, "ds": ds, "png": shown[0], "labels": yolo_lines(scene, w, h), "gt": gt, "identity": identity,
            "clean": backgrounds, "scene": scene, "display": drawn}


def write_one(result: dict, out: Path) -> dict:
    iid = result["id"]
    result["ds"].save_as(out / "images" / f"{iid}.dcm", enforce_file_format=True)
    Image.fromarray(result["png"]).save(out / "png" / f"{iid}.png", compress_level=1)
    (out / "labels" / f"{iid}.txt").write_text("\n".join(result["labels"]) + ("\n" if result["labels"] else ""))
    (out / "gt" / f"{iid}.json").write_text(json.dumps(result["gt"], ensure_ascii=False, indent=1), encoding="utf-8")
    g = result["gt"]
    return {"id": iid, "family": g["family"], "exam_type": g["exam_type"], "modality": g["modality"],
            "encoding": g["encoding"], "font": g["font"], "frames": g["frames"], "rows": g["rows"],
            "cols": g["cols"], "n_items": len(g["items"]), "n_phi": sum(i["phi"] for i in g["items"]),
            "split": g["split"]}


_WORKER: dict = {}


def _init(cfg: GenConfig) -> None:
    _WORKER["cfg"] = cfg
    _WORKER["layouts"] = load_layouts()


def _job(index: int) -> dict:
    cfg: GenConfig = _WORKER["cfg"]
    family = cfg.families[index % len(cfg.families)]    # round robin: balanced families
    layout = _WORKER["layouts"][family]
    overrides = {k: v for k, v in (("low_contrast", cfg.low_contrast), ("thin", cfg.thin)) if v is not None}
    if overrides:
        layout = dataclasses.replace(layout, text=dataclasses.replace(layout.text, **overrides))
    layout = mixed_frame(layout, cfg, _WORKER["layouts"], index)
    result = render_one(layout, cfg.fonts, cfg.seed, index, real_backgrounds(cfg, index))
    row = write_one(result, cfg.out)
    _maybe_documents(result["identity"], cfg, index)
    return row


def mixed_frame(layout: Layout, cfg: GenConfig, layouts: dict[str, Layout], index: int) -> Layout:
    """``layout`` with, for a ``cfg.frame_mix`` share of images, the clean-frame generator of another of the
    SELECTED families (so a training set never borrows a held-out family's own background).

    WHY: each family's text layout otherwise always sits on the same kind of anatomy, so the detector learns text
    on that texture only; a vendor layout it has never seen may come over any background. Drawn from its own
    Random stream: with frame_mix 0 every image is byte-identical to what it was before this option existed."""
    if cfg.frame_mix <= 0:
        return layout
    rng = random.Random(f"{cfg.seed}:{index}:frame")
    pool = sorted({layouts[f].frame for f in cfg.families} & set(GENERATORS) - {layout.frame})
    if not pool or rng.random() >= cfg.frame_mix:
        return layout
    return dataclasses.replace(layout, frame=rng.choice(pool))


def real_backgrounds(cfg: GenConfig, index: int) -> tuple[Path, ...]:
    """``cfg.backgrounds`` for a ``cfg.real_frames`` share of images, else (): real anatomy under synthetic text, so
    the detector learns real texture is not text (issue 16). Own Random stream: 0 keeps every image as before."""
    if cfg.real_frames <= 0 or not cfg.backgrounds:
        return ()
    return cfg.backgrounds if random.Random(f"{cfg.seed}:{index}:use-real").random() < cfg.real_frames else ()


def documents_module():
    """synth.documents (SR, PDF, ECG, scanned objects; written by another engineer) or None when absent."""
    if importlib.util.find_spec("synth.documents") is None:
        return None
    return importlib.import_module("synth.documents")


def _maybe_documents(identity: Identity, cfg: GenConfig, index: int) -> None:
    """Same identity as image ``index`` -> DIR/documents/<id>/ (only when synth.documents exists)."""
    if cfg.documents_every <= 0 or index % cfg.documents_every != 0:
        return
    mod = documents_module()
    if mod is not None and hasattr(mod, "generate_documents"):
        d = cfg.out / "documents" / image_id(cfg.seed, index)
        d.mkdir(parents=True, exist_ok=True)
        mod.generate_documents(identity, d, random.Random(f"{cfg.seed}:{index}:documents"))


def select_families(layouts: dict[str, Layout], include: list[str] | None, exclude: list[str] | None) -> tuple[str, ...]:
    names = sorted(layouts)
    unknown = [f for f in (include or []) + (exclude or []) if f not in layouts]
    if unknown:
        raise SystemExit(f"unknown layout families {unknown}; known: {', '.join(names)}")
    fams = tuple(f for f in names if (not include or f in include) and f not in (exclude or []))
    if not fams:
        raise SystemExit("no layout family left to generate")
    return fams


def generate(cfg: GenConfig, workers: int = 1, progress: bool = True) -> list[dict]:
    """Generate images ``cfg.start .. cfg.start+n-1`` into ``cfg.out``; returns manifest rows."""
    for sub in ("images", "png", "labels", "gt"):
        (cfg.out / sub).mkdir(parents=True, exist_ok=True)
    indices = range(cfg.start, cfg.start + cfg.n)
    rows: list[dict] = []
    if workers <= 1:
        _init(cfg)
        it = map(_job, indices)
        pool = None
    else:
        pool = Pool(workers, initializer=_init, initargs=(cfg,))
        it = pool.imap_unordered(_job, indices, chunksize=4)
    try:
        for k, row in enumerate(it, 1):
            rows.append(row)
            if progress and (k % 50 == 0 or k == cfg.n):
                print(f"  {k}/{cfg.n}", file=sys.stderr, flush=True)
    finally:
        if pool:
            pool.close()
            pool.join()
    rows.sort(key=lambda r: r["id"])
    return rows


def write_manifest(out: Path, rows: list[dict]) -> None:
    path = out / "manifest.csv"
    old = {}
    if path.exists():   # keep rows of earlier runs into the same folder (other seeds / ranges)
        with path.open(newline="", encoding="utf-8") as f:
            old = {r["id"]: r for r in csv.DictReader(f)}
    old.update({r["id"]: r for r in rows})
    fields = list(rows[0].keys()) if rows else ["id"]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for k in sorted(old):
            w.writerow(old[k])


def read_backgrounds(path: Path | None) -> tuple[Path, ...]:
    """The frame list of --backgrounds; every listed file must exist (a missing one is an error, not a skip)."""
    if path is None:
        return ()
    paths = tuple(Path(ln.strip()) for ln in path.read_text().splitlines() if ln.strip())
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"--backgrounds lists missing files: {missing[:3]}")
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m synth.generate", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0, help="first image index (to extend a set)")
    ap.add_argument("--families", nargs="*", help="layout families to use (default all)")
    ap.add_argument("--exclude-families", nargs="*")
    ap.add_argument("--fonts", nargs="*", help="font id/family globs, or 'held-out'")
    ap.add_argument("--exclude-fonts", nargs="*", help="font id/family globs, or 'held-out'")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--documents-every", type=int, default=25,
                    help="every K-th image also gets SR/PDF/ECG/scanned objects via synth.documents (0: off)")
    ap.add_argument("--low-contrast", type=float, default=None,
                    help="share of plate-less text blocks drawn faint, for every layout (default: each layout's own)")
    ap.add_argument("--thin", type=float, default=None,
                    help="share of images whose text is drawn with lighter strokes (default: each layout's own)")
    ap.add_argument("--frame-mix", type=float, default=0.0,
                    help="share of images drawn over another selected family's kind of frame (default 0)")
    ap.add_argument("--real-frames", type=float, default=0.0,
                    help="share of images drawn over a real text-free frame listed in --backgrounds (default 0)")
    ap.add_argument("--backgrounds", type=Path, default=None,
                    help="text file with one real frame path a line (training split only)")
    ap.add_argument("--list", action="store_true", help="list layout families and fonts, then exit")
    a = ap.parse_args(argv)
    layouts = load_layouts()
    fonts = select_fonts(discover_fonts(), a.fonts, a.exclude_fonts)
    if a.list:
        for name, lay in sorted(layouts.items()):
            print(f"family {name}: {lay.description}")
        for f in fonts:
            print(f"font {f.id} ({f.family}, {'mono' if f.mono else 'prop'}, split {f.split_hint})")
        return 0
    cfg = GenConfig(out=a.out, n=a.n, seed=a.seed, start=a.start,
                    families=select_families(layouts, a.families, a.exclude_families), fonts=fonts,
                    documents_every=a.documents_every, low_contrast=a.low_contrast, thin=a.thin,
                    frame_mix=a.frame_mix, real_frames=a.real_frames, backgrounds=read_backgrounds(a.backgrounds))
    if a.real_frames > 0 and not cfg.backgrounds:
        raise SystemExit("--real-frames needs --backgrounds FILE listing real frames")
    t0 = time.perf_counter()
    rows = generate(cfg, workers=a.workers)
    write_manifest(a.out, rows)
    (a.out / "fonts.json").write_text(json.dumps({"fingerprint": font_fingerprint(fonts),
                                                  "fonts": [f.id for f in fonts]}, indent=1))
    dt_s = time.perf_counter() - t0
    print(f"wrote {len(rows)} images to {a.out} in {dt_s:.1f} s ({len(rows) / max(dt_s, 1e-9):.1f} images/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
