"""Export the trained weights to ONNX for inference/detect, with the sidecar of settings it must run with.

    python -m training.export [--params params.yaml] [--weights runs/detector/weights/best.pt]

The ONNX graph has a DYNAMIC input (any batch: the detector sends export.batch tiles per session.run; height and
width multiples of 32, at most detect.tile px: an image smaller than a tile is not padded up to it) and no NMS:
numpy does tiling and NMS, so the graph is the plain network and runs on any ONNX Runtime provider.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
from pathlib import Path

from training.config import ROOT, Params, load_params
from training.env import configure_ultralytics


def _abs(p: str | Path) -> Path:
    q = Path(p)
    return q if q.is_absolute() else ROOT / q


def _require_dynamic_batch(onnx_path: Path) -> None:
    """The sidecar's batch > 1 only runs on a graph whose batch dimension is symbolic."""
    import onnx as onnx_lib  # noqa: PLC0415

    dim = onnx_lib.load(str(onnx_path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim[0]
    if dim.HasField("dim_value"):
        raise SystemExit(f"{onnx_path}: exported with a fixed batch of {dim.dim_value}; expected a dynamic batch")


def export(params: Params, weights: Path | None = None) -> Path:
    """best.pt -> models/text_detector.onnx + models/text_detector.json. Returns the ONNX path."""
    configure_ultralytics()
    from ultralytics import YOLO  # noqa: PLC0415

    from inference.detect.detector import sha256_file  # noqa: PLC0415 - same hash the detector checks
    from inference.detect.second_look import SecondLookSettings  # noqa: PLC0415

    SecondLookSettings.from_dict(params.detect.second_look)  # unknown keys fail here, not at inference

    weights = weights or _abs(params.train.run_dir) / "weights" / "best.pt"
    if not weights.exists():
        raise SystemExit(f"no trained weights at {weights}: run python -m training.train first")
    model = YOLO(str(weights))
    made = Path(model.export(format="onnx", imgsz=params.detect.tile, opset=params.export.opset, simplify=True,
                             dynamic=True, nms=False, batch=1, device="cpu"))  # dynamic: batch too (batch=1 is the
    # sample input only); checked below, since inference's batch in the sidecar needs it
    _require_dynamic_batch(made)
    onnx = _abs(params.export.onnx)
    onnx.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(made), onnx)
    n_params = sum(p.numel() for p in model.model.parameters())
    results = weights.parent.parent / "results.csv"  # epochs actually run (a time budget re-fits the count)
    epochs = max(0, len(results.read_text().splitlines()) - 1) if results.exists() else params.train.epochs
    sidecar = {
        "format": "yolo-raw-head: input Nx3xHxW RGB float 0..1 (H, W multiples of 32, <= tile), "
                  "output Nx(4+nc)xA [cx,cy,w,h,scores] in tile px",
        "classes": ["text"],
        "settings": {k: getattr(params.detect, k) for k in ("tile", "overlap", "conf", "conf_grow", "grow_line",
                                                         "grow_ratio", "bridge", "iou", "margin_rel", "margin_along",
                                                         "margin_min", "scales", "second_look", "prior_conf", "max_thickness",
                                                         "max_thickness_enlarged", "small_side", "small_upscale")}
                    | {"batch": params.export.batch},
        "sha256": sha256_file(onnx),
        "exported": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "weights": str(weights.relative_to(ROOT)) if weights.is_relative_to(ROOT) else str(weights),
        "train": {"model_yaml": params.train.model_yaml, "scale": params.train.scale, "tile": params.train.tile,
                  "epochs": epochs, "hours_budget": params.train.hours, "parameters": n_params},
    }
    onnx.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")
    print(f"exported {onnx} ({onnx.stat().st_size / 1e6:.1f} MB), settings {onnx.with_suffix('.json')}")
    return onnx


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default=None)
    ap.add_argument("--weights", type=Path, default=None)
    a = ap.parse_args(argv)
    export(load_params(a.params), a.weights)


if __name__ == "__main__":
    main()
