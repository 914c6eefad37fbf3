"""Box arithmetic for the detector: decode the YOLO head, NMS, safety margin, line completion. numpy + OpenCV
(no torch)."""
from __future__ import annotations

import cv2
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
    """Greedy NMS, highest score first (the rule of torchvision.ops.nms used by ultralytics), in OpenCV's C++
    (cv2.dnn.NMSBoxes): same boxes as a numpy loop (tests/test_detect_boxes.py), 30x faster on 100s of boxes."""
    if len(dets) == 0:
        return dets.reshape(0, 5).astype(np.float32)
    xywh = np.stack([dets[:, 0], dets[:, 1], dets[:, 2] - dets[:, 0], dets[:, 3] - dets[:, 1]], axis=1)
    keep = cv2.dnn.NMSBoxes(xywh.astype(np.float64).tolist(), dets[:, 4].astype(np.float64).tolist(), 0.0, iou)
    return dets[np.asarray(keep, int).reshape(-1)[:max_det]]


def nms_reference(dets: np.ndarray, iou: float, max_det: int = 3000) -> np.ndarray:
    """The greedy rule written out in numpy: the specification nms() is tested against."""
    if len(dets) == 0:
        return dets.reshape(0, 5).astype(np.float32)
    order = np.argsort(-dets[:, 4], kind="stable")
    keep: list[int] = []
    while order.size and len(keep) < max_det:
        i = order[0]
        keep.append(i)
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


def touching(boxes: np.ndarray) -> np.ndarray:
    """(N, N) bool: box i overlaps or touches box j (shared edges count)."""
    b = boxes[:, :4]
    return ((b[:, None, 0] <= b[None, :, 2]) & (b[None, :, 0] <= b[:, None, 2])
            & (b[:, None, 1] <= b[None, :, 3]) & (b[None, :, 1] <= b[:, None, 3]))


def hysteresis(dets: np.ndarray, seed_conf: float, grow_conf: float, grown: np.ndarray,
               along_lines: bool = False, thickness_ratio: float | None = None) -> np.ndarray:
    """Keep boxes scoring >= seed_conf, plus every box scoring >= grow_conf that is connected to one of them through
    a chain of touching ``grown`` boxes (the same boxes after the safety margin); rows of dets, order kept.
    ``along_lines``: a link also needs both boxes on one text line (same_line). WHY: a low box that merely touches a
    confident one often lies across two lines or under the line, on the anatomy beside the text (the top rows of
    an ultrasound sector); a line's missed ends continue it on the same line. ``thickness_ratio``: a link also
    needs the two boxes' thicknesses (thin sides) within that ratio. WHY: the next line of a block has its line's
    thickness, while the low box beside a confident one on the anatomy (a box over the top rows of a sector, over
    tissue under an icon) is often two or three times as thick.

    WHY (Canny's rule for edges, applied to text lines): the detector's misses are the first or last words of a
    line, or the faint part of a line, which it still sees at a low score next to a confident box. A low-scoring box
    on its own is mostly texture, so it is only trusted where it continues a confident line: recall of line ends at
    a fraction of the over-redaction a globally lower threshold costs (models/MODEL_CARD.md has the numbers)."""
    if len(dets) == 0 or grow_conf >= seed_conf:
        return dets[dets[:, 4] >= seed_conf] if len(dets) else dets
    live = dets[:, 4] >= grow_conf
    d, g = dets[live], grown[live]
    keep = d[:, 4] >= seed_conf
    if keep.all() or not keep.any():
        return d[keep]
    adj = touching(g) & same_line(g, g) if along_lines else touching(g)
    if thickness_ratio is not None:
        t = np.minimum(g[:, 2] - g[:, 0], g[:, 3] - g[:, 1])
        adj &= np.maximum(t[:, None], t[None, :]) <= thickness_ratio * np.minimum(t[:, None], t[None, :])
    while True:
        more = keep | adj[keep].any(axis=0)
        if (more == keep).all():
            return d[keep]
        keep = more


def select(raw: np.ndarray, conf: float, conf_grow: float | None, margin_rel: float, margin_min: float,
           width: int, height: int, margin_along: float | None = None, bridge: float = 0.0,
           grow_line: bool = False, grow_ratio: float | None = None) -> np.ndarray:
    """Raw detections (no margin) -> the boxes to blank, grown by the safety margin: score >= conf, plus, when
    conf_grow is set, lower-scoring boxes down to conf_grow connected to them (see hysteresis; ``grow_line``: only
    along their line; ``grow_ratio``: only from boxes of a like thickness), plus the gaps of up to bridge x
    thickness between pieces of one line (see bridge_gaps)."""
    grown = grow(raw, margin_rel, margin_min, width, height, margin_along)
    if len(raw) == 0:
        return grown
    kept = grown[raw[:, 4] >= conf] if conf_grow is None else hysteresis(grown, conf, min(conf, conf_grow), grown,
                                                                                  grow_line, grow_ratio)
    return bridge_gaps(kept, bridge)


def same_line(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) bool: boxes a[i] and b[j] belong to one text line: both run the same way (both wider than
    tall, or both taller than wide), their thicknesses are within 1.5x of each other, and they overlap across the
    line by at least 60 % of the thinner one. Used by bridge_gaps and by the second look (second_look.py)."""
    wa, ha = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    wb, hb = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    ta, tb = np.minimum(wa, ha), np.minimum(wb, hb)
    tmin = np.minimum(ta[:, None], tb[None, :])
    hor_a, hor_b = wa >= ha, wb >= hb
    cross_h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    cross_v = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    cross = np.where(hor_a[:, None], cross_h, cross_v)
    return ((hor_a[:, None] == hor_b[None, :]) & (np.maximum(ta[:, None], tb[None, :]) <= 1.5 * tmin)
            & (cross >= 0.6 * tmin))


def bridge_gaps(boxes: np.ndarray, factor: float) -> np.ndarray:
    """Boxes plus one box over each gap between two boxes on the same text line, when the gap is at most
    factor x the line's thickness; input rows first, bridges after (score = the lower of the pair's).

    Same line = both run the same way (both wider than tall, or both taller than wide), their thicknesses
    within 1.5x of each other, and they overlap across the line by at least 60 % of the thinner one.
    WHY: a line the detector sees as two pieces is still one line; the characters in a short gap between the
    pieces (a date's "d.", a separator) are the ones it under-scores, and blanking a gap between two blanked words
    costs little."""
    n = len(boxes)
    if n < 2 or factor <= 0:
        return boxes
    b = boxes[:, :4].astype(np.float64)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    horiz = w >= h
    thick = np.minimum(w, h)
    out = [boxes]
    for along, (lo, hi, c0, c1) in ((True, (0, 2, 1, 3)), (False, (1, 3, 0, 2))):
        idx = np.where(horiz == along)[0]
        if len(idx) < 2:
            continue
        s = b[idx]
        t = thick[idx]
        tmin = np.minimum(t[:, None], t[None, :])
        gap = s[None, :, lo] - s[:, None, hi]  # j starts after i ends
        ok = same_line(s, s) & (gap > 0) & (gap <= factor * tmin)
        for i, j in zip(*np.nonzero(ok), strict=True):
            r = np.empty(boxes.shape[1], boxes.dtype)
            r[lo], r[hi] = s[i, hi], s[j, lo]
            r[c0] = min(s[i, c0], s[j, c0])
            r[c1] = max(s[i, c1], s[j, c1])
            if boxes.shape[1] > 4:
                r[4] = min(boxes[idx[i], 4], boxes[idx[j], 4])
            out.append(r[None])
    return np.concatenate(out) if len(out) > 1 else boxes
