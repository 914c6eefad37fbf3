"""Pipeline parameters: params.yaml (full profile) or params_small.yaml (minutes, for the dvc test).

Every stage reads the same file so DVC can track exactly the parameters each stage depends on. The file is chosen
by ``--params`` or the ``MEDANON_PARAMS`` environment variable (default: params.yaml at the project root).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class HardSet:
    """One block of hard training examples, appended after train_n (and after the blocks before it)."""

    n: int
    low_contrast: float = 0.6  # share of faint text
    thin: float | None = None  # share of lighter strokes (None: each layout's own)
    fonts: list[str] = field(default_factory=list)  # font id/family globs to draw from ([]: every training font)
    frame_mix: float = 0.0  # share drawn over another training family's kind of frame (synth --frame-mix)
    real_frames: float = 0.0  # share drawn over a real text-free frame of the training split (synth --real-frames)
    modalities: list[str] = field(default_factory=list)  # those real frames only of these modalities ([]: all)


@dataclass(frozen=True)
class RealTiles:
    """A folder in synth's layout (png/ + labels/) made by training/realdata.py, and the tiles cut per image
    (1 for pre-cut negative tiles)."""

    dir: str
    per_image: int = 4


@dataclass(frozen=True)
class SynthParams:
    generator: str = "synth.generate"  # module run as python -m <generator>
    train_n: int = 400
    train_seed: int = 1
    heldout_n: int = 150
    heldout_seed: int = 9001
    heldout_families: list[str] = field(default_factory=list)  # excluded from training, only in held-out
    heldout_fonts: list[str] = field(default_factory=list)  # font globs, or ["held-out"] (synth's own list)
    workers: int = 1
    train_dir: str = "data/synth/train"
    hard: list[HardSet] = field(default_factory=list)  # extra training images after train_n: faint, light, ...
    heldout_dir: str = "data/synth/heldout"


@dataclass(frozen=True)
class TrainParams:
    model_yaml: str = "training/models/text-yolo11.yaml"
    scale: str = "t"
    tile: int = 320
    tiles_per_image: int = 6
    epochs: int = 20
    hours: float = 0.0  # > 0: wall-clock budget; ultralytics re-fits the epoch count (and LR schedule) to it
    batch: int = 16
    patience: int = 100
    mosaic: float = 1.0
    close_mosaic: int = 2
    scale_aug: float = 0.25
    seed: int = 0
    threads: int = 2
    real_sets: list[str] = field(default_factory=list)  # folders for training/realset.py (YOLO or COCO)
    real_tiles: list[RealTiles] = field(default_factory=list)  # training/realdata.py outputs, tiles each
    init_weights: str = ""  # start from our own earlier checkpoint (fine-tune); "" = from scratch
    lr0: float = 0.0  # > 0: AdamW at this initial rate (a gentler fine-tune); 0 = ultralytics' automatic choice
    warmup_epochs: float | None = None  # None: 1 when fine-tuning, 3 from scratch; 0: none (a short adaptation,
    # whose few steps would all fall inside ultralytics' >= 100-step warm-up, which starts biases at lr 0.1)
    tiles_dir: str = "data/tiles"
    run_dir: str = "runs/detector"


@dataclass(frozen=True)
class RealDataParams:
    """training/realdata.py: what is built from the TRAIN split of ../shared's real data."""

    out: str = "data/real"
    copies: int = 4  # each labelled view written this many times (17 files weigh more than 17 synthetic images)
    mined: int = 2  # tiles per text-free frame centred on the mining model's false alarms
    random_tiles: int = 1  # uniform tiles per text-free frame
    frame_limit: int = 0  # > 0: only this many text-free frames (the small profile)
    mining_model: str = "models/checkpoints/text_detector_gen5.onnx"  # whose false alarms are the hard negatives
    pseudo: bool = False  # also build data/real/pseudo from training/data/pseudo_review.json (training.pseudolabel)


@dataclass(frozen=True)
class DetectParams:
    tile: int = 640  # inference tile (fully convolutional: may exceed the training tile)
    overlap: int = 64
    conf: float = 0.10
    conf_grow: float | None = None  # hysteresis: boxes down to this score kept where they touch a box >= conf
    grow_line: bool = False  # ... and lie on its text line (inference/detect/boxes.py hysteresis)
    grow_ratio: float | None = None  # ... and grow only from boxes of a thickness within this ratio (same place)
    bridge: float = 0.0  # blank gaps up to bridge x line thickness between two kept boxes of one line
    iou: float = 0.5
    margin_rel: float = 0.25  # grow each box by this x box thickness across the text
    margin_along: float = 0.25  # ... and by this x thickness along the text (first/last glyph)
    margin_min: int = 2
    scales: list[float] = field(default_factory=lambda: [1.0])  # add 0.5 for a coarse pass (large text)
    second_look: dict | None = None  # inference/detect/second_look.py SecondLookSettings fields; None = off
    prior_conf: float | None = None  # where text is expected (ultrasound area outside the regions): this counts as conf
    max_thickness: float | None = None  # boxes thicker than this x the short side (min 32 px) are dropped
    max_thickness_enlarged: float | None = None  # ... on frames looked at enlarged (small_side); None: max_thickness
    small_side: int = 0  # frames with both sides below this are looked at enlarged (0: never) ...
    small_upscale: float = 1.0  # ... by this factor (inference/detect/detector.py Detector.detect)


@dataclass(frozen=True)
class ExportParams:
    onnx: str = "models/text_detector.onnx"
    opset: int = 18
    batch: int = 4  # tiles per session.run at inference (sidecar settings.batch); the graph's batch is dynamic


@dataclass(frozen=True)
class EvalParams:
    metrics: str = "metrics.json"
    examples: int = 6  # images with predicted / missed boxes logged to MLflow
    target_recall: float = 0.9999


@dataclass(frozen=True)
class Params:
    synth: SynthParams
    realdata: RealDataParams
    train: TrainParams
    detect: DetectParams
    export: ExportParams
    evaluate: EvalParams


def _build(cls: type, data: dict[str, Any] | None) -> Any:
    data = data or {}
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys in params: {sorted(unknown)}")
    if cls is SynthParams and "hard" in data:  # the nested lists: synth.hard blocks, train.real_tiles
        data = {**data, "hard": [_build(HardSet, h) for h in data["hard"] or []]}
    if cls is TrainParams and "real_tiles" in data:
        data = {**data, "real_tiles": [_build(RealTiles, r) for r in data["real_tiles"] or []]}
    return cls(**data)


def params_path(path: str | Path | None = None) -> Path:
    p = Path(path or os.environ.get("MEDANON_PARAMS") or ROOT / "params.yaml")
    return p if p.is_absolute() else Path.cwd() / p


def load_params(path: str | Path | None = None) -> Params:
    """Read the params file; unknown keys are an error (a typo must not silently fall back to a default)."""
    raw = yaml.safe_load(params_path(path).read_text()) or {}
    return Params(
        synth=_build(SynthParams, raw.get("synth")),
        realdata=_build(RealDataParams, raw.get("realdata")),
        train=_build(TrainParams, raw.get("train")),
        detect=_build(DetectParams, raw.get("detect")),
        export=_build(ExportParams, raw.get("export")),
        evaluate=_build(EvalParams, raw.get("evaluate")),
    )


def flat(params: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten a params dataclass for MLflow log_params."""
    out = {}
    for f in fields(params):
        v = getattr(params, f.name)
        key = f"{prefix}{f.name}"
        if hasattr(v, "__dataclass_fields__"):
            out.update(flat(v, key + "."))
        else:
            out[key] = ",".join(map(str, v)) if isinstance(v, list) else v
    return out
