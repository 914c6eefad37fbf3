"""Box arithmetic for the detector: decode the YOLO head, NMS, safety margin. Pure numpy (no torch)."""
from __future__ import annotations

import numpy as np


def decode_yolo(output: np.ndarray, conf: float) -> np.ndarray:
    """Raw head output (1, 4+nc, A) [cx, cy, w, h, class scores...] -> (N, 5) [x0, y0, x1, y1, score] above conf."""
    pred = output[0].T  # (A, 4+nc)
    scores = pred[:, 4:].max(axis=1)
    keep = scores >= conf
    p, s = pred[keep], scores[keep]
    xy = np.empty((len(p), 5), np.float32)
    xy[:, 0] = p[:, 0] - p[:, 2] / 2
    xy[:, 1] = p[:, 1] - p[:, 3] / 2
    xy[:, 2] = p[:, 0] + p[:, 2] / 2
    xy[:, 3] = p[:, 1] + p[:, 3] / 2
    xy[:, 4] = s
    return xy


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix0 = np.maximum(box[0], boxes[:, 0])
    iy0 = np.maximum(box[1], boxes[:, 1])
    ix1 = np.minimum(box[2], boxes[:, 2])
    iy1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(dets: np.ndarray, iou: float, max_det: int = 3000) -> np.ndarray:
    """Greedy NMS, highest score first (same rule as torchvision.ops.nms used by ultralytics)."""
    if len(dets) == 0:
        return dets.reshape(0, 5).astype(np.float32)
    order = np.argsort(-dets[:, 4], kind="stable")
    keep = []
    while order.size and len(keep) < max_det:
        i = order[0]
        keep.append(i)
        if order.size == 1:
            break
        rest = order[1:]
        order = rest[iou_one_to_many(dets[i], dets[rest]) <= iou]
    return dets[np.array(keep, int)]


def grow(dets: np.ndarray, margin_rel: float, margin_min: float, width: int, height: int,
         margin_along: float | None = None) -> np.ndarray:
    """Grow each box by margin_rel x its thickness across the text and margin_along x thickness along it (at least
    margin_min px), clipped to the image.

    Thickness = the smaller side (line height; line width for vertical labels), because glyph size scales with
    line height, not line length. Along the text the margin is larger: the detector's misses are the first or last
    glyph of a line, about one thickness wide, while across the text only accents and descenders stick out.
    """
    if len(dets) == 0:
        return dets
    out = dets.copy()
    w, h = out[:, 2] - out[:, 0], out[:, 3] - out[:, 1]
    thick = np.minimum(w, h)
    across = np.maximum(margin_rel * thick, margin_min)
    along = np.maximum((margin_rel if margin_along is None else margin_along) * thick, margin_min)
    horizontal = w >= h
    mx = np.where(horizontal, along, across)
    my = np.where(horizontal, across, along)
    out[:, 0] = np.clip(out[:, 0] - mx, 0, width)
    out[:, 1] = np.clip(out[:, 1] - my, 0, height)
    out[:, 2] = np.clip(out[:, 2] + mx, 0, width)
    out[:, 3] = np.clip(out[:, 3] + my, 0, height)
    return out
