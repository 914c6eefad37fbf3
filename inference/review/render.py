"""Frames as PNG, rendered on the fly in memory with the pipeline's own 8-bit view (nothing is written to disk).

"before" is the original (input or quarantine copy); "after" is the released output, or, for a file not released,
a preview: the original with the recorded and reviewer boxes filled black (in memory only).
"""
from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
import pydicom

from ..pixels.decode import decoded_photometric, iter_frames
from ..pixels.view import fix_window, to_view, view_params


class RenderError(RuntimeError):
    """A frame that cannot be shown (undecodable, out of range)."""


_CACHE: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
_LOCK = threading.Lock()
_CACHE_SIZE = 64


def frame_view(path: Path, frame: int) -> np.ndarray:
    """8-bit HxW or HxWx3 RGB view of one frame (cached: paging a cine decodes each file once per frame)."""
    key = (str(path), int(frame))
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=True)
            params = view_params(ds, decoded_photometric(ds))
            view = None
            for index, f in enumerate(iter_frames(ds)):
                if params.window is None:
                    params = fix_window(params, f)
                if index == frame:
                    view = to_view(f, params)
                    break
    except Exception as e:
        raise RenderError(f"cannot decode frame {frame}: {type(e).__name__}: {e}") from e
    if view is None:
        raise RenderError(f"no frame {frame}")
    with _LOCK:
        _CACHE[key] = view
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return view


def blank_preview(view: np.ndarray, boxes: list[list[int]]) -> np.ndarray:
    out = view.copy()
    for x0, y0, x1, y1 in boxes:
        out[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = 0
    return out


def png(view: np.ndarray) -> bytes:
    img = cv2.cvtColor(view, cv2.COLOR_RGB2BGR) if view.ndim == 3 else view
    ok, data = cv2.imencode(".png", img)
    if not ok:
        raise RenderError("PNG encoding failed")
    return data.tobytes()
