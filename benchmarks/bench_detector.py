"""ONNX Runtime detector vs ultralytics/PyTorch on the same model, 2 CPU threads: ms per tile and per image.

    python benchmarks/bench_detector.py [--images DIR] [--n 10] [--weights runs/detector/weights/best.pt]

Prints ms per tile (batch 1, model input only) and ms per whole image (tiling + NMS + margin) for our ONNX path,
the same for ultralytics predict with the PyTorch weights (if present) and with the ONNX file, and the ratios.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inference.detect import TextDetector  # noqa: E402
from inference.detect.tiling import crop_padded, tile_plan, to_rgb  # noqa: E402
from training.evaluate import load_image  # noqa: E402


def timed(fn, repeat: int) -> float:
    """Median seconds of fn() over repeat runs after one warm-up."""
    fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=Path, default=ROOT / "data/synth/heldout/png")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--weights", type=Path, default=ROOT / "runs/detector/weights/best.pt")
    a = ap.parse_args(argv)
    det = TextDetector(threads=2)
    s = det.settings
    paths = sorted(a.images.glob("*.png"))[: a.n]
    if not paths:
        raise SystemExit(f"no PNG images in {a.images} (python -m synth.generate --out DIR --n 8, then --images DIR/png)")
    imgs = [to_rgb(load_image(p)) for p in paths]
    tile = crop_padded(imgs[0], 0, 0, s.tile)
    onnx_tile = timed(lambda: det.detect_tile(tile), a.repeat * 4)
    onnx_img = statistics.mean(timed(lambda im=im: det.detect(im), a.repeat) for im in imgs)
    n_tiles = statistics.mean(sum(len(tile_plan(round(im.shape[0] * sc), round(im.shape[1] * sc), s.tile, s.overlap,
                                                det.dynamic)[2]) for sc in s.scales) for im in imgs)
    mean_px = statistics.mean(im.shape[0] * im.shape[1] for im in imgs) ** 0.5
    print(f"model {det.model_path.name}: tile {s.tile}px, {len(imgs)} images of ~{mean_px:.0f}px, {n_tiles:.1f} tiles/image over scales {s.scales}")
    print(f"onnxruntime (2 threads)          : {onnx_tile * 1e3:7.1f} ms/tile  {onnx_img * 1e3:7.1f} ms/image")
    if s.second_look is not None:  # what the second look along lines (inference/detect/second_look.py) costs
        det.settings = dataclasses.replace(s, second_look=None)
        first_only = statistics.mean(timed(lambda im=im: det.detect(im), a.repeat) for im in imgs)
        det.settings = s
        print(f"  of which second look           :          {(onnx_img - first_only) * 1e3:7.1f} ms/image "
              f"(first pass alone {first_only * 1e3:.1f}, x{onnx_img / first_only:.2f} with it)")

    from training.env import configure_ultralytics, set_torch_threads  # noqa: PLC0415

    configure_ultralytics()
    set_torch_threads(2)
    from ultralytics import YOLO  # noqa: PLC0415

    bgr = np.ascontiguousarray(tile[:, :, ::-1])
    rows = []
    candidates = [("ultralytics + PyTorch (.pt)", a.weights), ("ultralytics + ONNX (.onnx)", det.model_path)]
    for name, path in candidates:
        if not Path(path).exists():
            print(f"{name:33s}: skipped ({path} missing)")
            continue
        y = YOLO(str(path), task="detect")

        def run_tile(y=y):
            y.predict(bgr, imgsz=s.tile, conf=det.floor_conf, iou=s.iou, device="cpu", verbose=False)

        def run_image(im, y=y):  # same scale passes and tiling as ours, ultralytics doing pre/post per tile
            for sc in s.scales:
                v = im if sc == 1.0 else cv2.resize(im, None, fx=sc, fy=sc, interpolation=cv2.INTER_AREA)
                th, tw, starts = tile_plan(v.shape[0], v.shape[1], s.tile, s.overlap, det.dynamic)
                for y0, x0 in starts:
                    c = np.ascontiguousarray(crop_padded(v, y0, x0, th, tw)[:, :, ::-1])
                    y.predict(c, imgsz=[th, tw], conf=det.floor_conf, iou=s.iou, device="cpu", verbose=False)

        t_tile = timed(run_tile, a.repeat * 4)
        t_img = statistics.mean(timed(lambda im=im: run_image(im), max(1, a.repeat // 2)) for im in imgs)
        rows.append((name, t_tile, t_img))
        print(f"{name:33s}: {t_tile * 1e3:7.1f} ms/tile  {t_img * 1e3:7.1f} ms/image")
    for name, t_tile, t_img in rows:
        print(f"speed-up of our ONNX path vs {name}: x{t_tile / onnx_tile:.2f} per tile, x{t_img / onnx_img:.2f} per image")


if __name__ == "__main__":
    main()
