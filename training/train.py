"""Train the text-region detector: tiles from synth (+ real sets) -> ultralytics YOLO from the model YAML.

No pretrained weights (nothing may download): the model starts from the YAML in training/models/. Training is
resumable: if ``<run_dir>/weights/last.pt`` exists, ``--resume`` continues it (ultralytics checkpoints every epoch),
so a killed background job loses at most one epoch.

    python -m training.train [--params params.yaml] [--resume] [--skip-tiles]
"""
from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from training.config import ROOT, Params, flat, load_params
from training.env import configure_ultralytics, set_torch_threads
from training.realset import prepare_real_set
from training.tiles import TileConfig, build_tiles


def _abs(p: str) -> Path:
    q = Path(p)
    return q if q.is_absolute() else ROOT / q


def make_tiles(params: Params) -> Path:
    """(Re)build the tile dataset from the synthetic training set and any real labelled sets."""
    tp = params.train
    out = _abs(tp.tiles_dir)
    if out.exists():
        shutil.rmtree(out)
    sources = [_abs(params.synth.train_dir)]
    for real in tp.real_sets:
        sources.append(prepare_real_set(_abs(real), out.parent / f"real_{Path(real).name}"))
    sources += [(_abs(r.dir), r.per_image) for r in tp.real_tiles]
    counts = build_tiles(sources, out, TileConfig(size=tp.tile, per_image=tp.tiles_per_image, seed=tp.seed))
    print(f"tiles {counts} from {[str(s) for s in sources]}", flush=True)
    return out / "data.yaml"


def model_cfg(tp: Params) -> dict:
    """The model YAML keeping ONLY the chosen scale: ultralytics overwrites 'scale' from the file name and then
    takes the first entry of 'scales', so a single entry is the reliable way to pick it."""
    import yaml  # noqa: PLC0415

    cfg = yaml.safe_load(_abs(tp.train.model_yaml).read_text())
    cfg["scales"] = {tp.train.scale: cfg["scales"][tp.train.scale]}
    return cfg


def train(params: Params, resume: bool = False, skip_tiles: bool = False) -> Path:
    """Run (or resume) training; returns the path of best.pt."""
    configure_ultralytics()
    set_torch_threads(params.train.threads)
    from ultralytics import YOLO  # noqa: PLC0415 - only after offline setup

    tp = params.train
    run = _abs(tp.run_dir)
    last = run / "weights" / "last.pt"
    if resume and last.exists():
        print(f"resuming from {last}", flush=True)
        YOLO(str(last)).train(resume=True)
        return run / "weights" / "best.pt"
    data = _abs(tp.tiles_dir) / "data.yaml"
    if not (skip_tiles and data.exists()):
        data = make_tiles(params)
    if run.exists():
        shutil.rmtree(run)
    cfg_path = run.parent / f"{run.name}_model.yaml"
    cfg_path.parent.mkdir(parents=True, exist_ok=True)
    import yaml  # noqa: PLC0415

    cfg_path.write_text(yaml.safe_dump(model_cfg(params)))
    model = YOLO(str(cfg_path), task="detect")
    model.train(
        data=str(data), epochs=tp.epochs, imgsz=tp.tile, batch=tp.batch, device="cpu", workers=0,
        project=str(run.parent), name=run.name, exist_ok=True, seed=tp.seed,
        patience=tp.patience, mosaic=tp.mosaic, close_mosaic=tp.close_mosaic, scale=tp.scale_aug,
        fliplr=0.0, degrees=0.0, translate=0.1, hsv_h=0.015, hsv_s=0.5, hsv_v=0.4, plots=False,
        cache="ram", save_period=-1, verbose=True, amp=False, deterministic=False, rect=False,
        # init_weights: our own earlier checkpoint (committed under models/checkpoints/), never a download
        pretrained=str(_abs(tp.init_weights)) if tp.init_weights else False,
        warmup_epochs=tp.warmup_epochs if tp.warmup_epochs is not None else 1.0 if tp.init_weights else 3.0,
        **({"time": tp.hours} if tp.hours > 0 else {}),
        **({"optimizer": "AdamW", "lr0": tp.lr0} if tp.lr0 > 0 else {}),
    )
    return run / "weights" / "best.pt"


def log_run(params: Params, run: Path, seconds: float) -> None:
    """MLflow: params, per-epoch metrics from ultralytics' results.csv, weights."""
    import csv  # noqa: PLC0415

    from training.tracking import log_artifacts_if_exist, mlflow_run, safe_metric_name  # noqa: PLC0415

    with mlflow_run("train", flat(params)) as mlflow:
        res = run / "results.csv"
        if res.exists():
            with open(res) as f:
                for row in csv.DictReader(f):
                    row = {k.strip(): v for k, v in row.items()}
                    step = int(float(row.get("epoch", 0)))
                    mlflow.log_metrics({safe_metric_name(k): float(v) for k, v in row.items()
                                        if k != "epoch" and v not in ("", None)}, step=step)
        mlflow.log_metric("train_seconds", seconds)
        log_artifacts_if_exist(mlflow, [res, run / "args.yaml", run / "weights" / "best.pt"], "train")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default=None)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--skip-tiles", action="store_true", help="reuse the existing tile dataset")
    ap.add_argument("--no-mlflow", action="store_true")
    a = ap.parse_args(argv)
    params = load_params(a.params)
    t0 = time.time()
    best = train(params, resume=a.resume, skip_tiles=a.skip_tiles)
    if not best.exists():
        raise SystemExit(f"training produced no {best}")
    if not a.no_mlflow:
        log_run(params, best.parent.parent, time.time() - t0)
    print(f"best weights: {best}", flush=True)


if __name__ == "__main__":
    main()
