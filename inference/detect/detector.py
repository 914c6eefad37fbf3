"""ONNX Runtime text-region detector (no torch, no ultralytics).

The model's operating point (tile size, overlap, confidence threshold, NMS IoU, safety margin) lives in the
sidecar ``models/text_detector.json`` next to the ONNX file, written by ``python -m training.export``; the
sidecar also pins the ONNX file's SHA-256 so a model swapped without its settings is refused (fail closed).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from pathlib import Path

import cv2
import numpy as np

from inference.detect.boxes import decode_yolo, nms, select
from inference.detect.second_look import SecondLookSettings, margin_fn, second_look
from inference.detect.tiling import crop_padded, tile_plan, to_rgb
from inference.errors import NotReleasable
from inference.resources import DEFAULT_MODEL  # package data in a wheel, models/ in a checkout


# drop_thick's floor, in px of the stored frame: a box no thicker than this is never too thick for text
THICK_FLOOR = 32.0  # frames looked at as stored: a name line on a 96 px strip is thicker than 0.12 of it
THICK_FLOOR_ENLARGED = 16.0  # tiny frames looked at enlarged (with max_thickness_enlarged)


class ModelError(NotReleasable, RuntimeError):
    """The detector model is missing, unloadable or does not match its sidecar."""


@dataclass(frozen=True)
class DetectorSettings:
    tile: int = 640
    overlap: int = 64
    conf: float = 0.10
    conf_grow: float | None = None  # boxes down to this score are kept where they continue a box >= conf (hysteresis)
    grow_line: bool = False  # ... and only where they lie on its text line (boxes.hysteresis along_lines)
    grow_ratio: float | None = None  # ... and only from boxes whose thickness is within this ratio (thickness_ratio)
    bridge: float = 0.0  # gaps of up to bridge x line thickness between two kept boxes of one line are blanked too
    iou: float = 0.5
    margin_rel: float = 0.25  # x box thickness, across the text
    margin_along: float = 0.25  # x box thickness, along the text (line ends)
    margin_min: float = 2.0
    max_det: int = 3000
    scales: tuple[float, ...] = (1.0,)  # image scales run; < 1 passes find large text whose lines span tiles
    second_look: SecondLookSettings | None = None  # look again beside confident lines (second_look.py); None: off
    prior_conf: float | None = None  # where the caller expects text (prior mask), a box this strong counts as conf
    max_thickness: float | None = None  # boxes thicker than this share of the image's short side are not text lines
    max_thickness_enlarged: float | None = None  # ... on a frame looked at enlarged (small_side); None: max_thickness
    batch: int = 1  # tiles per session.run (one scale pass of one image); > 1 needs a dynamic batch dimension
    small_side: int = 0  # frames with both sides below this many px are looked at enlarged (0: never) ...
    small_upscale: float = 1.0  # ... by this factor (bicubic); see Detector.detect

    @classmethod
    def from_sidecar(cls, data: dict) -> DetectorSettings:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.get("settings", {}).items() if k in names}
        if "scales" in kw:
            kw["scales"] = tuple(float(x) for x in kw["scales"])
        if "second_look" in kw:
            kw["second_look"] = SecondLookSettings.from_dict(kw["second_look"])
        return cls(**kw)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sidecar_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def load_sidecar(model_path: Path) -> dict:
    """Sidecar JSON; its sha256 must match the ONNX file."""
    sc = sidecar_path(model_path)
    if not sc.exists():
        raise ModelError(f"detector settings {sc} missing (written by python -m training.export)")
    try:
        data = json.loads(sc.read_text())
    except json.JSONDecodeError as e:
        raise ModelError(f"detector settings {sc} unreadable: {e}") from e
    want = data.get("sha256")
    if want and want != sha256_file(model_path):
        raise ModelError(f"{model_path} does not match the sha256 in {sc}: "
                         "model and settings were not exported together")
    return data


def default_providers() -> list[str]:
    """CUDA when this onnxruntime build has it, else CPU."""
    import onnxruntime as ort  # noqa: PLC0415

    avail = ort.get_available_providers()
    return (["CUDAExecutionProvider"] if "CUDAExecutionProvider" in avail else []) + ["CPUExecutionProvider"]


class TextDetector:
    """Find text regions in an 8-bit image at native scale; boxes come back grown by the safety margin."""

    def __init__(self, model_path: str | Path | None = None, providers: list[str] | None = None, threads: int = 2,
                 settings: DetectorSettings | None = None, batch: int | None = None):
        import onnxruntime as ort  # noqa: PLC0415

        self.model_path = Path(model_path) if model_path else DEFAULT_MODEL
        if not self.model_path.exists():
            raise ModelError(f"text detector model not found: {self.model_path}")
        self.meta = load_sidecar(self.model_path)
        self.settings = settings or DetectorSettings.from_sidecar(self.meta)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.model_path), opts, providers=providers or default_providers())
        except Exception as e:  # onnxruntime raises several types for corrupt files
            raise ModelError(f"cannot load text detector {self.model_path}: {e}") from e
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        self.dynamic = not (isinstance(shape[2], int) and isinstance(shape[3], int))  # any H x W (multiples of 32)
        if not self.dynamic and shape[2] != self.settings.tile:
            raise ModelError(f"model input is {shape[2]} px but the settings say tile={self.settings.tile}")
        self.batch = resolve_batch(shape[0], self.settings.batch if batch is None else batch, self.model_path)

    def detect_tile(self, tile_rgb: np.ndarray) -> np.ndarray:
        """Raw detections of one RGB crop of the model's input shape: (N, 5) in tile pixels, NMS applied, NO margin."""
        x = np.ascontiguousarray(tile_rgb.transpose(2, 0, 1)[None], dtype=np.float32) / np.float32(255.0)
        out = self.session.run(None, {self.input_name: x})[0]
        return nms(decode_yolo(out, self.floor_conf), self.settings.iou, self.settings.max_det)

    def detect_tiles(self, tiles: list[np.ndarray]) -> list[np.ndarray]:
        """detect_tile for every crop (all of one shape), self.batch crops per session.run: per-call overhead
        and thread start-up are paid once per batch, and a GPU gets enough work per call."""
        out: list[np.ndarray] = []
        for i in range(0, len(tiles), self.batch):
            chunk = tiles[i:i + self.batch]
            if len(chunk) == 1:
                out.append(self.detect_tile(chunk[0]))
                continue
            x = np.ascontiguousarray(np.stack(chunk).transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255.0)
            raw = self.session.run(None, {self.input_name: x})[0]
            out += [nms(decode_yolo(raw[k:k + 1], self.floor_conf), self.settings.iou, self.settings.max_det)
                    for k in range(len(chunk))]
        return out

    @property
    def floor_conf(self) -> float:
        """Lowest score any box is kept at: the hysteresis grow threshold when set, else conf (and the prior's
        threshold when lower: boost_prior must see those boxes)."""
        s = self.settings
        lows = [v for v in (s.conf_grow, s.prior_conf) if v is not None]
        return min([s.conf, *lows])

    def detect_scale(self, rgb: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Detections over all tiles of the image resized by `scale`, in ORIGINAL image coordinates, duplicates
        across tile overlaps removed, no margin."""
        h, w = rgb.shape[:2]
        img = rgb
        if scale != 1.0:
            img = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        th, tw, starts = tile_plan(img.shape[0], img.shape[1], self.settings.tile, self.settings.overlap, self.dynamic)
        parts = []
        found = self.detect_tiles([crop_padded(img, y0, x0, th, tw) for y0, x0 in starts])
        for (y0, x0), d in zip(starts, found, strict=True):
            if len(d):
                d[:, [0, 2]] += x0
                d[:, [1, 3]] += y0
                parts.append(d)
        if not parts:
            return np.zeros((0, 5), np.float32)
        dets = nms(np.concatenate(parts), self.settings.iou, self.settings.max_det)
        dets[:, :4] /= scale
        dets[:, [0, 2]] = np.clip(dets[:, [0, 2]], 0, w)
        dets[:, [1, 3]] = np.clip(dets[:, [1, 3]], 0, h)
        return dets

    def detect_raw(self, image: np.ndarray, enlarged: float = 1.0) -> np.ndarray:
        """Detections of every scale pass down to floor_conf, no margin, no hysteresis. Passes are concatenated, NOT
        suppressed against each other: redaction blanks the union, and a coarse-pass box often covers the line ends
        a native-pass box misses. ``enlarged``: how many times the stored frame was enlarged into ``image``."""
        rgb = to_rgb(image)
        parts = [self.detect_scale(rgb, sc) for sc in self.settings.scales]
        raw = np.concatenate(parts) if parts else np.zeros((0, 5), np.float32)
        s = self.settings
        if enlarged == 1.0:
            return drop_thick(raw, image.shape[0], image.shape[1], s.max_thickness, THICK_FLOOR)
        share = s.max_thickness if s.max_thickness_enlarged is None else s.max_thickness_enlarged
        return drop_thick(raw, image.shape[0], image.shape[1], share, THICK_FLOOR_ENLARGED * enlarged)

    def select(self, raw: np.ndarray, height: int, width: int) -> np.ndarray:
        """Raw detections -> the boxes to blank, grown by the safety margin: score >= settings.conf, plus
        lower-scoring boxes down to conf_grow that touch them (boxes.hysteresis) and the short gaps between pieces
        of one line (boxes.bridge_gaps)."""
        s = self.settings
        return select(raw, s.conf, s.conf_grow, s.margin_rel, s.margin_min, width, height, s.margin_along, s.bridge,
                      s.grow_line, s.grow_ratio)

    def look_again(self, image: np.ndarray, raw: np.ndarray) -> np.ndarray:
        """Margin-grown boxes that continue the confident lines of ``raw`` on a background-flattened view
        (second_look.py); empty when the sidecar turns the second look off."""
        look = self.settings.second_look
        if look is None or len(raw) == 0:
            return np.zeros((0, 5), np.float32)
        gray = image if image.ndim == 2 else cv2.cvtColor(to_rgb(image), cv2.COLOR_RGB2GRAY)
        s = self.settings
        grow_fn = margin_fn(s.margin_rel, s.margin_min, gray.shape[1], gray.shape[0], s.margin_along)
        return second_look(gray, raw, look, lambda view: self.detect_scale(to_rgb(view), 1.0), grow_fn)

    def detect(self, image: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
        """(N, 5) float32 [x0, y0, x1, y1, score] in image pixels, grown by the safety margin: the selected
        first-pass boxes, then the second look's continuations of their lines. ``prior`` (bool HxW): where text is
        expected (an ultrasound device's area outside its calibrated regions); boxes centred there are boosted
        (boost_prior) so weaker ones are blanked too.

        A frame with both sides below settings.small_side (a 64 px MR matrix, a thumbnail) is looked at enlarged by
        settings.small_upscale, the boxes mapped back. WHY: at its own size the noise of a tiny frame looks like
        rows of small glyphs to the model (two thirds of a 72 px MR frame blanked); enlarged 3x it does not, and
        small text on such frames was found as often (benchmarks/tiny_frames.py, models/MODEL_CARD.md)."""
        k = small_frame_scale(image.shape[0], image.shape[1], self.settings.small_side, self.settings.small_upscale)
        if k == 1.0:
            return self._detect(image, prior)
        h, w = image.shape[:2]
        size = (round(w * k), round(h * k))
        big = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
        big_prior = None if prior is None else cv2.resize(prior.astype(np.uint8), size,
                                                         interpolation=cv2.INTER_NEAREST).astype(bool)
        boxes = self._detect(big, big_prior, k).copy()
        boxes[:, :4] /= k
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
        return boxes

    def _detect(self, image: np.ndarray, prior: np.ndarray | None, enlarged: float = 1.0) -> np.ndarray:
        h, w = image.shape[:2]
        raw = boost_prior(self.detect_raw(image, enlarged), prior, self.settings.conf, self.settings.prior_conf)
        return np.concatenate([self.select(raw, h, w)[:, :5], self.look_again(image, raw)]).astype(np.float32)


def small_frame_scale(height: int, width: int, small_side: int, upscale: float) -> float:
    """The factor a frame is enlarged by before detection: ``upscale`` when both its sides are below
    ``small_side``, else 1. WHY both: a 96 x 256 strip with a normal name line is no tiny frame; enlarged, its
    line spans tiles and was partly missed (tests/test_fail_closed_release.py)."""
    return float(upscale) if small_side > 0 and upscale > 1.0 and max(height, width) < small_side else 1.0


def drop_thick(raw: np.ndarray, height: int, width: int, max_thickness: float | None,
               floor: float = THICK_FLOOR) -> np.ndarray:
    """Raw boxes whose thin side (a line's height) is at most max_thickness x the image's short side, or at most
    ``floor`` px. WHY: burned-in text is a thin band; a box as thick as a third of the frame is a blob of anatomy
    the model took for one huge glyph (an MR mosaic's slice, a bright organ), and blanking it destroys the image.
    ``floor`` is in px of the image looked at (the caller scales THICK_FLOOR_ENLARGED for an enlarged frame): short
    frames' text is large for their size, and a share of the frame alone cut it
    (training/data/session14_max_thickness_rule.md)."""
    if max_thickness is None or len(raw) == 0:
        return raw
    limit = max(floor, max_thickness * min(height, width))
    thin = np.minimum(raw[:, 2] - raw[:, 0], raw[:, 3] - raw[:, 1])
    return raw[thin <= limit]


def resolve_batch(dim: object, wanted: int, model_path: Path) -> int:
    """Tiles per session.run: a model exported with a fixed batch of 1 runs one tile at a time; asking a fixed-batch
    model for more is a settings error, not something to work around silently."""
    if wanted < 1:
        raise ModelError(f"detector batch must be at least 1, got {wanted}")
    if isinstance(dim, int):
        if dim != 1:
            raise ModelError(f"{model_path} has a fixed batch of {dim}: only 1 or a dynamic batch can run")
        if wanted != 1:
            raise ModelError(f"{model_path} has a fixed batch of 1 but batch={wanted} was asked: export it with a "
                             "dynamic batch (python -m training.export) or use batch 1")
    return wanted


def boost_prior(raw: np.ndarray, prior: np.ndarray | None, conf: float, prior_conf: float | None) -> np.ndarray:
    """Scores of boxes centred inside ``prior`` scaled by conf / prior_conf (capped at 1): there a box of
    prior_conf counts as one of conf, and hysteresis and the second look follow from the boosted scores.
    Why: device text sits outside an ultrasound image's calibrated regions; anatomy does not (issue 16). Unchanged
    when there is no prior or no prior_conf."""
    if prior is None or prior_conf is None or prior_conf >= conf or len(raw) == 0:
        return raw
    h, w = prior.shape
    cx = np.clip(((raw[:, 0] + raw[:, 2]) / 2).astype(int), 0, w - 1)
    cy = np.clip(((raw[:, 1] + raw[:, 3]) / 2).astype(int), 0, h - 1)
    out = raw.copy()
    inside = prior[cy, cx]
    out[inside, 4] = np.minimum(1.0, out[inside, 4] * (conf / prior_conf))
    return out
